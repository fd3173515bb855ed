// The SIMD AdamW kernel gives the TypeScript loop's bits (both the composed update's, see
// packages/nn/test/optim-fused.test.ts), on random lengths (partial last vectors and
// blocks), offsets and hyperparameters.

import { expect } from 'chai';
import fc from 'fast-check';
import { adamwStepContiguous } from '../../../../src/backends/cpu/optim/adamw-step.js';
import { adamwStepWasm, wasmAdamWAvailable } from '../../../../src/backends/cpu/optim/adamw-step-wasm.js';

describe('AdamW step kernels', () => {
  it('SIMD and TypeScript agree bit for bit', () => {
    expect(wasmAdamWAvailable()).to.equal(true);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9000 }),
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 1, max: 50 }),
        fc.double({ min: 1e-6, max: 0.1, noNaN: true }),
        fc.constantFrom(0, 0.04),
        fc.integer(),
        (n, offset, step, lr, weightDecay, seed) => {
          let s = seed >>> 0;
          const random = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) - 0.5;
          const make = (positive = false) => Float32Array.from({ length: n + offset }, () => (positive ? Math.abs(random()) * 1e-3 : random()));
          const [p, g, m, v] = [make(), make(), make(), make(true)];
          const copies = [p, g, m, v].map((a) => a.slice());
          const h = { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay, step };
          const offsets = [offset, offset, offset, offset] as const;
          adamwStepContiguous(p, g, m, v, offsets, n, h);
          adamwStepWasm(copies[0], copies[1], copies[2], copies[3], offsets, n, h);
          for (const [i, a] of [p, m, v].entries()) expect(Buffer.compare(Buffer.from(a.buffer), Buffer.from([copies[0], copies[2], copies[3]][i].buffer))).to.equal(0);
        },
      ),
      { numRuns: 40 },
    );
  });
});
