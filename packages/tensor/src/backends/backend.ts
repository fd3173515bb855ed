// The backend interface: the kernels an op can ask a device for.
//
// Ops (src/ops) validate arguments, work out shapes and dtypes, allocate outputs and
// record autograd; a backend only moves numbers. Every kernel writes into an output
// tensor the op allocated (`out`, possibly a strided view, which is how in-place ops
// work) and reads inputs through their strides, so views never need a copy first.
// Backends know nothing about autograd.

import type { DType, TypedArray } from '../dtype.js';
import type { Device, Storage } from '../storage.js';
import type { Tensor } from '../tensor.js';

/** Elementwise ops of one input. `params` carries scalar arguments (clamp bounds, exponent). */
export type UnaryOp =
  | 'copy'
  | 'neg'
  | 'reciprocal'
  | 'exp'
  | 'log'
  | 'log1p'
  | 'sqrt'
  | 'rsqrt'
  | 'abs'
  | 'sign'
  | 'tanh'
  | 'sigmoid'
  | 'relu'
  | 'erf'
  | 'gelu'
  | 'geluTanh'
  | 'square'
  | 'sin'
  | 'cos'
  | 'clamp'
  | 'powScalar'
  | 'logicalNot';

/** Elementwise ops of two inputs, already broadcast to the output's shape. */
export type BinaryOp =
  | 'add'
  | 'sub'
  | 'mul'
  | 'div'
  | 'pow'
  | 'maximum'
  | 'minimum'
  | 'eq'
  | 'ne'
  | 'lt'
  | 'le'
  | 'gt'
  | 'ge'
  | 'logicalAnd'
  | 'logicalOr'
  | 'geluBackward';

export type ReduceOp = 'sum' | 'max' | 'min';

/** The scalars of one AdamW step of a parameter (`step` counts from 1). */
export interface AdamWStepHyper {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly step: number;
}

/** One parameter of a fused AdamW step over many (Backend.adamwStepForeach). */
export interface AdamWStepItem {
  readonly p: Tensor;
  readonly grad: Tensor;
  readonly expAvg: Tensor;
  readonly expAvgSq: Tensor;
  readonly hyper: AdamWStepHyper;
}

export interface Backend {
  readonly device: Device;

  /**
   * A storage of `length` elements: zero-filled, or with `zeroed` false, of unspecified
   * contents (for outputs a kernel overwrites entirely; saves a pass over recycled memory).
   */
  allocate(dtype: DType, length: number, zeroed?: boolean): Storage;
  /** A storage holding a copy of (or, on the CPU, exactly) `data`. */
  fromArray(data: TypedArray): Storage;
  /**
   * The elements of `x` in row-major order, as a new host array. Throws where only async
   * reads exist (GPU webgpu mode), naming `op`, the public call that read.
   */
  readSync(x: Tensor, op: string): TypedArray;
  read(x: Tensor): Promise<TypedArray>;

  unary(op: UnaryOp, x: Tensor, out: Tensor, params?: readonly number[]): void;
  binary(op: BinaryOp, a: Tensor, b: Tensor, out: Tensor): void;
  /**
   * Optional out = a + b * alpha in one pass, rounded as a multiply by alpha (in b's dtype)
   * then an add would round; returns false where it has no kernel for these tensors, and the
   * op (add_ with alpha) composes it.
   */
  addScaled?(a: Tensor, b: Tensor, alpha: number, out: Tensor): boolean;
  /**
   * Optional target = target * momentum + source * (1 - momentum) in one pass, with the bits
   * of target.mul_(momentum).add_(source, 1 - momentum): both factors in target's dtype,
   * each product rounded, then the sum; returns false where it has no kernel for these
   * tensors (ops/fused-ema.ts).
   */
  emaStep?(target: Tensor, source: Tensor, momentum: number): boolean;
  /**
   * Optional emaStep over every pair (targets[i], sources[i]) in one call, PyTorch's foreach
   * style, with each pair's emaStep bits; returns false, having changed nothing, where it has
   * no kernel for all of them, and the caller runs them pair by pair.
   */
  emaStepForeach?(targets: readonly Tensor[], sources: readonly Tensor[], momentum: number): boolean;
  /** out = cond ? a : b, all three broadcast to out's shape. */
  where(cond: Tensor, a: Tensor, b: Tensor, out: Tensor): void;
  fill(out: Tensor, value: number): void;

