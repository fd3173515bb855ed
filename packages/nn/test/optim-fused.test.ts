// AdamW's fused update (@dinots/tensor's fusedAdamWForeach_, one kernel call per group, or
// fusedAdamW_, one per parameter) gives the same bits as its composed update (fused: false,
// nine kernels), in float32 and float64, over random shapes, hyperparameters and steps, for
// groups of many parameters on 1 and 2 threads, and falls back to the composed ops where a
// tensor does not suit the kernel (a non-contiguous gradient).

import { expect } from 'chai';
import fc from 'fast-check';
import { type Tensor, Generator, getNumThreads, randn, setNumThreads } from '@dinots/tensor';
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

  it('updates groups of many parameters in one call with the composed bits, on 1 and 2 threads (sizes from 1 to 300k, a parameter that skipped a step, a non-contiguous gradient)', () => {
    const shapes = [[1], [7], [192], [64, 65], [2048, 70], [300, 1000], [3, 5]];
    const run = (fused: boolean, dtype: 'float32' | 'float64', threads: number, transposedLast: boolean) => {
      const generator = new Generator(5);
      const params = shapes.map((shape) => randn(shape, { dtype, generator }).requiresGrad_(true));
      const optimizer = new AdamW([{ params: params.slice(0, 4) }, { params: params.slice(4), weightDecay: 0, lr: 0.003 }], { lr: 0.01, weightDecay: 0.04, fused });
      const before = getNumThreads();
      setNumThreads(threads);
      try {
        for (let t = 0; t < 3; t++) {
          params.forEach((p, i) => {
            // parameter 1 has no gradient in the first step, so its step count lags the others'
            const last = i === params.length - 1;
            const g = randn(last && transposedLast ? [...p.shape].reverse() : p.shape, { dtype, generator });
            p.grad = i === 1 && t === 0 ? null : last && transposedLast ? g.mT : g;
          });
          optimizer.step();
        }
      } finally {
        setNumThreads(before);
      }
      const state = optimizer.stateDict().state as Record<number, { step: number; expAvg: Tensor; expAvgSq: Tensor }>;
      return params.map((p, i) => ({ step: state[i].step, values: [p, state[i].expAvg, state[i].expAvgSq].map((t) => Array.from(t.dataSync())) }));
    };
    for (const dtype of ['float32', 'float64'] as const) {
      for (const transposedLast of [false, true]) {
        const composed = run(false, dtype, 1, transposedLast);
        expect(composed.map((c) => c.step)).to.deep.equal([3, 2, 3, 3, 3, 3, 3]);
        for (const threads of [1, 2]) {
          run(true, dtype, threads, transposedLast).forEach(({ step, values }, i) => {
            expect(step).to.equal(composed[i].step);
            values.forEach((v, k) => v.forEach((x, j) => {
              if (!Object.is(x, composed[i].values[k][j])) expect.fail(`${dtype}, ${threads} thread(s), transposed ${transposedLast}: ${['p', 'expAvg', 'expAvgSq'][k]} of parameter ${i} [${shapes[i]}] element ${j} is ${x}, expected ${composed[i].values[k][j]}`);
            }));
          });
        }
      }
    }
  });

  it('checks the option', () => {
    expect(() => new AdamW([randn([2]).requiresGrad_(true)], { fused: 1 as unknown as boolean })).to.throw(/AdamW.*fused/);
  });
});
