// Reductions over one or several dims, with keepdim.
//
//   sum:   y = sum_{reduced} x               dx = g broadcast back over the reduced dims
//   mean:  sum / n
//   var:   sum (x - mean)^2 / (n - 1 if unbiased else n);   std = sqrt(var)
//   norm:  (sum |x|^p)^(1/p);   dx = g x |x|^(p-2) / norm^(p-1)  (0 where norm = 0)
//   amax/amin and full max/min: the gradient is shared evenly between tied maxima
//   max/min along a dim: values and the (first) index; the gradient goes to that index
//   logsumexp: m + log sum exp(x - m) with m = max x, which keeps exp from overflowing;
//              over an empty dim it is log 0 = -inf, as in PyTorch

import { record } from '../autograd/record.js';
import { isFloatingPoint } from '../dtype.js';
import { formatShape, normalizeDim, normalizeDims } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { backendOf, emptyTensor, requireFloat } from './allocate.js';
import { abs, log, exp, sign, sqrt, powScalar } from './unary.js';
import { add, div, mul, sub } from './binary.js';
import { eq, where } from './compare.js';
import { expand, reshape, squeeze } from './movement.js';
import { scatterAdd } from './indexing.js';
import { full, zerosLike } from '../creation.js';
import { checkBoolean, checkNumber } from '../validate.js';

type Dims = number | readonly number[] | undefined;

function keptShape(shape: readonly number[], dims: readonly number[]): number[] {
  return shape.map((s, i) => (dims.includes(i) ? 1 : s));
}

function finalShape(shape: readonly number[], dims: readonly number[], keepdim: boolean): number[] {
  return keepdim ? keptShape(shape, dims) : shape.filter((_, i) => !dims.includes(i));
}

/** g (reduced shape) broadcast back to x's shape: the gradient rule of a sum. */
function expandBack(g: Tensor, x: Tensor, dims: readonly number[]): Tensor {
  return expand(reshape(g, keptShape(x.shape, dims)), x.shape);
}

/** Raw reduction kernel call, no autograd: result with the final shape. */
function reduceRaw(op: 'sum' | 'max' | 'min', x: Tensor, dims: readonly number[], keepdim: boolean): Tensor {
  if (op !== 'sum') {
    for (const d of dims) {
      if (x.shape[d] === 0) throw new Error(`${op}: cannot reduce over dim ${d} of size 0 (shape ${formatShape(x.shape)}); there is no identity`);
    }
  }
  const dtype = op === 'sum' && !isFloatingPoint(x.dtype) ? 'int32' : x.dtype;
  const out = emptyTensor(keptShape(x.shape, dims), dtype, x.device, false);
  backendOf(x).reduce(op, x, dims, out);
  return keepdim ? out : reshape(out, finalShape(x.shape, dims, false));
}

/**
 * sum(x * x) over `dims`: one pass of the backend's fused kernel where it has one for x
 * (a sum over every element), with the bits of the two kernels it replaces; else those two.
 */
function sumOfSquares(x: Tensor, dims: readonly number[], keepdim: boolean): Tensor {
  if (dims.length === x.ndim && x.ndim > 0) {
    const out = emptyTensor(keptShape(x.shape, dims), x.dtype, x.device, false);
    if (backendOf(x).sumOfSquares?.(x, out) === true) return keepdim ? out : reshape(out, []);
  }
  return reduceRaw('sum', mul(x, x), dims, keepdim);
}

/** Sum over `dim` (all dims when omitted). Integer and bool inputs give int32. */
export function sum(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  checkBoolean('sum', 'keepdim', keepdim);
  const dims = normalizeDims('sum', dim, x.ndim);
  const y = reduceRaw('sum', x, dims, keepdim);
  return record('SumBackward', y, [x], [], [(g) => expandBack(g, x, dims)]);
}

export function mean(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  requireFloat('mean', x);
  checkBoolean('mean', 'keepdim', keepdim);
  const dims = normalizeDims('mean', dim, x.ndim);
  const n = dims.reduce((p, d) => p * x.shape[d], 1);
  return div(sum(x, dims, keepdim), n);
}

