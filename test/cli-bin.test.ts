// `npx dinots` in the repository: npm links packages/dino's bin (bin/dinots.js, committed, so
// that npm ci links it before `prepare` builds dist/) into node_modules/.bin, and it runs the CLI.

import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('npx dinots', () => {
  it('runs the workspace CLI through node_modules/.bin without the registry, printing the usage', function () {
    this.timeout(120_000);
    const r = spawnSync('npx', ['--no-install', 'dinots', '--help'], { cwd: root, encoding: 'utf8' });
    expect(r.status, `npx --no-install dinots --help: ${r.stderr} (after pulling this change, run npm install once to link the bin)`).to.equal(0);
    expect(r.stdout).to.match(/^usage:\n {2}dinots train /);
    expect(r.stdout).to.include('dinots export <checkpoint.safetensors> <out.pth>');
  });
});