  /** Reduces `x` over `dims`; `out` has x's shape with those dims set to 1. */
  reduce(op: ReduceOp, x: Tensor, dims: readonly number[], out: Tensor): void;
  /**
   * Optional sum over every element of x * x into `out` (one element), each square rounded to
   * x's dtype as a multiply kernel would round it, the sum as `reduce('sum')` would take it;
   * returns false where it has no kernel for x, and the op (norm) composes it.
   */
  sumOfSquares?(x: Tensor, out: Tensor): boolean;
  /**
   * Optional sum of squares of every xs[i] into out[i] (out is 1-D, of xs' dtype) in one call,
   * each with the bits of xs[i]'s own 2-norm before its square root (sumOfSquares, or the
   * multiply and the sum it composes); returns false where it has no kernel for all of them.
   */
  sumOfSquaresForeach?(xs: readonly Tensor[], out: Tensor): boolean;
  /** Index (int32) and value of the max/min along `dim`; outputs have size 1 at `dim`. First occurrence wins. */
  argReduce(op: 'max' | 'min', x: Tensor, dim: number, values: Tensor, indices: Tensor): void;

  /**
   * Batched matrix product: a [B, M, K] x b [B, K, N] -> out [B, M, N] (any strides on a and
   * b); out is overwritten in full, zeros where K is 0. A backend that sets matmulBatchViews
   * also takes several batch dims with any strides, a [...batch, M, K] x b [...batch, K, N] ->
   * out [...batch, M, N] (the same batch dims on all three); for the others ops/matmul.ts
   * copies batch dims that do not merge into one. A backend that sets matmulBias takes a
   * `bias` of N elements (any stride) to add to every row of the product, each element
   * rounded as a separate add would round it (ops/linear.ts); the others are never passed one.
   */
  matmul(a: Tensor, b: Tensor, out: Tensor, bias?: Tensor | null): void;
  readonly matmulBatchViews?: boolean;
  readonly matmulBias?: boolean;

  /** softmax (or log-softmax) of x along `dim`. */
  softmax(x: Tensor, dim: number, log: boolean, out: Tensor): void;
  /** Optional fused gradient of softmax (or log-softmax) from its output y and the incoming g (ops compose it where absent). */
  softmaxBackward?(g: Tensor, y: Tensor, dim: number, log: boolean, out: Tensor): void;
  /**
   * LayerNorm over the last dim of x viewed as [rows, D]: out = (x - mean) * rstd * weight + bias.
   * Also writes mean and rstd = 1/sqrt(var + eps) per row (shape [rows]). weight/bias may be null.
   */
  layerNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps: number, out: Tensor, mean: Tensor, rstd: Tensor): void;
  /**
   * Optional fused LayerNorm backward (ops compose it from other kernels where a backend
   * has none): g and x are [rows, D], mean and rstd the forward's [rows, 1] statistics,
   * dx [rows, D], dweight and dbias [D] (null: not wanted).
   */
  layerNormBackward?(g: Tensor, x: Tensor, weight: Tensor | null, mean: Tensor, rstd: Tensor, dx: Tensor, dweight: Tensor | null, dbias: Tensor | null): void;

  /**
   * Optional fused AdamW update of one parameter (ops/fused-adamw.ts composes nothing: where
   * it is absent, nn's AdamW runs its composed update): p, grad, expAvg and expAvgSq are
   * contiguous, of one shape and floating dtype, and the result has the composed update's bits.
   */
  adamwStep?(p: Tensor, grad: Tensor, expAvg: Tensor, expAvgSq: Tensor, hyper: AdamWStepHyper): void;
  /** Optional adamwStep of every item in one call (PyTorch's _fused_adamw_ over a list), each with adamwStep's bits and conditions. */
  adamwStepForeach?(items: readonly AdamWStepItem[]): void;

  /** out[i][j][k] = x[i][index[i][j][k]][k] for dim 1 (torch.gather semantics for any dim). */
  gather(x: Tensor, dim: number, index: Tensor, out: Tensor): void;
  /** out[i][index[i][j][k]][k] += src[i][j][k] for dim 1 (torch.scatter_add_ semantics). */
  scatterAdd(out: Tensor, dim: number, index: Tensor, src: Tensor): void;
}

const backends = new Map<Device, () => Backend>();
const instances = new Map<Device, Backend>();

/** Registers a backend factory; it runs on the first use of the device. */
export function registerBackend(device: Device, factory: () => Backend): void {
  backends.set(device, factory);
  instances.delete(device);
}

export function getBackend(device: Device): Backend {
  let backend = instances.get(device);
  if (backend === undefined) {
    const factory = backends.get(device);
    if (factory === undefined) throw new Error(`device '${device}': no backend is registered for it`);
    backend = factory();
    instances.set(device, backend);
  }
  return backend;
}

/**
 * Puts `backend` in the place of the device's instance (profiler.ts wraps the instance in
 * timers this way, and puts it back afterwards). Not exported from the package.
 */
export function replaceBackendInstance(device: Device, backend: Backend): void {
  instances.set(device, backend);
}