/** Variance over `dim`; unbiased divides by n - 1 (Bessel's correction), as torch.var's default. */
export function variance(x: Tensor, dim?: Dims, unbiased = true, keepdim = false): Tensor {
  requireFloat('var', x);
  checkBoolean('var', 'unbiased', unbiased);
  checkBoolean('var', 'keepdim', keepdim);
  const dims = normalizeDims('var', dim, x.ndim);
  const n = dims.reduce((p, d) => p * x.shape[d], 1);
  const centered = sub(x, mean(x, dims, true));
  return div(sum(mul(centered, centered), dims, keepdim), Math.max(0, n - (unbiased ? 1 : 0)));
}

export function std(x: Tensor, dim?: Dims, unbiased = true, keepdim = false): Tensor {
  return sqrt(variance(x, dim, unbiased, keepdim));
}

/** The p-norm over `dim` (all elements by default): p = 2 ('fro'), 1, any p > 0, or Infinity. */
export function norm(x: Tensor, p: number | 'fro' = 2, dim?: Dims, keepdim = false): Tensor {
  requireFloat('norm', x);
  checkBoolean('norm', 'keepdim', keepdim);
  const order = p === 'fro' ? 2 : checkNumber('norm', 'p', p, { min: 0, minExclusive: true });
  const dims = normalizeDims('norm', dim, x.ndim);
  if (order === Infinity) return amax(abs(x), dims, keepdim);
  const detached = x.detach();
  const y =
    order === 1 ? reduceRaw('sum', abs(detached), dims, keepdim)
    : order === 2 ? sqrt(sumOfSquares(detached, dims, keepdim))
    : powScalar(reduceRaw('sum', powScalar(abs(detached), order), dims, keepdim), 1 / order);
  return record('NormBackward', y, [x], [x, y], [
    (g) => {
      const gk = keepdim ? g : reshape(g, keptShape(x.shape, dims));
      const yk = keepdim ? y : reshape(y, keptShape(x.shape, dims));
      if (order === 1) return mul(sign(x), expand(gk, x.shape));
      // g * x * |x|^(p-2) / y^(p-1), with 0 where the norm is 0
      const scale = where(eq(yk, 0), 0, div(gk, order === 2 ? yk : powScalar(yk, order - 1)));
      const dir = order === 2 ? x : mul(x, powScalar(abs(x), order - 2));
      return mul(dir, scale);
    },
  ]);
}

/** Largest value over `dim` (all dims by default); ties share the gradient evenly. */
export function amax(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  return extremum('amax', 'max', x, dim, keepdim);
}

export function amin(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  return extremum('amin', 'min', x, dim, keepdim);
}

function extremum(name: string, op: 'max' | 'min', x: Tensor, dim: Dims, keepdim: boolean): Tensor {
  checkBoolean(name, 'keepdim', keepdim);
  const dims = normalizeDims(name, dim, x.ndim);
  const y = reduceRaw(op, x, dims, keepdim);
  return record(`${name === 'amax' ? 'Amax' : 'Amin'}Backward`, y, [x], [x, y], [
    (g) => {
      const yk = expandBack(y, x, dims);
      const mask = eq(x, yk).to(g.dtype);
      const count = sum(mask, dims, true);
      return mul(div(mask, count), expandBack(g, x, dims));
    },
  ]);
}

export interface ValuesIndices {
  values: Tensor;
  indices: Tensor;
}

/** max(x): the largest element; max(x, dim): {values, indices} along dim (first index on ties). */
export function max(x: Tensor): Tensor;
export function max(x: Tensor, dim: number, keepdim?: boolean): ValuesIndices;
export function max(x: Tensor, dim?: number, keepdim = false): Tensor | ValuesIndices {
  return dim === undefined ? amax(x) : valuesIndices('max', x, dim, keepdim);
}

