// The SIMD AdamW kernel gives the TypeScript loop's bits (both the composed update's, see
// packages/nn/test/optim-fused.test.ts), on random lengths (partial last vectors and
// blocks), offsets and hyperparameters.

import { expect } from 'chai';
import fc from 'fast-check';
import { adamwStepContiguous } from '../../../../src/backends/cpu/optim/adamw-step.js';
import { adamwStepWasm, wasmAdamWAvailable } from '../../../../src/backends/cpu/optim/adamw-step-wasm.js';
import { seedArb, values } from '../../../helpers/cases.js';

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
        seedArb,
        (n, offset, step, lr, weightDecay, seed) => {
          const make = (k: number, low: number, high: number) => Float32Array.from(values(n + offset, seed + k, { low, high }));
          // the second moment is a running mean of squares: non-negative
          const [p, g, m, v] = [make(0, -0.5, 0.5), make(1, -0.5, 0.5), make(2, -0.5, 0.5), make(3, 0, 5e-4)];
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
