// The Tensor: a strided view {shape, strides, offset} over a Storage, plus autograd state.
//
// Element (i_0, ..., i_{n-1}) lives at storage[offset + sum_d i_d * strides[d]].
// View ops (transpose, slice, expand, ...) return new Tensors over the same storage;
// everything else allocates. Methods here are thin sugar over the functions in ops/,
// which validate, dispatch to the device's backend and record autograd.

import { AccumulateGrad, type Node } from './autograd/node.js';
import { enableGrad, isGradEnabled } from './autograd/grad-mode.js';
import { type BackwardOptions, runBackward } from './autograd/engine.js';
import { DTYPES, type DType, type TypedArray, isFloatingPoint } from './dtype.js';
import { DEVICES, checkDType, checkDevice, checkOptions } from './validate.js';
import { formatTensor } from './format.js';
import { contiguousStrides, formatShape, isContiguousLayout, normalizeDim, numel, smallIntegerArray } from './shape.js';
import type { Device, Storage } from './storage.js';
import type { Generator } from './random.js';
import { getBackend } from './backends/backend.js';
import * as U from './ops/unary.js';
import * as B from './ops/binary.js';
import * as C from './ops/compare.js';
import * as R from './ops/reduce.js';
import * as M from './ops/movement.js';
import * as J from './ops/join.js';
import * as I from './ops/indexing.js';
import * as IP from './ops/inplace.js';
import { matmul } from './ops/matmul.js';
import { logSoftmax, softmax } from './ops/softmax.js';
import { toDevice, toDType, clone, contiguous } from './ops/copy.js';
import { pad, type PadOptions } from './ops/pad.js';
import { onesLike } from './creation.js';

export type Scalar = number;
/** Anything an op accepts where PyTorch accepts a tensor or a Python number. */
export type TensorLike = Tensor | number | boolean;

export type NestedArray = number | boolean | readonly NestedArray[];

/**
 * How a view was made from its base (the tensor that is not itself a view), as PyTorch's
 * view tracking: `replay(base)` redoes the chain of view ops. After an in-place op on any
 * tensor over the same storage, a view's history is rebuilt by replaying it on the base's
 * current history, so every view sees the write (PyTorch's regenerated AsStridedBackward).
 */
export interface ViewInfo {
  readonly base: Tensor;
  readonly replay: (base: Tensor) => Tensor;
  /** False for views made inside noGrad(): their history is never rebuilt (as in PyTorch). */
  readonly differentiable: boolean;
}

export class Tensor {
  readonly storage: Storage;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  /** Accumulated gradient of a leaf (or of a non-leaf after retainGrad()). */
  grad: Tensor | null = null;
  private leafRequiresGrad = false;
  private node: Node | null = null;
  private accumulator: AccumulateGrad | null = null;
  /** Set on views (see ViewInfo); null for tensors that own their layout. */
  private viewInfo: ViewInfo | null = null;
  /** The storage version at which `node` was last set; a view whose storage moved on rebuilds it. */
  private nodeVersion: number;

  /** Keeps its own copies of `shape` and `strides` (default: contiguous), in one elements kind (smallIntegerArray). */
  constructor(storage: Storage, shape: readonly number[], strides?: readonly number[], offset = 0) {
    this.storage = storage;
    this.shape = smallIntegerArray(shape);
    this.strides = strides === undefined ? contiguousStrides(this.shape) : smallIntegerArray(strides);
    this.offset = offset;
    this.nodeVersion = storage.version;
  }

  get dtype(): DType {
    return this.storage.dtype;
  }

  get device(): Device {
    return this.storage.device;
  }

  get ndim(): number {
    return this.shape.length;
  }

  get numel(): number {
    return numel(this.shape);
  }

  /** size() is the shape; size(d) one dimension (negative d counts from the end). */
  size(): readonly number[];
  size(dim: number): number;
  size(dim?: number): number | readonly number[] {
    if (dim === undefined) return this.shape;
    return this.shape[normalizeDim('size', dim, this.ndim)];
  }

  isContiguous(): boolean {
    return isContiguousLayout(this.shape, this.strides);
  }

  // ---------------------------------------------------------------- autograd state

  get requiresGrad(): boolean {
    return this.leafRequiresGrad || this.history() !== null;
  }

