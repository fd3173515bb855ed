// softmax(x)_i = exp(x_i - m) / sum_j exp(x_j - m), m = max_j x_j (subtracting the max
// keeps exp from overflowing); log_softmax(x)_i = x_i - m - log(sum_j exp(x_j - m)).
// Each exp is computed once: softmax keeps exp(x_j - m) in the output row and rescales
// it in place, which also keeps the work per element to one exp, one add, one multiply.

import type { TypedArray } from '../../dtype.js';
import { rowOffsets } from './rows.js';

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
