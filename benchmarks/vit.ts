// The benchmark ViT (depth 6, dim 192, 3 heads, MLP 768, batch 32 of 8x8 = 64 patches of
// 4x4x3 pixels plus a CLS token = 65 tokens, 10 classes), written twice from the same
// weights: with @dinots/tensor ops and with TensorFlow.js ops. A pre-norm transformer
// (Dosovitskiy et al. 2021, eq. 1-4): patch embedding, CLS token and position
// embedding, then per block x += proj(attention(LN(x))); x += fc2(GELU(fc1(LN(x)))),
// final LN, a linear head on the CLS token, and cross-entropy against fixed labels.
// The train step is forward, backward and an SGD update of every weight.

import { type Device, type Tensor, add, cat, expand, gather, gelu, grad, layerNorm, logSoftmax, matmul, mean, mul, noGrad, permute, reshape, select, softmax, tensor, transpose } from '@dinots/tensor';
import type { Case } from './harness.js';
import { VIT, type Variants, shared } from './kernels.js';
import { ours, tf, tfjs } from './peers.js';
import { pytorch } from './pytorch.js';
import { randomArray } from './random.js';

const PATCH_DIM = 4 * 4 * 3;
const PATCHES = VIT.tokens - 1;
const CLASSES = 10;
const LR = 0.01;
const EPS = 1e-5;

interface WeightSpec {
  readonly name: string;
  readonly shape: number[];
  /** Uniform in [-scale, scale); 'one' for LayerNorm weights. */
  readonly scale: number | 'one';
}

function weightSpecs(): WeightSpec[] {
  const { dim, mlp, depth } = VIT;
  const linear = (name: string, fanIn: number, fanOut: number): WeightSpec[] => [
    { name: `${name}.w`, shape: [fanIn, fanOut], scale: 1 / Math.sqrt(fanIn) },
    { name: `${name}.b`, shape: [fanOut], scale: 0.02 },
  ];
  const norm = (name: string): WeightSpec[] => [
    { name: `${name}.w`, shape: [dim], scale: 'one' },
    { name: `${name}.b`, shape: [dim], scale: 0.02 },
  ];
  return [
    ...linear('patch', PATCH_DIM, dim),
    { name: 'cls', shape: [1, 1, dim], scale: 0.02 },
    { name: 'pos', shape: [1, VIT.tokens, dim], scale: 0.02 },
    ...Array.from({ length: depth }, (_, i) => [
      ...norm(`block${i}.norm1`), ...linear(`block${i}.qkv`, dim, 3 * dim), ...linear(`block${i}.proj`, dim, dim),
      ...norm(`block${i}.norm2`), ...linear(`block${i}.fc1`, dim, mlp), ...linear(`block${i}.fc2`, mlp, dim),
    ]).flat(),
    ...norm('norm'),
    ...linear('head', dim, CLASSES),
  ];
}

interface VitData {
  readonly weights: Map<string, { shape: number[]; data: Float32Array }>;
  readonly images: Float32Array;
  readonly labels: Int32Array;
}

function vitData(): VitData {
  const weights = new Map<string, { shape: number[]; data: Float32Array }>();
  weightSpecs().forEach(({ name, shape, scale }, i) => {
    const n = shape.reduce((p, d) => p * d, 1);
    weights.set(name, { shape, data: scale === 'one' ? new Float32Array(n).fill(1) : randomArray(n, 100 + i, scale) });
  });
  const images = randomArray(VIT.batch * PATCHES * PATCH_DIM, 7);
  const labels = Int32Array.from({ length: VIT.batch }, (_, i) => (i * 7) % CLASSES);
  return { weights, images, labels };
}

/** FLOPs of one forward pass in its matrix products (2 per multiply-add). */
export function vitForwardFlops(): number {
  const { batch, tokens, dim, mlp, depth } = VIT;
  const rows = batch * tokens;
  const perBlock = 2 * rows * dim * (3 * dim + dim + 2 * mlp) + 2 * 2 * batch * tokens * tokens * dim;
  return 2 * batch * PATCHES * PATCH_DIM * dim + depth * perBlock + 2 * batch * dim * CLASSES;
}

