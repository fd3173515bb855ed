// The repository's own text files (source, scripts, READMEs and docs), for tests that check
// what the files say: everything git would track, without node_modules, build output or
// recorded benchmark logs.

import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file compiles to test/dist/repo-files.js). */
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

const skippedDirs = new Set(['node_modules', 'dist', '.git', 'results', 'fixtures', '.webgpu-runtime', '.device', '.gl', '.whl', 'dino-demo']);
const textFile = /\.(ts|mjs|js|py|sh|md)$/;

/** Paths relative to the root, with '/' separators, sorted. */
export function repoTextFiles(dir = repoRoot): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!skippedDirs.has(entry.name)) out.push(...repoTextFiles(join(dir, entry.name)));
    } else if (textFile.test(entry.name)) {
      out.push(relative(repoRoot, join(dir, entry.name)).split('\\').join('/'));
    }
  }
  return out.sort();
}
