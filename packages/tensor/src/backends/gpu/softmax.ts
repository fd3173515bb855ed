// Softmax kernel sources along one dim, in three passes over the rows:
//   m = max_j x_j                        (reduce.ts's max)
//   s = sum_j exp(x_j - m)               (rowExpSumSource)
//   softmax_i = exp(x_i - m) / s,  logSoftmax_i = x_i - m - log(s)   (softmaxSource)
// Subtracting the max keeps exp from overflowing, as on the CPU. Each pass is O(n), where a
// single fused pass would recompute the row's max and sum for every element (O(n * D)).

import { type View, address, contiguousView, kernelSource, splitIndex } from './codegen.js';

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

/** The softmax (or log-softmax) of x, row-major in x's shape; a1 = row maxima, a2 = row sums. */
export function softmaxSource(x: View, dim: number, log: boolean): string {
  const c = x.shape.map((_, d) => `c${d}`);
  const rows = contiguousView(x.shape.map((s, d) => (d === dim ? 1 : s)));
  const row = address(rows, c.map((name, d) => (d === dim ? null : name)));
  const body = [
    ...splitIndex(x.shape, 'this.thread.x', 'c'),
    `const v = a0[${address(x, c)}] - a1[${row}];`,
    `const s = a2[${row}];`,
  ];
  return kernelSource(['a0', 'a1', 'a2'], body, log ? 'v - Math.log(s)' : 'Math.exp(v) / s');
}