  set requiresGrad(flag: boolean) {
    this.requiresGrad_(flag);
  }

  /** Sets requiresGrad on a leaf (PyTorch's requires_grad_). Returns this. */
  requiresGrad_(flag = true): this {
    const node = this.history();
    if (node !== null) {
      throw new Error(
        `requiresGrad_: you can only change the requiresGrad flag of leaf tensors; this one was produced by ${node.name}. ` +
          `Use detach() to get a leaf.`,
      );
    }
    if (flag && !isFloatingPoint(this.dtype)) {
      throw new TypeError(`requiresGrad_: only floating point tensors can require gradients, got dtype ${this.dtype}`);
    }
    this.leafRequiresGrad = flag;
    if (!flag) this.accumulator = null;
    return this;
  }

  /** The Node that produced this tensor, or null for leaves. */
  get gradFn(): Node | null {
    return this.history();
  }

  get isLeaf(): boolean {
    return this.history() === null;
  }

  /** Where a gradient for this tensor enters the graph: its gradFn, a leaf accumulator, or null. */
  gradEdge(): Node | null {
    const node = this.history();
    if (node !== null) return node;
    if (!this.leafRequiresGrad) return null;
    this.accumulator ??= new AccumulateGrad(this);
    return this.accumulator;
  }

  /**
   * The current gradFn. A differentiable view whose storage was written in place since
   * its gradFn was set gets a new one: its view ops replayed on the base's history.
   */
  private history(): Node | null {
    const view = this.viewInfo;
    if (view !== null && view.differentiable && this.nodeVersion !== this.storage.version) {
      this.nodeVersion = this.storage.version;
      this.node = view.base.requiresGrad ? enableGrad(() => view.replay(view.base).gradFn) : null;
    }
    return this.node;
  }

  /** @internal Called by `record` on a fresh op output, and by in-place ops rebasing a history. */
  setGradFn(node: Node | null): void {
    this.node = node;
    this.nodeVersion = this.storage.version;
  }

  /** @internal Marks this view's gradFn as out of date, to be rebuilt from its base on next use. */
  invalidateGradFn(): void {
    this.nodeVersion = -1;
  }

  /** @internal Makes this tensor a view of `source` (or of source's base), made by `replay`. */
  setViewOf(source: Tensor, replay: (base: Tensor) => Tensor): void {
    const parent = source.viewInfo;
    const recording = isGradEnabled();
    this.viewInfo =
      parent === null
        ? { base: source, replay, differentiable: recording }
        : { base: parent.base, replay: (b) => replay(parent.replay(b)), differentiable: parent.differentiable && recording };
  }

  /** The view relation of this tensor (null unless it was made by a view op). */
  get viewOf(): ViewInfo | null {
    return this.viewInfo;
  }

  /** Keeps `.grad` for this non-leaf tensor during backward (PyTorch's retain_grad). */
  retainGrad(): this {
    const node = this.history();
    if (node === null) {
      if (!this.leafRequiresGrad) throw new Error('retainGrad: cannot retain the gradient of a tensor that does not require grad');
      return this;
    }
    node.retained = this;
    return this;
  }

  /**
   * Computes the gradient of this tensor w.r.t. every leaf that requires grad, adding
   * into their `.grad`. A non-scalar tensor needs `gradient` (same shape).
   */
  backward(gradient?: Tensor, options: BackwardOptions = {}): void {
    if (!this.requiresGrad) {
      throw new Error(`backward: this tensor (shape ${formatShape(this.shape)}) does not require grad and has no gradFn`);
    }
    let g = gradient;
    if (g === undefined) {
      if (this.numel !== 1) {
        throw new Error(
          `backward: grad can be implicitly created only for scalar outputs; this output has shape ${formatShape(this.shape)}. ` +
            `Pass a gradient of the same shape.`,
        );
      }
      g = onesLike(this);
    } else if (g.shape.length !== this.shape.length || g.shape.some((d, i) => d !== this.shape[i])) {
      throw new Error(`backward: gradient has shape ${formatShape(g.shape)} but the output has shape ${formatShape(this.shape)}`);
    }
    runBackward([this], [g], options);
  }

