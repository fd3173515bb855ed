// docs/tour.md points at line ranges of the source: every link must name a file that
// exists and a range inside it, and the link's text (the code to look for) must still be
// in those lines. When code moves, update the line numbers in the tour.
// Also: every relative link in the READMEs and docs names a file that exists.

import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { repoRoot, repoTextFiles } from './repo-files.js';

describe('docs/tour.md', () => {
  const tour = readFileSync(join(repoRoot, 'docs', 'tour.md'), 'utf8');
  const links = [...tour.matchAll(/\[`([^`]+)`\]\(\.\.\/([^)#]+)#L(\d+)-L(\d+)\)/g)].map((m) => ({
    anchor: m[1], file: m[2], first: Number(m[3]), last: Number(m[4]),
  }));

  it('has a stop for each step from the tensor to the teacher', () => {
    expect(links.length).to.be.at.least(7);
    expect(tour.match(/^## /gm)).to.have.length(7);
  });

  it('links to line ranges that exist and still hold the code the link names', () => {
    for (const { anchor, file, first, last } of links) {
      const where = `${file}#L${first}-L${last}`;
      expect(existsSync(join(repoRoot, file)), `${where}: no such file`).to.equal(true);
      const lines = readFileSync(join(repoRoot, file), 'utf8').split('\n');
      expect(first, `${where}: empty range`).to.be.within(1, last);
      expect(last, `${where}: the file has ${lines.length} lines`).to.be.at.most(lines.length);
      expect(lines.slice(first - 1, last).join('\n'), `${where} no longer holds "${anchor}"`).to.include(anchor);
    }
  });
});

describe('links in the READMEs and docs', () => {
  it('name files that exist', () => {
    const missing: string[] = [];
    for (const file of repoTextFiles().filter((f) => f.endsWith('.md'))) {
      const text = readFileSync(join(repoRoot, file), 'utf8').replace(/```[\s\S]*?```/g, '');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const path = target.split('#')[0];
        if (path === '' || /^[a-z]+:/.test(path)) continue;
        if (!existsSync(join(repoRoot, dirname(file), path))) missing.push(`${file}: ${target}`);
      }
    }
    expect(missing, missing.join('\n')).to.deep.equal([]);
  });
});
