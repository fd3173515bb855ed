// Every citation in the repository must be one a reader can open: a paper's section or
// equation, a file and function of the official DINO repository, or a file in this
// repository. Notes that lived outside the repository while it was written do not count.

import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, repoTextFiles } from './repo-files.js';

// Written in pieces so that this file does not match itself.
const unreachable = [['dino', 'spec'].join('-'), ['small', 'scale', 'notes'].join('-'), ['..', 'shared'].join('/')];

describe('citations', () => {
  it('cite nothing outside the repository', () => {
    const files = repoTextFiles();
    expect(files.length).to.be.greaterThan(100);
    const found: string[] = [];
    for (const file of files) {
      readFileSync(join(repoRoot, file), 'utf8')
        .split('\n')
        .forEach((line, i) => {
          for (const name of unreachable) if (line.includes(name)) found.push(`${file}:${i + 1}: ${name}`);
        });
    }
    expect(found, found.join('\n')).to.deep.equal([]);
  });
});
