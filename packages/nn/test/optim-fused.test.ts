// AdamW's fused update (@dinots/tensor's fusedAdamW_, one kernel per parameter) gives the
// same bits as its composed update (fused: false, nine kernels), in float32 and float64,
// over random shapes, hyperparameters and steps, and falls back to the composed ops where a
// tensor does not suit the kernel (a non-contiguous gradient).

import { expect } from 'chai';
import fc from 'fast-check';
import { type Tensor, Generator, randn } from '@dinots/tensor';
import { AdamW } from '../src/index.js';

function run(fused: boolean, dtype: 'float32' | 'float64', shape: number[], seed: number, hyper: { lr: number; weightDecay: number; betas: [number, number]; eps: number }, steps: number, transposedGrad: boolean) {
  const generator = new Generator(seed);
  const p = randn(shape, { dtype, generator }).requiresGrad_(true);
  const optimizer = new AdamW([p], { ...hyper, fused });
  for (let t = 0; t < steps; t++) {
    const g = randn(transposedGrad ? [...shape].reverse() : shape, { dtype, generator });
    p.grad = transposedGrad ? g.mT : g;
    optimizer.step();
  }
  const state = optimizer.stateDict().state[0] as { expAvg: Tensor; expAvgSq: Tensor };
  return [p, state.expAvg, state.expAvgSq].map((t) => Array.from(t.dataSync()));
}

describe('AdamW fused', () => {
  it('equals the composed update bit for bit (float32 and float64, random shapes and hyperparameters)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('float32' as const, 'float64' as const),
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 2, maxLength: 2 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.record({
          lr: fc.double({ min: 1e-6, max: 0.1, noNaN: true }),
          weightDecay: fc.constantFrom(0, 0.04, 0.3),
          betas: fc.tuple(fc.constantFrom(0, 0.9, 0.95), fc.constantFrom(0.9, 0.999)),
          eps: fc.constantFrom(1e-8, 1e-6, 0.1),
        }),
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        (dtype, shape, seed, hyper, steps, transposedGrad) => {
          const fused = run(true, dtype, shape, seed, hyper, steps, transposedGrad);
          const composed = run(false, dtype, shape, seed, hyper, steps, transposedGrad);
          fused.forEach((values, i) => values.forEach((v, j) => expect(Object.is(v, composed[i][j]), `${['p', 'expAvg', 'expAvgSq'][i]}[${j}]: ${v} vs ${composed[i][j]}`).to.equal(true)));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('checks the option', () => {
    expect(() => new AdamW([randn([2]).requiresGrad_(true)], { fused: 1 as unknown as boolean })).to.throw(/AdamW.*fused/);
  });
});
