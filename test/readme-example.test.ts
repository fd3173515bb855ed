// Runs the example of packages/nn/README.md as written, so that it stays runnable.

import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

describe('packages/nn/README.md', () => {
  it('runs the ViT example and prints the feature and attention-map shapes', async function () {
    this.timeout(300000);
    const readme = readFileSync(new URL('../../packages/nn/README.md', import.meta.url), 'utf8');
    const code = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code, 'a ```ts block in the README').to.be.a('string');
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
      await import(pathToFileURL(script).href);
    } finally {
      console.log = log;
      process.chdir(cwd);
      rmSync(dir, { recursive: true });
      rmSync(script);
    }
    expect(printed).to.deep.equal([[[2, 192], [2, 3, 14, 14]]]);
  });
});
