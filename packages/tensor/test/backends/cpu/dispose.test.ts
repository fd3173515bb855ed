// Explicit release of CPU memory: dispose() and scope() hand a storage's buffer back to the
// pool at once (no garbage collection, no event-loop turn), and a disposed tensor, or any
// view of it, throws when used instead of reading memory another tensor now owns.

import { expect } from 'chai';
import * as fc from 'fast-check';
import { CpuStorage, cpuMemoryStats, keep, ones, randn, scope, tensor } from '../../../src/index.js';

const USED_AFTER_DISPOSE = /a CPU tensor was used after it was disposed .*storage of \d+ float32 elements is freed/;

describe('CPU dispose() and scope()', () => {
  it('dispose() returns the buffer to the pool at once: the next allocation of that size reuses it, zero-filled', () => {
    const shape = [123, 457]; // a size no other test allocates
    const a = ones(shape).mul(3);
    const buffer = (a.storage as CpuStorage).data.buffer;
    a.dispose();
    const before = cpuMemoryStats();
    const b = randn(shape).mul(0); // the product is a fresh output of the same size
    const after = cpuMemoryStats();
    expect(after.reusedBytes - before.reusedBytes).to.be.at.least(4 * 123 * 457);
    const reused = [(b.storage as CpuStorage).data.buffer].includes(buffer);
    expect(reused, 'the disposed buffer is handed out again without a garbage collection').to.equal(true);
    expect(b.sum().item()).to.equal(0);
  });

  it('a disposed tensor and every view of it throw when used, naming the freed storage', () => {
    const a = ones([64, 300]);
    const view = a.transpose(0, 1).narrow(0, 5, 10);
    a.dispose();
    expect(() => a.add(1)).to.throw(USED_AFTER_DISPOSE);
    expect(() => view.sum()).to.throw(USED_AFTER_DISPOSE);
    expect(() => a.dataSync()).to.throw(USED_AFTER_DISPOSE);
    expect(() => a.dispose(), 'disposing twice is harmless').to.not.throw();
  });

  it("disposing a tensor that wraps the caller's array never recycles that array", () => {
    const user = new Float32Array(50_000).fill(2);
    const t = tensor(user, { shape: [50_000] });
    t.dispose();
    expect(() => t.sum()).to.throw(USED_AFTER_DISPOSE);
    for (let i = 0; i < 4; i++) ones([50_000]).mul(9);
    expect(user.every((v) => v === 2), "the caller's array is untouched").to.equal(true);
  });

  it('scope() frees what it allocated except what it returns or keep()s; loops reuse their memory step after step', () => {
    const w = randn([200, 200]);
    let leaked: ReturnType<typeof ones> | null = null;
    const step = () =>
      scope(() => {
        const h = w.matmul(w).relu();
        leaked = h; // escapes without keep(): freed at the end of the scope
        const kept = keep(h.sum(0));
        return { out: h.mean(), kept };
      });
    const first = step();
    expect(() => leaked!.sum()).to.throw(USED_AFTER_DISPOSE);
    expect(first.out.item()).to.be.a('number');
    expect(first.kept.shape).to.deep.equal([200]);
    expect(w.sum().item(), 'inputs from outside the scope stay alive').to.be.a('number');
    const before = cpuMemoryStats();
    step();
    const after = cpuMemoryStats();
    const allocated = after.allocatedBytes - before.allocatedBytes;
    expect(allocated).to.be.greaterThan(0);
    // every large buffer of the second step is the first step's, without any garbage collection
    expect(after.reusedBytes - before.reusedBytes).to.be.at.least(2 * 4 * 200 * 200);
  });

  it('keep() saves a tensor from every enclosing scope, not only the innermost one (state kept by a step that runs inside a scope)', () => {
    let state = ones([100, 200]);
    const step = () =>
      scope(() => {
        const next = keep(state.mul(2));
        state.dispose();
        state = next;
      });
    scope(() => {
      step();
      step();
    });
    expect(state.sum().item(), 'the kept state outlives both scopes').to.equal(4 * 100 * 200);
    let returned: ReturnType<typeof ones> | null = null;
    scope(() => {
      returned = scope(() => ones([100, 200]).mul(5));
    });
    expect(() => returned!.sum(), 'a returned tensor belongs to the enclosing scope, which frees it').to.throw(USED_AFTER_DISPOSE);
  });

  it('results do not change when every step runs in a scope (fast-check)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 1000 }), (m, n, seed) => {
        const x = randn([m, n]).add(seed / 1000);
        const plain = x.matmul(x.transpose(0, 1)).softmax(-1).dataSync();
        const scoped = [0, 1, 2].map(() => scope(() => x.matmul(x.transpose(0, 1)).softmax(-1)).dataSync());
        for (const s of scoped) expect([...s]).to.deep.equal([...plain]);
      }),
      { numRuns: 30 },
    );
  });
});
