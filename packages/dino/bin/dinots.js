#!/usr/bin/env node
// The `dinots` command (package.json "bin"). npm links bins when it installs, before the
// `prepare` script compiles TypeScript, so the bin is this committed file rather than
// dist/src/cli.js itself (a missing bin target is not linked, and `npx dinots` would then
// look in the registry). It runs the compiled CLI, or says how to build it.

const cli = new URL('../dist/src/cli.js', import.meta.url);
try {
  await import(cli.href);
} catch (error) {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('cli.js')) {
    console.error(`dinots: ${cli.pathname} is not built yet; run \`npm run build\` (tsc -b) in the repository first`);
    process.exitCode = 1;
  } else {
    throw error;
  }
}
