// Argument validation in nn constructors, optimizers and safetensors: a wrong or misspelt
// argument is an error naming the class and the argument, never a silently ignored default.

import { expect } from 'chai';
import { tensor } from '@dinots/tensor';
import {
  AdamW,
  Attention,
  Dropout,
  GELU,
  LayerNorm,
  Linear,
  SGD,
  VisionTransformer,
  loadSafetensors,
  serializeSafetensors,
  vitSmall,
} from '../src/index.js';

const bad = <V>(v: unknown) => v as V;
const w = () => tensor([1, 2], { requiresGrad: true });

const cases: [string, () => unknown, ErrorConstructor, RegExp][] = [
  ["Linear('3', 4)", () => new Linear(bad('3'), 4), TypeError, /^Linear: argument 'inFeatures' must be an integer, got '3' \(a string\)$/],
  ['Linear(3, -4)', () => new Linear(3, -4), RangeError, /^Linear: argument 'outFeatures' must be an integer >= 0, got -4/],
  ['Linear(3, 4, {bais: false})', () => new Linear(3, 4, bad({ bais: false })), TypeError, /^Linear: unknown option 'bais' \(expected one of bias, dtype, generator\)$/],
  ["Linear(3, 4, {bias: 'no'})", () => new Linear(3, 4, bad({ bias: 'no' })), TypeError, /^Linear: argument 'bias' must be a boolean/],
  ["Linear(3, 4, {dtype: 'half'})", () => new Linear(3, 4, bad({ dtype: 'half' })), RangeError, /^Linear: argument 'dtype' must be one of/],
  ['LayerNorm(4, {epsilon: 1e-6})', () => new LayerNorm(4, bad({ epsilon: 1e-6 })), TypeError, /^LayerNorm: unknown option 'epsilon' \(expected one of eps, elementwiseAffine, dtype\)$/],
  ["LayerNorm('4')", () => new LayerNorm(bad('4')), TypeError, /^LayerNorm: argument 'normalizedShape' must be a list of non-negative integer sizes, got '4' \(a string\)$/],
  ['LayerNorm(4, {eps: -1})', () => new LayerNorm(4, { eps: -1 }), RangeError, /^LayerNorm: argument 'eps' must be a number >= 0, got -1/],
  ['VisionTransformer({patch_size: 16})', () => new VisionTransformer(bad({ patch_size: 16 })), TypeError, /^VisionTransformer: unknown option 'patch_size' \(expected one of imgSize, patchSize, /],
  ['VisionTransformer({embedDim: 100, numHeads: 3})', () => new VisionTransformer({ embedDim: 100, numHeads: 3, depth: 0 }), RangeError, /^VisionTransformer: embedDim 100 is not divisible by numHeads 3$/],
  ['VisionTransformer({depth: 1.5})', () => new VisionTransformer({ depth: 1.5 }), TypeError, /^VisionTransformer: argument 'depth' must be an integer, got 1\.5/],
  ['VisionTransformer({dropPathRate: 1})', () => new VisionTransformer({ dropPathRate: 1 }), RangeError, /^VisionTransformer: argument 'dropPathRate' must be a number >= 0 and < 1, got 1/],
  ['VisionTransformer({imgSize: 8, patchSize: 16})', () => new VisionTransformer({ imgSize: 8, patchSize: 16, depth: 0 }), RangeError, /^VisionTransformer: patchSize 16 is larger than imgSize 8$/],
  ['vitSmall({embedDim: 10})', () => vitSmall(bad({ embedDim: 10 })), TypeError, /^vitSmall: unknown option 'embedDim'/],
  ['Attention(8, {heads: 2})', () => new Attention(8, bad({ heads: 2 })), TypeError, /^Attention: unknown option 'heads'/],
  ["GELU('fast')", () => new GELU(bad('fast')), RangeError, /^GELU: argument 'approximate' must be one of 'none', 'tanh', got 'fast'/],
  ["Dropout('0.5')", () => new Dropout(bad('0.5')), TypeError, /^Dropout: argument 'p' must be a number, got '0\.5'/],
  ["AdamW([w], {lr: 'abc'})", () => new AdamW([w()], bad({ lr: 'abc' })), TypeError, /^AdamW: argument 'lr' must be a number, got 'abc' \(a string\)$/],
  ['AdamW([w], {lr: -1})', () => new AdamW([w()], { lr: -1 }), RangeError, /^AdamW: argument 'lr' must be a finite number >= 0, got -1/],
  ['AdamW([w], {learningRate: 1})', () => new AdamW([w()], bad({ learningRate: 1 })), TypeError, /^AdamW: unknown option 'learningRate' \(expected one of lr, betas, eps, weightDecay, fused\)$/],
  ['AdamW([w], {betas: [0.9]})', () => new AdamW([w()], bad({ betas: [0.9] })), RangeError, /^AdamW: invalid betas \[0\.9\] \(an array\); expected \[beta1, beta2\], each in \[0, 1\)$/],
  ['AdamW([{params, lr: NaN}])', () => new AdamW([{ params: [w()], lr: NaN }]), TypeError, /^AdamW: argument 'lr' must be a number, got NaN/],
  ['SGD([w], {momentum: -1})', () => new SGD([w()], { momentum: -1 }), RangeError, /^SGD: argument 'momentum' must be a number >= 0, got -1/],
  ["SGD([w], {nesterov: 'yes'})", () => new SGD([w()], bad({ nesterov: 'yes' })), TypeError, /^SGD: argument 'nesterov' must be a boolean/],
  ['loadSafetensors(123)', () => loadSafetensors(bad(123)), TypeError, /^loadSafetensors: expected a file path, a Uint8Array or an ArrayBuffer, got 123 \(a number\)$/],
];

describe('nn argument validation', () => {
  for (const [call, run, type, pattern] of cases) {
    it(call, () => {
      expect(run).to.throw(type, pattern);
    });
  }

  it('loadSafetensors reads an ArrayBuffer as well as a Uint8Array', () => {
    const bytes = serializeSafetensors({ a: tensor([1, 2, 3]) });
    const buffer = new ArrayBuffer(bytes.byteLength);
    new Uint8Array(buffer).set(bytes);
    expect(loadSafetensors(buffer).a.toArray()).to.deep.equal([1, 2, 3]);
  });
});
