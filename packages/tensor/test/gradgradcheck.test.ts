// Second derivatives: gradgradcheck on a representative set of ops, with random shapes
// and layouts. Backward formulas are written with differentiable ops, so createGraph works.

import fc from 'fast-check';
import * as T from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { broadcastPairArb, layoutArb, makeTensor, runs, seedArb, shapeArb } from './helpers/cases.js';

const RUNS = 25;
const small = { maxNumel: 12, maxDims: 3 };

/** LayerNorm written out of primitive ops (mean, var, rsqrt): the composite the fused kernel must match. */
function layerNormComposite(x: Tensor, w: Tensor, b: Tensor): Tensor {
  const mu = x.mean(-1, true);
  const centered = x.sub(mu);
  const variance = centered.mul(centered).mean(-1, true);
  return centered.mul(variance.add(1e-5).rsqrt()).mul(w).add(b);
}

describe('gradgradcheck (second order)', () => {
  it('mul with broadcasting', () => {
    fc.assert(
      fc.property(broadcastPairArb(small), layoutArb, seedArb, ({ a, b }, layout, seed) => {
        T.gradgradcheck(T.mul, [makeTensor(a, layout, seed, { requiresGrad: true }), makeTensor(b, 'contiguous', seed + 1, { requiresGrad: true })]);
      }),
      runs(RUNS),
    );
  });
  for (const [name, fn] of [['exp', T.exp], ['tanh', T.tanh], ['gelu', (x: Tensor) => T.gelu(x)], ['sigmoid', T.sigmoid]] as const) {
    it(name, () => {
      fc.assert(
        fc.property(shapeArb(small), layoutArb, seedArb, (shape, layout, seed) => {
          T.gradgradcheck(fn, [makeTensor(shape, layout, seed, { requiresGrad: true })]);
        }),
        runs(RUNS),
      );
    });
  }
  it('softmax and logSoftmax', () => {
    fc.assert(
      fc.property(shapeArb({ ...small, minDims: 1 }), layoutArb, seedArb, (shape, layout, seed) => {
        T.gradgradcheck((x) => T.softmax(x, -1), [makeTensor(shape, layout, seed, { requiresGrad: true })]);
        T.gradgradcheck((x) => T.logSoftmax(x, 0), [makeTensor(shape, layout, seed, { requiresGrad: true })]);
      }),
      runs(RUNS),
    );
  });
  it('matmul (batched)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 2 }), layoutArb, seedArb, (m, k, n, b, layout, seed) => {
        T.gradgradcheck(T.matmul, [makeTensor([b, m, k], layout, seed, { requiresGrad: true }), makeTensor([k, n], 'permuted', seed + 1, { requiresGrad: true })]);
      }),
      runs(RUNS),
    );
  });
  it('a layer-norm-like composite, and the fused layerNorm', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 4 }), layoutArb, seedArb, (rows, d, layout, seed) => {
        const x = makeTensor([rows, d], layout, seed, { requiresGrad: true });
        const w = makeTensor([d], 'contiguous', seed + 1, { requiresGrad: true });
        const b = makeTensor([d], 'contiguous', seed + 2, { requiresGrad: true });
        T.gradgradcheck(layerNormComposite, [x, w, b]);
        T.gradgradcheck((p, q, r) => T.layerNorm(p, [d], q, r, 1e-5), [x, w, b]);
      }),
      runs(RUNS),
    );
  });
  it('the fused layerNorm equals the composite, values and gradients', () => {
    fc.assert(
      fc.property(shapeArb({ minDims: 1 }), layoutArb, seedArb, (shape, layout, seed) => {
        const d = shape[shape.length - 1];
        const x = makeTensor(shape, layout, seed, { requiresGrad: true });
        const w = makeTensor([d], 'contiguous', seed + 1, { requiresGrad: true });
        const b = makeTensor([d], 'contiguous', seed + 2, { requiresGrad: true });
        const g = makeTensor(shape, 'contiguous', seed + 3);
        const fused = T.layerNorm(x, [d], w, b, 1e-5);
        const composite = layerNormComposite(x, w, b);
        if (!T.allclose(fused, composite, 1e-12, 1e-12)) throw new Error('forward differs');
        const gf = T.grad(fused, [x, w, b], { gradOutputs: g });
        const gc = T.grad(composite, [x, w, b], { gradOutputs: g });
        gf.forEach((t, i) => {
          if (!T.allclose(t!, gc[i]!, 1e-10, 1e-12)) throw new Error(`gradient ${i} differs`);
        });
      }),
      runs(100),
    );
  });
});