  /**
   * Frees the memory behind this tensor, which every view of the same storage shares (as
   * tfjs's dispose): on the GPU its texture, on the CPU its buffer, which goes back to the
   * buffer pool for the next op. Neither it nor any view may be used afterwards (they throw).
   */
  dispose(): void {
    this.storage.dispose();
  }

  /** `using t = ...` disposes t at the end of the block. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** A tensor sharing this one's storage, cut off from the graph (never requires grad). */
  detach(): Tensor {
    return new Tensor(this.storage, this.shape, this.strides, this.offset);
  }

  // ---------------------------------------------------------------- reading values

  /** The elements in row-major order (CPU tensors; GPU tensors use `await data()`). */
  dataSync(): TypedArray {
    return getBackend(this.device).readSync(this, 'dataSync');
  }

  /** The elements in row-major order, for any device. */
  data(): Promise<TypedArray> {
    return getBackend(this.device).read(this);
  }

  /** The value of a one-element tensor as a JS number. */
  item(): number {
    if (this.numel !== 1) throw new Error(`item: only one-element tensors can be converted to a number, got shape ${formatShape(this.shape)}`);
    return getBackend(this.device).readSync(this, 'item')[0];
  }

  /** Nested JS arrays (numbers, or booleans for bool tensors); a number for 0-d tensors. */
  toArray(): NestedArray {
    const flat = getBackend(this.device).readSync(this, 'toArray');
    const conv = this.dtype === 'bool' ? (v: number) => v !== 0 : (v: number) => v;
    if (this.ndim === 0) return conv(flat[0]);
    let i = 0;
    const build = (d: number): NestedArray[] => {
      const out: NestedArray[] = [];
      for (let k = 0; k < this.shape[d]; k++) out.push(d === this.ndim - 1 ? conv(flat[i++]) : build(d + 1));
      return out;
    };
    return build(0);
  }

