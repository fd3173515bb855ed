// selfAttention (ops/self-attention.ts): softmax(q k^T * scale) v on a packed qkv, whose
// backward pass writes dq, dk and dv into one gradient. Checked against central differences
// (first and second order), and bit for bit against the same attention composed of select,
// matmul, mul and softmax, forward and backward, on 1 and 2 threads.

import { expect } from 'chai';
import fc from 'fast-check';
import * as T from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { layoutArb, makeTensor, runs, seedArb } from './helpers/cases.js';
import { withThreads } from './helpers/cpu-settings.js';

/** The attention as nn's Attention.forwardWithAttention composes it. */
function composed(qkv: Tensor, scale: number): Tensor {
  const heads = qkv.permute(2, 0, 3, 1, 4);
  const [q, k, v] = [heads.select(0, 0), heads.select(0, 1), heads.select(0, 2)];
  return q.matmul(k.mT).mul(scale).softmax(-1).matmul(v);
}

const sizes = fc.record({
  B: fc.integer({ min: 1, max: 2 }),
  N: fc.integer({ min: 1, max: 4 }),
  heads: fc.integer({ min: 1, max: 2 }),
  d: fc.integer({ min: 1, max: 3 }),
});

describe('selfAttention', () => {
  it('matches central differences (qkv as a view of a projection, any layout)', () => {
    fc.assert(
      fc.property(sizes, layoutArb, seedArb, ({ B, N, heads, d }, layout, seed) => {
        const projection = makeTensor([B * N, 3 * heads * d], layout, seed, { requiresGrad: true });
        T.gradcheck((p: Tensor) => T.selfAttention(p.reshape(B, N, 3, heads, d), d ** -0.5), [projection]);
      }),
      runs(40),
    );
  });

  it('matches central differences to second order (the composed backward under createGraph)', () => {
    fc.assert(
      fc.property(sizes, seedArb, ({ B, N, heads, d }, seed) => {
        T.gradgradcheck((qkv: Tensor) => T.selfAttention(qkv, 0.7), [makeTensor([B, N, 3, heads, d], 'contiguous', seed, { requiresGrad: true })]);
      }),
      runs(15),
    );
  });

  it('gives the bits of the composed attention, output and gradient, on 1 and 2 threads', () => {
    for (const [B, N, heads, d] of [[16, 65, 3, 64], [48, 17, 3, 64], [3, 5, 2, 4]]) {
      for (const dtype of ['float32', 'float64'] as const) {
        const gen = new T.Generator(B + N);
        const projection = T.randn([B * N, 3 * heads * d], { dtype, generator: gen, requiresGrad: true });
        const g = T.randn([B, heads, N, d], { dtype, generator: gen });
        const run = (attention: (qkv: Tensor, scale: number) => Tensor) => {
          projection.grad = null;
          const out = attention(projection.reshape(B, N, 3, heads, d), d ** -0.5);
          out.backward(g);
          return [Array.from(out.dataSync()), Array.from(projection.grad!.dataSync())];
        };
        const [expectedOut, expectedGrad] = withThreads(1, () => run(composed));
        for (const threads of [1, 2]) {
          const [out, grad] = withThreads(threads, () => run(T.selfAttention));
          const what = `[${B}, ${N}, 3, ${heads}, ${d}] ${dtype}, ${threads} thread(s)`;
          expect(out, `${what}: output`).to.deep.equal(expectedOut);
          expect(grad, `${what}: gradient`).to.deep.equal(expectedGrad);
        }
      }
    }
  });

  it('rejects a qkv that is not [B, N, 3, heads, head_dim]', () => {
    expect(() => T.selfAttention(T.ones([2, 5, 4, 2, 3]), 1)).to.throw('selfAttention: expected qkv of shape [B, N, 3, heads, head_dim], got [2, 5, 4, 2, 3]');
    expect(() => T.selfAttention(T.ones([5, 3, 2, 3]), 1)).to.throw(/expected qkv of shape/);
    expect(() => T.selfAttention(T.ones([1, 2, 3, 1, 1], { dtype: 'int32' }), 1)).to.throw(/selfAttention/);
    expect(() => T.selfAttention(T.ones([1, 2, 3, 1, 1]), '0.5' as unknown as number)).to.throw(/selfAttention.*scale/);
  });
});
