// Softmax kernel sources along one dim, in three passes over the rows:
//   m = max_j x_j                        (reduce.ts's max)
//   s = sum_j exp(x_j - m)               (rowExpSumSource)
//   softmax_i = exp(x_i - m) / s,  logSoftmax_i = x_i - m - log(s)   (a map kernel: normalizeExpression)
// Subtracting the max keeps exp from overflowing, as on the CPU, and keeps x_i - m exact.
// A single online pass (Milakov & Gimelshein 2018) returning L = m + log(s) measured no
// faster on llvmpipe (4.8 against 5.1 ms for [6240, 65]) and rounds L: logSoftmax of
// logits near 600 would be off by 3e-5. Masked entries (-Infinity) add exp(-Infinity) = 0;
// a row of -Infinity gives NaN, as on the CPU.

import { type View, address, kernelSource, splitIndex } from './codegen.js';

/** s per row: x's shape with `dim` set to 1; `a1` holds the row maxima in that shape. */
export function rowExpSumSource(x: View, dim: number): string {
  const rowShape = x.shape.map((s, d) => (d === dim ? 1 : s));
  const coords = x.shape.map((_, d) => (d === dim ? 'j' : `c${d}`));
  const body = [
    ...splitIndex(rowShape, 'this.thread.x', 'c'),
    'const m = a1[this.thread.x];',
    'let acc = 0.0;',
    `for (let j = 0; j < ${x.shape[dim]}; j++) {`,
    `acc = acc + Math.exp(a0[${address(x, coords)}] - m);`,
    '}',
  ];
  return kernelSource(['a0', 'a1'], body, 'acc');
}

/** The normalising map kernel's expression: x = the input, y = its row's max, z = its row's sum. */
export function normalizeExpression(log: boolean): string {
  return log ? 'x - y - Math.log(z)' : 'Math.exp(x - y) / z';
}

/** A per-row statistic (row-major over x's shape without `dim`) as a view of x's shape: stride 0 along `dim`. */
export function rowStatView(shape: readonly number[], dim: number): View {
  const strides = new Array<number>(shape.length).fill(0);
  let stride = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (d === dim) continue;
    strides[d] = stride;
    stride *= shape[d];
  }
  return { shape, strides, offset: 0 };
}