  toString(): string {
    return formatTensor(this);
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  // ---------------------------------------------------------------- conversion

  /** A copy on another device or with another dtype (this tensor itself when nothing changes). */
  to(target: Device | DType | { device?: Device; dtype?: DType }): Tensor {
    let t: { device?: Device; dtype?: DType };
    if (typeof target === 'string') {
      if ((DEVICES as readonly string[]).includes(target)) t = { device: target as Device };
      else if ((DTYPES as readonly string[]).includes(target)) t = { dtype: target as DType };
      else throw new TypeError(`to: '${target}' is neither a dtype (${DTYPES.join(', ')}) nor a device (${DEVICES.join(', ')})`);
    } else {
      t = checkOptions('to', target, ['device', 'dtype'], 'target');
    }
    let out: Tensor = this;
    if (t.dtype !== undefined) out = toDType(out, checkDType('to', t.dtype));
    if (t.device !== undefined) out = toDevice(out, checkDevice('to', t.device));
    return out;
  }

  float(): Tensor { return toDType(this, 'float32'); }
  double(): Tensor { return toDType(this, 'float64'); }
  int(): Tensor { return toDType(this, 'int32'); }
  bool(): Tensor { return toDType(this, 'bool'); }
  contiguous(): Tensor { return contiguous(this); }
  clone(): Tensor { return clone(this); }

  // ---------------------------------------------------------------- elementwise

  add(other: TensorLike): Tensor { return B.add(this, other); }
  sub(other: TensorLike): Tensor { return B.sub(this, other); }
  mul(other: TensorLike): Tensor { return B.mul(this, other); }
  div(other: TensorLike): Tensor { return B.div(this, other); }
  neg(): Tensor { return U.neg(this); }
  reciprocal(): Tensor { return U.reciprocal(this); }
  pow(exponent: TensorLike): Tensor { return B.pow(this, exponent); }
  square(): Tensor { return U.square(this); }
  sqrt(): Tensor { return U.sqrt(this); }
  rsqrt(): Tensor { return U.rsqrt(this); }
  exp(): Tensor { return U.exp(this); }
  log(): Tensor { return U.log(this); }
  log1p(): Tensor { return U.log1p(this); }
  abs(): Tensor { return U.abs(this); }
  sign(): Tensor { return U.sign(this); }
  sin(): Tensor { return U.sin(this); }
  cos(): Tensor { return U.cos(this); }
  tanh(): Tensor { return U.tanh(this); }
  sigmoid(): Tensor { return U.sigmoid(this); }
  relu(): Tensor { return U.relu(this); }
  erf(): Tensor { return U.erf(this); }
  gelu(options?: U.GeluOptions | 'none' | 'tanh'): Tensor { return U.gelu(this, options); }
  maximum(other: TensorLike): Tensor { return B.maximum(this, other); }
  minimum(other: TensorLike): Tensor { return B.minimum(this, other); }
  clamp(min?: number | null, max?: number | null): Tensor { return U.clamp(this, min, max); }

  eq(other: TensorLike): Tensor { return C.eq(this, other); }
  ne(other: TensorLike): Tensor { return C.ne(this, other); }
  lt(other: TensorLike): Tensor { return C.lt(this, other); }
  le(other: TensorLike): Tensor { return C.le(this, other); }
  gt(other: TensorLike): Tensor { return C.gt(this, other); }
  ge(other: TensorLike): Tensor { return C.ge(this, other); }
  logicalNot(): Tensor { return C.logicalNot(this); }
  logicalAnd(other: TensorLike): Tensor { return C.logicalAnd(this, other); }
  logicalOr(other: TensorLike): Tensor { return C.logicalOr(this, other); }
  where(condition: Tensor, other: TensorLike): Tensor { return C.where(condition, this, other); }
  maskedFill(mask: Tensor, value: number): Tensor { return I.maskedFill(this, mask, value); }

  // ---------------------------------------------------------------- reductions

  sum(dim?: number | readonly number[], keepdim = false): Tensor { return R.sum(this, dim, keepdim); }
  mean(dim?: number | readonly number[], keepdim = false): Tensor { return R.mean(this, dim, keepdim); }
  var(dim?: number | readonly number[], unbiased = true, keepdim = false): Tensor { return R.variance(this, dim, unbiased, keepdim); }
  std(dim?: number | readonly number[], unbiased = true, keepdim = false): Tensor { return R.std(this, dim, unbiased, keepdim); }
  norm(p: number | 'fro' = 2, dim?: number | readonly number[], keepdim = false): Tensor { return R.norm(this, p, dim, keepdim); }
  logsumexp(dim: number | readonly number[], keepdim = false): Tensor { return R.logsumexp(this, dim, keepdim); }
  amax(dim?: number | readonly number[], keepdim = false): Tensor { return R.amax(this, dim, keepdim); }
  amin(dim?: number | readonly number[], keepdim = false): Tensor { return R.amin(this, dim, keepdim); }
  max(): Tensor;
  max(dim: number, keepdim?: boolean): R.ValuesIndices;
  max(dim?: number, keepdim = false): Tensor | R.ValuesIndices { return dim === undefined ? R.max(this) : R.max(this, dim, keepdim); }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): R.ValuesIndices;
  min(dim?: number, keepdim = false): Tensor | R.ValuesIndices { return dim === undefined ? R.min(this) : R.min(this, dim, keepdim); }
  argmax(dim?: number, keepdim = false): Tensor { return R.argmax(this, dim, keepdim); }
  argmin(dim?: number, keepdim = false): Tensor { return R.argmin(this, dim, keepdim); }
  softmax(dim: number): Tensor { return softmax(this, dim); }
  logSoftmax(dim: number): Tensor { return logSoftmax(this, dim); }
  matmul(other: Tensor): Tensor { return matmul(this, other); }

  // ---------------------------------------------------------------- views and shape