function oursForward(w: Map<string, Tensor>, images: Tensor): Tensor {
  const { batch, tokens, dim, heads, depth } = VIT;
  const W = (name: string) => w.get(name)!;
  const linear = (x: Tensor, name: string) => add(matmul(x, W(`${name}.w`)), W(`${name}.b`));
  const norm = (x: Tensor, name: string) => layerNorm(x, [dim], W(`${name}.w`), W(`${name}.b`), EPS);
  let x = linear(images, 'patch');
  x = add(cat([expand(W('cls'), [batch, 1, dim]), x], 1), W('pos'));
  for (let i = 0; i < depth; i++) {
    const b = `block${i}`;
    const qkv = permute(reshape(linear(norm(x, `${b}.norm1`), `${b}.qkv`), [batch, tokens, 3, heads, dim / heads]), [2, 0, 3, 1, 4]);
    const [q, k, v] = [0, 1, 2].map((j) => select(qkv, 0, j));
    const attn = softmax(mul(matmul(q, transpose(k, -1, -2)), 1 / Math.sqrt(dim / heads)), -1);
    const o = reshape(permute(matmul(attn, v), [0, 2, 1, 3]), [batch, tokens, dim]);
    x = add(x, linear(o, `${b}.proj`));
    x = add(x, linear(gelu(linear(norm(x, `${b}.norm2`), `${b}.fc1`)), `${b}.fc2`));
  }
  return linear(select(norm(x, 'norm'), 1, 0), 'head');
}

function tfForward(w: Map<string, tf.Variable>, images: tf.Tensor): tf.Tensor2D {
  const { batch, tokens, dim, heads, depth } = VIT;
  const W = (name: string) => w.get(name)!;
  const linear = (x: tf.Tensor, name: string) => {
    const [wt, bt] = [W(`${name}.w`), W(`${name}.b`)];
    const flat = tf.reshape(x, [-1, x.shape[x.shape.length - 1]]) as tf.Tensor2D;
    return tf.reshape(tf.add(tf.matMul(flat, wt as tf.Tensor2D), bt), [...x.shape.slice(0, -1), wt.shape[1] as number]);
  };
  const norm = (x: tf.Tensor, name: string) => {
    const { mean: mu, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mu), tf.rsqrt(tf.add(variance, EPS))), W(`${name}.w`)), W(`${name}.b`));
  };
  let x = linear(images, 'patch');
  x = tf.add(tf.concat([tf.tile(W('cls'), [batch, 1, 1]), x], 1), W('pos'));
  for (let i = 0; i < depth; i++) {
    const b = `block${i}`;
    const qkv = tf.transpose(tf.reshape(linear(norm(x, `${b}.norm1`), `${b}.qkv`), [batch, tokens, 3, heads, dim / heads]), [2, 0, 3, 1, 4]);
    const [q, k, v] = tf.unstack(qkv, 0);
    const attn = tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dim / heads)));
    const o = tf.reshape(tf.transpose(tf.matMul(attn, v), [0, 2, 1, 3]), [batch, tokens, dim]);
    x = tf.add(x, linear(o, `${b}.proj`));
    const hidden = linear(norm(x, `${b}.norm2`), `${b}.fc1`);
    x = tf.add(x, linear(tf.mul(tf.mul(hidden, 0.5), tf.add(1, tf.erf(tf.mul(hidden, Math.SQRT1_2)))), `${b}.fc2`));
  }
  const cls = tf.reshape(tf.slice(norm(x, 'norm'), [0, 0, 0], [batch, 1, dim]), [batch, dim]);
  return linear(cls, 'head') as tf.Tensor2D;
}

/** The weight whose gradient the train step's result samples (with the loss). */
const CHECKED_GRAD = 'block0.qkv.w';

/** The weights, images and labels of `data` as tensors on `device` (the CPU's on shared memory). */
function vitInputs(data: VitData, device: Device, train: boolean) {
  const on = (d: Float32Array, shape: number[]) => (device === 'cpu' ? shared(d, shape) : tensor(d, { shape, device }));
  const w = new Map([...data.weights].map(([name, { shape, data: d }]) => [name, on(d, shape).requiresGrad_(train)]));
  return { w, images: on(data.images, [VIT.batch, PATCHES, PATCH_DIM]), labels: tensor(data.labels, { shape: [VIT.batch, 1], device }) };
}

