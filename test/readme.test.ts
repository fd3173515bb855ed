// The README's JavaScript examples run as written (each ```js block, in a child process).

import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('README examples', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);

  it('has runnable examples', () => {
    expect(blocks.length).to.be.greaterThan(0);
  });

  blocks.forEach((code, i) => {
    it(`example ${i + 1} runs`, () => {
      // written inside the repository so that '@dinots/*' resolve through node_modules
      const dir = mkdtempSync(join(root, 'test', 'dist', 'readme-'));
      try {
        const file = join(dir, 'example.mjs');
        writeFileSync(file, code);
        execFileSync(process.execPath, [file], { cwd: root, stdio: 'pipe', timeout: 120_000 });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});

describe('README benchmark table', () => {
  it('is what benchmarks/readme-table.ts gives for the results file its marker names', () => {
    const script = join(root, 'benchmarks', 'dist', 'readme-table.js');
    // exits 1 and says how to regenerate when the table differs
    execFileSync(process.execPath, [script, '--check'], { cwd: root, stdio: 'pipe', timeout: 60_000 });
  });

  it('keeps the DINO results between their markers', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect(readme).to.match(/<!-- dino-results:start -->\n[\s\S]+\n<!-- dino-results:end -->/);
  });
});