  view(...shape: number[] | [readonly number[]]): Tensor { return M.view(this, flatArgs(shape)); }
  reshape(...shape: number[] | [readonly number[]]): Tensor { return M.reshape(this, flatArgs(shape)); }
  transpose(dim0: number, dim1: number): Tensor { return M.transpose(this, dim0, dim1); }
  permute(...dims: number[] | [readonly number[]]): Tensor { return M.permute(this, flatArgs(dims)); }
  narrow(dim: number, start: number, length: number): Tensor { return M.narrow(this, dim, start, length); }
  slice(dim: number, start?: number | null, end?: number | null, step = 1): Tensor { return M.slice(this, dim, start, end, step); }
  select(dim: number, index: number): Tensor { return M.select(this, dim, index); }
  expand(...shape: number[] | [readonly number[]]): Tensor { return M.expand(this, flatArgs(shape)); }
  expandAs(other: Tensor): Tensor { return M.expand(this, other.shape); }
  broadcastTo(shape: readonly number[]): Tensor { return M.broadcastTo(this, shape); }
  squeeze(dim?: number | readonly number[]): Tensor { return M.squeeze(this, dim); }
  unsqueeze(dim: number): Tensor { return M.unsqueeze(this, dim); }
  flatten(startDim = 0, endDim = -1): Tensor { return M.flatten(this, startDim, endDim); }
  unflatten(dim: number, sizes: readonly number[]): Tensor { return M.unflatten(this, dim, sizes); }
  flip(dims: number | readonly number[]): Tensor { return I.flip(this, dims); }
  /** Reverses all dims (PyTorch's .T); for matrices the transpose. */
  get T(): Tensor { return M.permute(this, this.shape.map((_, i) => this.ndim - 1 - i)); }
  /** Transposes the last two dims (PyTorch's .mT). */
  get mT(): Tensor { return M.transpose(this, -2, -1); }
  split(splitSize: number | readonly number[], dim = 0): Tensor[] { return J.split(this, splitSize, dim); }
  chunk(chunks: number, dim = 0): Tensor[] { return J.chunk(this, chunks, dim); }
  unbind(dim = 0): Tensor[] { return J.unbind(this, dim); }

  // ---------------------------------------------------------------- indexing

  gather(dim: number, index: Tensor): Tensor { return I.gather(this, dim, index); }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor { return I.scatterAdd(this, dim, index, src); }
  indexSelect(dim: number, index: Tensor): Tensor { return I.indexSelect(this, dim, index); }
  indexAdd(dim: number, index: Tensor, source: Tensor): Tensor { return I.indexAdd(this, dim, index, source); }
  pad(padding: readonly number[], options?: PadOptions): Tensor { return pad(this, padding, options); }

  // ---------------------------------------------------------------- in place (bump the version counter)

  add_(other: TensorLike, alpha = 1): this { return IP.add_(this, other, alpha); }
  sub_(other: TensorLike, alpha = 1): this { return IP.add_(this, other, -alpha); }
  mul_(other: TensorLike): this { return IP.binary_('mul', this, other); }
  div_(other: TensorLike): this { return IP.binary_('div', this, other); }
  pow_(exponent: TensorLike): this { return IP.binary_('pow', this, exponent); }
  maximum_(other: TensorLike): this { return IP.binary_('maximum', this, other); }
  minimum_(other: TensorLike): this { return IP.binary_('minimum', this, other); }
  addcmul_(t1: Tensor, t2: Tensor, value = 1): this { return IP.addcmul_(this, t1, t2, value); }
  addcdiv_(t1: Tensor, t2: Tensor, value = 1): this { return IP.addcdiv_(this, t1, t2, value); }
  lerp_(end: TensorLike, weight: number): this { return IP.lerp_(this, end, weight); }
  sqrt_(): this { return IP.unary_('sqrt', this); }
  exp_(): this { return IP.unary_('exp', this); }
  neg_(): this { return IP.unary_('neg', this); }
  relu_(): this { return IP.unary_('relu', this); }
  sigmoid_(): this { return IP.unary_('sigmoid', this); }
  tanh_(): this { return IP.unary_('tanh', this); }
  clamp_(min?: number | null, max?: number | null): this { return IP.clamp_(this, min, max); }
  copy_(src: TensorLike): this { return IP.copy_(this, src); }
  fill_(value: number): this { return IP.fill_(this, value); }
  zero_(): this { return IP.fill_(this, 0); }
  maskedFill_(mask: Tensor, value: number): this { return IP.maskedFill_(this, mask, value); }
  uniform_(low = 0, high = 1, generator?: Generator): this { return IP.uniform_(this, low, high, generator); }
  normal_(mean = 0, std = 1, generator?: Generator): this { return IP.normal_(this, mean, std, generator); }
}

function flatArgs(args: number[] | [readonly number[]]): readonly number[] {
  return args.length === 1 && Array.isArray(args[0]) ? (args[0] as readonly number[]) : (args as number[]);
}