/** One train step: cross-entropy, the gradient of every weight, an SGD update; the loss and CHECKED_GRAD's gradient. */
function trainStep(w: Map<string, Tensor>, images: Tensor, labels: Tensor): [Tensor, Tensor] {
  const names = [...w.keys()];
  const params = names.map((n) => w.get(n)!);
  const loss = mul(mean(gather(logSoftmax(oursForward(w, images), -1), 1, labels)), -1);
  const grads = grad(loss, params);
  noGrad(() => params.forEach((p, i) => p.sub_(grads[i]!, LR)));
  return [loss, grads[names.indexOf(CHECKED_GRAD)]!];
}

/** dinots' forward (train false) or train step (true) on the CPU, from `data`. */
function vitOursModel(data: VitData, train: boolean): () => () => Tensor | Float32Array {
  return () => {
    const { w, images, labels } = vitInputs(data, 'cpu', train);
    if (!train) return () => noGrad(() => oursForward(w, images));
    return () => {
      const [loss, g] = trainStep(w, images, labels);
      return Float32Array.of(loss.item(), ...(g.dataSync() as Float32Array));
    };
  };
}

/** The CPU train step of vitCases, for the GPU case to compare with. */
export function vitTrainStepCpu(): () => Tensor | Float32Array {
  return vitOursModel(vitData(), true)();
}

/**
 * The train step on the GPU backend: the same weights, forward and SGD update, its one read
 * awaited (`await t.data()`), so that every gpu.js mode runs it, webgpu included.
 */
export function vitTrainStepGpu(): () => Promise<Float32Array> {
  const { w, images, labels } = vitInputs(vitData(), 'gpu', true);
  return async () => {
    const [loss, g] = trainStep(w, images, labels);
    return (await cat([loss.detach().reshape([1]), g.flatten()]).data()) as Float32Array;
  };
}

export function vitCases(v: Variants): Case[] {
  const data = vitData();
  const names = [...data.weights.keys()];
  const checkedGrad = CHECKED_GRAD;
  const oursModel = (train: boolean) => vitOursModel(data, train);
  const tfModel = (train: boolean) => () => {
    const w = new Map([...data.weights].map(([name, { shape, data: d }]) => [name, tf.variable(tf.tensor(d, shape), train, name + Math.random())]));
    const images = tf.tensor(data.images, [VIT.batch, PATCHES, PATCH_DIM]);
    const oneHot = tf.oneHot(tf.tensor1d(data.labels, 'int32'), CLASSES);
    if (!train) return () => tfForward(w, images);
    return () => {
      const { value, grads } = tf.variableGrads(() => tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(tfForward(w, images)), oneHot), -1))) as tf.Scalar);
      for (const variable of w.values()) variable.assign(tf.sub(variable, tf.mul(grads[variable.name], LR)));
      return tf.concat([tf.reshape(value, [1]), tf.reshape(grads[w.get(checkedGrad)!.name], [-1])]);
    };
  };
  const flops = vitForwardFlops();
  return [false, true].map((train) => ({
    family: 'ViT',
    name: `ViT ${train ? 'train step' : 'forward'} (depth ${VIT.depth}, dim ${VIT.dim}, ${VIT.heads} heads, batch ${VIT.batch}, ${VIT.tokens} tokens)`,
    flops: train ? 3 * flops : flops,
    tolerance: 2e-3,
    implementations: [
      ...v.threads.map((threads) => ours({ threads, inTurns: true }, oursModel(train))),
      ...(['wasm', 'cpu'] as const).map((be) => tfjs(be, tfModel(train))),
      ...pytorch(v.pytorch, v.threads, {
        case: train ? 'vit-train' : 'vit-forward',
        params: { ...VIT, eps: EPS, lr: LR, weights: names, checkedGrad },
        tensors: () => [
          ...[...data.weights].map(([name, { shape, data: d }]) => ({ name, data: d, shape })),
          { name: 'images', data: data.images, shape: [VIT.batch, PATCHES, PATCH_DIM] },
          { name: 'labels', data: data.labels, shape: [VIT.batch] },
        ],
      }),
    ],
  }));
}
