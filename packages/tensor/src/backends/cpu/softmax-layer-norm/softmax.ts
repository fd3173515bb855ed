// softmax(x)_i = exp(x_i - m) / sum_j exp(x_j - m), m = max_j x_j (subtracting the max
// keeps exp from overflowing); log_softmax(x)_i = x_i - m - log(sum_j exp(x_j - m)).
// Each exp is computed once: softmax keeps exp(x_j - m) in the output row and rescales
// it in place, which also keeps the work per element to one exp, one add, one multiply.
// Backward, from the output y and the incoming gradient g, one pass per row:
//   softmax: dx_i = y_i (g_i - sum_j g_j y_j);   log_softmax: dx_i = g_i - exp(y_i) sum_j g_j.

import type { TypedArray } from '../../../dtype.js';
import { type StridedTensor, rowOffsets } from '../row-offsets.js';

export interface SoftmaxArgs {
  readonly x: TypedArray;
  readonly xShape: readonly number[];
  readonly xStrides: readonly number[];
  readonly xOffset: number;
  readonly out: TypedArray;
  readonly outStrides: readonly number[];
  readonly outOffset: number;
  readonly dim: number;
  readonly log: boolean;
}

/** Softmax (or log-softmax) along `dim` of rows [begin, end) (rows in row-major order of the other dims). */
export function softmaxRows(args: SoftmaxArgs, begin: number, end: number): void {
  const { x, xShape, xStrides, xOffset, out, outStrides, outOffset, dim, log } = args;
  const n = xShape[dim];
  const xs = xStrides[dim];
  const os = outStrides[dim];
  const xRows = rowOffsets(xShape, xStrides, xOffset, dim);
  const oRows = rowOffsets(xShape, outStrides, outOffset, dim);
  for (let r = begin; r < Math.min(end, xRows.length); r++) {
    // `| 0`: offsets as small integers keep V8 on its fast indexed path (storages are below 2^31 elements)
    const xb = xRows[r] | 0;
    const ob = oRows[r] | 0;
    let max = -Infinity;
    for (let j = 0; j < n; j++) {
      const v = x[xb + j * xs];
      if (v > max || v !== v) max = v;
    }
    if (max === -Infinity) max = 0; // a row of -inf: exp(-inf - 0) = 0, giving NaN like PyTorch
    let sum = 0;
    if (log) {
      for (let j = 0; j < n; j++) sum += Math.exp(x[xb + j * xs] - max);
      const shift = max + Math.log(sum);
      for (let j = 0; j < n; j++) out[ob + j * os] = x[xb + j * xs] - shift;
    } else {
      for (let j = 0; j < n; j++) {
        const e = Math.exp(x[xb + j * xs] - max);
        out[ob + j * os] = e;
        sum += e;
      }
      const inv = 1 / sum;
      for (let j = 0; j < n; j++) out[ob + j * os] *= inv;
    }
  }
}

/**
 * softmaxRows for float32 along the last dim, x and out laid out contiguously from their
 * offsets: the same arithmetic (so the same bits), without strides and on one array type.
 * softmaxRows serves float32 and float64 alike, and V8 compiles that loop for both; this
 * copy sees Float32Array only (6.8 -> 5.9 ms on [6240, 65]: Math.exp takes most of the
 * rest). It is the fallback where the SIMD kernels (softmax-layer-norm-wasm.ts) are unavailable.
 */
export function softmaxRowsContiguous(args: SoftmaxArgs, begin: number, end: number): void {
  const x = args.x as Float32Array;
  const out = args.out as Float32Array;
  const { xShape, xOffset, outOffset, dim, log } = args;
  const n = xShape[dim];
  const total = xShape.reduce((p, d) => p * d, 1) / n;
  for (let r = begin; r < Math.min(end, total); r++) {
    const xb = xOffset + r * n;
    const ob = outOffset + r * n;
    let max = -Infinity;
    for (let j = xb; j < xb + n; j++) {
      const v = x[j];
      if (v > max || v !== v) max = v;
    }
    if (max === -Infinity) max = 0;
    let sum = 0;
    if (log) {
      for (let j = xb; j < xb + n; j++) sum += Math.exp(x[j] - max);
      const shift = max + Math.log(sum);
      for (let j = 0; j < n; j++) out[ob + j] = x[xb + j] - shift;
    } else {
      for (let j = 0; j < n; j++) {
        const e = Math.exp(x[xb + j] - max);
        out[ob + j] = e;
        sum += e;
      }
      const inv = 1 / sum;
      for (let j = ob; j < ob + n; j++) out[j] *= inv;
    }
  }
}

