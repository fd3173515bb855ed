// Runs the .pth example of packages/nn/README.md as written, so that it stays runnable.

import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

describe('packages/nn/README.md, PyTorch .pth files', () => {
  it('runs the loadPth/savePth example and prints the epoch, the arch and the center shape', async function () {
    this.timeout(300000);
    const readme = readFileSync(new URL('../../packages/nn/README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## PyTorch .pth files'));
    const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    expect(code, 'a ```ts block in the section').to.be.a('string');
    // Plain JavaScript apart from comments, placed next to this file so that '@dinots/...' resolves.
    const script = fileURLToPath(new URL('./readme-pth.generated.mjs', import.meta.url));
    writeFileSync(script, code!);
    const dir = mkdtempSync(join(tmpdir(), 'dinots-readme-pth-'));
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
    expect(printed).to.deep.equal([[3, 'vit_tiny', [1, 2]]]);
  });
});
