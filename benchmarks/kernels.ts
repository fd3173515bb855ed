// Kernel cases: SGEMM at square sizes and the ViT's linear-layer shapes, and softmax,
// LayerNorm, GELU and attention at the ViT's activation shapes (batch 32, 65 tokens,
// dim 192, 3 heads of 64, MLP 768).

import { type Tensor, gelu, layerNorm, matmul, mul, softmax, tensor, transpose } from '@dinots/tensor';
import type { Case, Implementation } from './harness.js';
import { naiveAttention, naiveGelu, naiveLayerNorm, naiveMatmul, naiveSoftmax } from './naive.js';
import { type OursOptions, type StepResult, naive, ours, tf, tfjs } from './peers.js';
import { type PyTorchInfo, pytorch } from './pytorch.js';
import { randomArray } from './random.js';

/**
 * The input as a dinots tensor of its own, copied once outside the timed steps, as
 * tf.tensor() copies its input into the backend's memory: dinots allocates it on shared
 * memory, where worker threads read it in place. (`tensor(array)` would wrap the caller's
 * plain array, which a threaded kernel copies to shared memory on every call.)
 */
export const shared = (data: Float32Array, shape: number[]): Tensor => tensor(data, { shape }).clone();

export const VIT = { batch: 32, tokens: 65, dim: 192, heads: 3, mlp: 768, depth: 6 } as const;

export interface Variants {
  /** dinots thread counts to run, the largest first (the one ratios are taken against). */
  readonly threads: readonly number[];
  /** PyTorch, where installed: it then runs as a peer on the same thread counts. */
  readonly pytorch?: PyTorchInfo;
}

/** dinots on each thread count of `v` (the largest first), then with the `extra` options. */
export const oursVariants = (v: Variants, build: () => () => StepResult, extra: OursOptions[] = []): Implementation[] => [
  ...v.threads.map((threads) => ours({ threads }, build)),
  ...extra.map((o) => ours(o, build)),
];

function sgemm(M: number, K: number, N: number, v: Variants, name: string): Case {
  const a = randomArray(M * K, 1);
  const b = randomArray(K * N, 2);
  return {
    family: 'SGEMM',
    name,
    flops: 2 * M * N * K,
    tolerance: 1e-4,
    implementations: [
      ...oursVariants(v, () => {
        const [ta, tb] = [shared(a, [M, K]), shared(b, [K, N])];
        return () => matmul(ta, tb);
      }, [{ threads: v.threads[0], simd: false }]),
      ...(['wasm', 'cpu'] as const).map((be) => tfjs(be, () => {
        const [ta, tb] = [tf.tensor2d(a, [M, K]), tf.tensor2d(b, [K, N])];
        return () => tf.matMul(ta, tb);
      })),
      naive(() => () => naiveMatmul(a, b, M, K, N)),
      ...pytorch(v.pytorch, v.threads, { case: 'sgemm', params: {}, tensors: () => [{ name: 'a', data: a, shape: [M, K] }, { name: 'b', data: b, shape: [K, N] }] }),
    ],
  };
}

function rowKernel(name: string, shape: number[], v: Variants, tolerance: number,
  oursStep: (x: Tensor) => Tensor, tfStep: (x: tf.Tensor) => tf.Tensor, naiveStep: (x: Float32Array) => Float32Array): Case {
  const x = randomArray(shape.reduce((p, d) => p * d, 1), 3, 4);
  return {
    family: 'activations',
    name,
    tolerance,
    implementations: [
      ...oursVariants(v, () => {
        const t = shared(x, shape);
        return () => oursStep(t);
      }),
      ...(['wasm', 'cpu'] as const).map((be) => tfjs(be, () => {
        const t = tf.tensor(x, shape);
        return () => tfStep(t);
      })),
      naive(() => () => naiveStep(x)),
    ],
  };
}

function attention(v: Variants): Case {
  const { batch, tokens: T, heads, dim } = VIT;
  const d = dim / heads;
  const shape = [batch, heads, T, d];
  const n = batch * heads * T * d;
  const [q, k, val] = [randomArray(n, 5), randomArray(n, 6), randomArray(n, 7)];
  const scale = 1 / Math.sqrt(d);
  return {
    family: 'activations',
    name: `attention softmax(QK^T/8)V, [${shape}]`,
    flops: 2 * 2 * batch * heads * T * T * d,
    tolerance: 1e-4,
    implementations: [
      ...oursVariants(v, () => {
        const [tq, tk, tv] = [q, k, val].map((a) => shared(a, shape));
        return () => matmul(softmax(mul(matmul(tq, transpose(tk, -1, -2)), scale), -1), tv);
      }),
      ...(['wasm', 'cpu'] as const).map((be) => tfjs(be, () => {
        const [tq, tk, tv] = [q, k, val].map((a) => tf.tensor(a, shape));
        return () => tf.matMul(tf.softmax(tf.mul(tf.matMul(tq, tk, false, true), scale)), tv);
      })),
      naive(() => () => naiveAttention(q, k, val, batch * heads, T, d)),
    ],
  };
}

export function kernelCases(v: Variants, full: boolean): Case[] {
  const { batch, tokens, heads, dim, mlp } = VIT;
  const rows = batch * tokens;
  const w = randomArray(dim, 8, 1);
  const b = randomArray(dim, 9, 1);
  const [weight, bias] = [tensor(w), tensor(b)];
  const sizes = full ? [128, 256, 512, 1024] : [128, 512, 1024];
  return [
    ...sizes.map((s) => sgemm(s, s, s, v, `${s}^3`)),
    sgemm(rows, dim, 3 * dim, v, `ViT qkv ${rows}x${dim} @ ${dim}x${3 * dim}`),
    sgemm(rows, dim, mlp, v, `ViT fc1 ${rows}x${dim} @ ${dim}x${mlp}`),
    rowKernel(`softmax [${batch},${heads},${tokens},${tokens}]`, [batch, heads, tokens, tokens], v, 1e-5,
      (x) => softmax(x, -1), (x) => tf.softmax(x), (x) => naiveSoftmax(x, tokens)),
    rowKernel(`layerNorm [${batch},${tokens},${dim}]`, [batch, tokens, dim], v, 1e-4,
      (x) => layerNorm(x, [dim], weight, bias),
      (x) => {
        const { mean, variance } = tf.moments(x, -1, true);
        return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), tf.tensor1d(w)), tf.tensor1d(b));
      },
      (x) => naiveLayerNorm(x, dim, w, b, 1e-5)),
    rowKernel(`GELU [${batch},${tokens},${mlp}]`, [batch, tokens, mlp], v, 1e-5,
      (x) => gelu(x), (x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))), naiveGelu),
    attention(v),
  ];
}
