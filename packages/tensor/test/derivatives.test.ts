// DERIVATIVES.md lists every backward node with the line where its formula is written.
// These tests fail when an op records a node the table does not list, when the table lists
// one no op records, or when a line moved: then regenerate the file (the command is at the
// top of scripts/derivatives.ts).

import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { DERIVATIVES, type NodeSite, derivativesMarkdown, derivativesPath, locate, nodeSites } from '../scripts/derivatives.js';

describe('DERIVATIVES.md', () => {
  it('is what scripts/derivatives.ts generates from the current sources', () => {
    expect(readFileSync(derivativesPath, 'utf8')).to.equal(derivativesMarkdown());
  });

  it('points every node at a line that records it or names it', () => {
    const src = new URL('../../src/', import.meta.url);
    for (const row of locate()) {
      const line = readFileSync(new URL(row.file, src), 'utf8').split('\n')[row.line - 1];
      expect(line, `${row.file}:${row.line}`).to.include(row.node.replace(/Backward$/, ''));
    }
  });

  it('fails when an op records a node the table does not list, or the table lists one no op records', () => {
    const sites: NodeSite[] = [...nodeSites(), { node: 'FooBackward', file: 'ops/foo.ts', line: 3 }];
    expect(() => locate(DERIVATIVES, sites)).to.throw(/FooBackward is recorded at src\/ops\/foo.ts:3 but not listed/);
    expect(() => locate(DERIVATIVES.filter((d) => d.node !== 'ExpBackward'))).to.throw(/ExpBackward is recorded at src\/ops\/unary.ts/);
    expect(() => locate(DERIVATIVES, nodeSites().filter((s) => s.node !== 'ExpBackward'))).to.throw(/ExpBackward is listed for src\/ops\/unary.ts but not recorded/);
  });
});
