// softmax(x)_i = exp(x_i - m) / sum_j exp(x_j - m), m = max_j x_j (subtracting the max
// keeps exp from overflowing); log_softmax(x)_i = x_i - m - log(sum_j exp(x_j - m)).

import type { TypedArray } from '../../dtype.js';
import { rowOffsets } from './rows.js';

export function softmaxRows(
  x: TypedArray, xShape: readonly number[], xStrides: readonly number[], xOffset: number,
  out: TypedArray, outStrides: readonly number[], outOffset: number,
  dim: number, log: boolean,
): void {
  const n = xShape[dim];
  const xs = xStrides[dim];
  const os = outStrides[dim];
  const xRows = rowOffsets(xShape, xStrides, xOffset, dim);
  const oRows = rowOffsets(xShape, outStrides, outOffset, dim);
  for (let r = 0; r < xRows.length; r++) {
    const xb = xRows[r];
    const ob = oRows[r];
    let max = -Infinity;
    for (let j = 0; j < n; j++) {
      const v = x[xb + j * xs];
      if (v > max || v !== v) max = v;
    }
    if (max === -Infinity) max = 0; // a row of -inf: exp(-inf - 0) = 0, giving NaN like PyTorch
    let sum = 0;
    for (let j = 0; j < n; j++) sum += Math.exp(x[xb + j * xs] - max);
    if (log) {
      const shift = max + Math.log(sum);
      for (let j = 0; j < n; j++) out[ob + j * os] = x[xb + j * xs] - shift;
    } else {
      const inv = 1 / sum;
      for (let j = 0; j < n; j++) out[ob + j * os] = Math.exp(x[xb + j * xs] - max) * inv;
    }
  }
}
