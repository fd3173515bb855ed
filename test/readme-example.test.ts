// Runs the examples of packages/nn/README.md as written, so that they stay runnable: the ViT
// example (the first ```ts block) and the .pth example (the block of "PyTorch .pth files").

import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const readme = readFileSync(new URL('../../packages/nn/README.md', import.meta.url), 'utf8');

/** Runs the first ```ts block after `heading` (or the README's first) in a fresh folder; returns what it printed. */
async function runExample(heading: string | null): Promise<unknown[][]> {
  const section = heading === null ? readme : readme.slice(readme.indexOf(heading));
  const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  expect(code, `a \`\`\`ts block ${heading === null ? 'in the README' : `under '${heading}'`}`).to.be.a('string');
  // The block is plain JavaScript apart from comments; place it next to this file so that
  // '@dinots/...' resolves through the workspace's node_modules.
  const script = fileURLToPath(new URL('./readme-example.generated.mjs', import.meta.url));
  writeFileSync(script, code!);
  const dir = mkdtempSync(join(tmpdir(), 'dinots-readme-'));
  const cwd = process.cwd();
  const printed: unknown[][] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => void printed.push(args);
  try {
    process.chdir(dir);
    await import(`${pathToFileURL(script).href}?${heading ?? 'first'}`);
  } finally {
    console.log = log;
    process.chdir(cwd);
    rmSync(dir, { recursive: true });
    rmSync(script);
  }
  return printed;
}

describe('packages/nn/README.md', () => {
  it('runs the ViT example and prints the feature and attention-map shapes', async function () {
    this.timeout(300000);
    expect(await runExample(null)).to.deep.equal([[[2, 192], [2, 3, 14, 14]]]);
  });

  it('runs the loadPth/savePth example and prints the epoch, the arch and the center shape', async function () {
    this.timeout(300000);
    expect(await runExample('## PyTorch .pth files')).to.deep.equal([[3, 'vit_tiny', [1, 2]]]);
  });
});
