// Softmax kernel sources along one dim, in two passes over the rows:
//   L = log sum_j exp(x_j)  per row                  (logSumExpSource)
//   softmax_i = exp(x_i - L),  logSoftmax_i = x_i - L  (normalizeExpression, a map kernel)
// The row statistic is one loop with online rescaling (Milakov & Gimelshein 2018,
// "Online normalizer calculation for softmax"): a running max m and a sum s of
// exp(x_j - m) that is rescaled by exp(m - m') whenever the max grows to m'; then
// L = m + log(s). Subtracting the max keeps exp from overflowing, as on the CPU, and one
// fetch per element replaces the two of a max pass followed by a sum pass.
// Masked entries (-Infinity) add exp(-Infinity) = 0; a row of -Infinity only gives NaN,
// as on the CPU (whose max is then -Infinity and exp(-Inf - -Inf) NaN).

import { type View, address, coalesce, kernelSource, lit, splitIndex } from './codegen.js';

/** x's rows along `dim`: the other dims (coalesced) and the step along `dim`. */
function rowsOf(x: View, dim: number): { outer: View; length: number; step: number } {
  const others = x.shape.map((_, d) => d).filter((d) => d !== dim);
  const view = { shape: others.map((d) => x.shape[d]), strides: others.map((d) => x.strides[d]), offset: x.offset };
  const { views } = coalesce(view.shape, [view]);
  return { outer: views[0], length: x.shape[dim], step: x.strides[dim] };
}

/** L per row of x along `dim`, row-major over x's shape with `dim` removed. */
export function logSumExpSource(x: View, dim: number): string {
  const { outer, length, step } = rowsOf(x, dim);
  const c = outer.shape.map((_, d) => `c${d}`);
  const at = (j: string) => `a0[base + ${j} * ${lit(step)}]`;
  const body = [
    ...splitIndex(outer.shape, 'this.thread.x', 'c'),
    `const base = ${address(outer, c)};`,
    `let m = ${at('0.0')};`,
    'let s = 0.0;',
    `for (let j = 0; j < ${length}; j++) {`,
    `const v = ${at('j')};`,
    'if (v > m) {',
    's = s * Math.exp(m - v) + 1.0;',
    'm = v;',
    '} else {',
    // v === m adds exp(0) = 1 without computing exp(-Inf - -Inf) for masked leading entries
    's = s + (v === m ? 1.0 : Math.exp(v - m));',
    '}',
    '}',
  ];
  return kernelSource(['a0'], body, 'm + Math.log(s)');
}

/** The expression of the normalising map kernel: x = the input, y = L of its row. */
export function normalizeExpression(log: boolean): string {
  return log ? 'x - y' : 'Math.exp(x - y)';
}

/** L's array (row-major over x's shape without `dim`) as a view of x's shape: stride 0 along `dim`. */
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