export interface SoftmaxBackwardArgs {
  readonly g: StridedTensor;
  readonly y: StridedTensor;
  readonly out: StridedTensor;
  readonly dim: number;
  readonly log: boolean;
}

/**
 * The softmax (or log-softmax) gradient along `dim` for rows [begin, end). Each row's sum
 * runs in float64 in order; where g, y and out are unit-stride along `dim`, two rows are
 * walked side by side so that their chains of dependent additions overlap (attention's
 * [16, 3, 65, 65] probabilities: 0.84-0.85 instead of 1.16-1.20 ms on one thread), with the same bits.
 */
export function softmaxBackwardRows(args: SoftmaxBackwardArgs, begin: number, end: number): void {
  const { g, y, out, dim } = args;
  const rows = {
    gRows: rowOffsets(g.shape, g.strides, g.offset, dim),
    yRows: rowOffsets(y.shape, y.strides, y.offset, dim),
    oRows: rowOffsets(out.shape, out.strides, out.offset, dim),
  };
  const stop = Math.min(end, rows.yRows.length);
  let r = begin;
  if (g.strides[dim] === 1 && y.strides[dim] === 1 && out.strides[dim] === 1) for (; r + 1 < stop; r += 2) backwardRowPair(args, rows, r);
  for (; r < stop; r++) backwardRow(args, rows, r);
}

interface BackwardRowStarts {
  readonly gRows: Float64Array;
  readonly yRows: Float64Array;
  readonly oRows: Float64Array;
}

/** The gradient for row r, any strides. */
function backwardRow({ g, y, out, dim, log }: SoftmaxBackwardArgs, { gRows, yRows, oRows }: BackwardRowStarts, r: number): void {
  const n = y.shape[dim];
  const [gd, yd, od] = [g.data, y.data, out.data];
  const [gs, ys, os] = [g.strides[dim], y.strides[dim], out.strides[dim]];
  const gb = gRows[r] | 0;
  const yb = yRows[r] | 0;
  const ob = oRows[r] | 0;
  let sum = 0;
  if (log) {
    for (let j = 0; j < n; j++) sum += gd[gb + j * gs];
    for (let j = 0; j < n; j++) od[ob + j * os] = gd[gb + j * gs] - Math.exp(yd[yb + j * ys]) * sum;
  } else {
    for (let j = 0; j < n; j++) sum += gd[gb + j * gs] * yd[yb + j * ys];
    for (let j = 0; j < n; j++) od[ob + j * os] = yd[yb + j * ys] * (gd[gb + j * gs] - sum);
  }
}

/** The gradients for rows r and r + 1, unit-stride along `dim`: backwardRow's arithmetic on both at once. */
function backwardRowPair({ g, y, out, dim, log }: SoftmaxBackwardArgs, { gRows, yRows, oRows }: BackwardRowStarts, r: number): void {
  const n = y.shape[dim];
  const [gd, yd, od] = [g.data, y.data, out.data];
  const g0 = gRows[r] | 0, g1 = gRows[r + 1] | 0;
  const y0 = yRows[r] | 0, y1 = yRows[r + 1] | 0;
  const o0 = oRows[r] | 0, o1 = oRows[r + 1] | 0;
  let sum0 = 0;
  let sum1 = 0;
  if (log) {
    for (let j = 0; j < n; j++) {
      sum0 += gd[g0 + j];
      sum1 += gd[g1 + j];
    }
    for (let j = 0; j < n; j++) {
      od[o0 + j] = gd[g0 + j] - Math.exp(yd[y0 + j]) * sum0;
      od[o1 + j] = gd[g1 + j] - Math.exp(yd[y1 + j]) * sum1;
    }
  } else {
    for (let j = 0; j < n; j++) {
      sum0 += gd[g0 + j] * yd[y0 + j];
      sum1 += gd[g1 + j] * yd[y1 + j];
    }
    for (let j = 0; j < n; j++) {
      od[o0 + j] = yd[y0 + j] * (gd[g0 + j] - sum0);
      od[o1 + j] = yd[y1 + j] * (gd[g1 + j] - sum1);
    }
  }
}