export function min(x: Tensor): Tensor;
export function min(x: Tensor, dim: number, keepdim?: boolean): ValuesIndices;
export function min(x: Tensor, dim?: number, keepdim = false): Tensor | ValuesIndices {
  return dim === undefined ? amin(x) : valuesIndices('min', x, dim, keepdim);
}

function argRaw(op: 'max' | 'min', x: Tensor, d: number): ValuesIndices {
  if (x.shape[d] === 0) throw new Error(`${op}: cannot reduce over dim ${d} of size 0 (shape ${formatShape(x.shape)})`);
  const shape = keptShape(x.shape, [d]);
  const values = emptyTensor(shape, x.dtype, x.device, false);
  const indices = emptyTensor(shape, 'int32', x.device, false);
  backendOf(x).argReduce(op, x, d, values, indices);
  return { values, indices };
}

function valuesIndices(op: 'max' | 'min', x: Tensor, dim: number, keepdim: boolean): ValuesIndices {
  checkBoolean(op, 'keepdim', keepdim);
  const d = normalizeDim(op, dim, x.ndim);
  const raw = argRaw(op, x, x.ndim === 0 ? 0 : d);
  const index = raw.indices;
  const values = record(op === 'max' ? 'MaxBackward' : 'MinBackward', raw.values, [x], [], [
    (g) => scatterAdd(zerosLike(x, { dtype: g.dtype }), d, index, g),
  ]);
  if (keepdim || x.ndim === 0) return { values, indices: index };
  return { values: squeeze(values, d), indices: squeeze(index, d) };
}

/** Index of the largest value along dim, or in the flattened tensor when dim is omitted. */
export function argmax(x: Tensor, dim?: number, keepdim = false): Tensor {
  return argIndex('max', x, dim, keepdim);
}

export function argmin(x: Tensor, dim?: number, keepdim = false): Tensor {
  return argIndex('min', x, dim, keepdim);
}

function argIndex(op: 'max' | 'min', x: Tensor, dim: number | undefined, keepdim: boolean): Tensor {
  checkBoolean(`arg${op}`, 'keepdim', keepdim);
  if (dim === undefined) {
    const flat = reshape(x.detach(), [x.numel]);
    const idx = argRaw(op, flat, 0).indices;
    return keepdim ? reshape(idx, x.shape.map(() => 1)) : reshape(idx, []);
  }
  const d = normalizeDim(`arg${op}`, dim, x.ndim);
  const idx = argRaw(op, x.detach(), x.ndim === 0 ? 0 : d).indices;
  return keepdim || x.ndim === 0 ? idx : squeeze(idx, d);
}

/** log(sum(exp(x))) over dim, computed stably. */
export function logsumexp(x: Tensor, dim: number | readonly number[], keepdim = false): Tensor {
  requireFloat('logsumexp', x);
  checkBoolean('logsumexp', 'keepdim', keepdim);
  const dims = normalizeDims('logsumexp', dim, x.ndim);
  if (dims.some((d) => x.shape[d] === 0)) {
    const empty = full(finalShape(x.shape, dims, keepdim), -Infinity, { dtype: x.dtype, device: x.device });
    return record('LogsumexpBackward', empty, [x], [], [(g) => zerosLike(x, { dtype: g.dtype })]);
  }
  const m = amax(x.detach(), dims, true);
  const shift = where(eq(abs(m), Infinity), 0, m);
  const y = add(log(sum(exp(sub(x, shift)), dims, true)), shift);
  return keepdim ? y : reshape(y, finalShape(x.shape, dims, false));
}

/**
 * g summed down to `shape`: over leading dims g has and `shape` lacks, and over dims where
 * `shape` has size 1. This one rule turns every broadcast op's gradient into the input's shape.
 */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.ndim - shape.length;
  if (lead < 0) throw new Error(`sumTo: cannot sum shape ${formatShape(g.shape)} down to ${formatShape(shape)}`);
  const dims: number[] = [];
  for (let i = 0; i < g.ndim; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) dims.push(i);
  }
  const summed = dims.length > 0 ? sum(g, dims, true) : g;
  return reshape(summed, shape);
}
