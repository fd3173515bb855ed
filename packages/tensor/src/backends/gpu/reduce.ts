// Reduction kernel sources: each output element loops over the reduced dims of x.
//
//   sum:  out = sum_r x[kept coords, r]
//   max / min: out = max_r / min_r x[...] (starting from the first element: GLSL has no Infinity literal)
//   argmax / argmin along one dim: the first index of the max / min.
//
// A fragment shader has no shared memory, so there is no tree reduction within a row;
// the loops are plain, with literal bounds (GLSL ES 1.0 requires constant loop bounds).

import type { ReduceOp } from '../backend.js';
import type { DType } from '../../dtype.js';
import { type View, address, castTo, kernelSource, splitIndex } from './codegen.js';

/** Nested loops over `dims` of `shape` binding `${name}d`; returns the opening lines and the closing braces. */
function loops(shape: readonly number[], dims: readonly number[], name: string): [string[], string[]] {
  const open = dims.map((d) => `for (let ${name}${d} = 0; ${name}${d} < ${shape[d]}; ${name}${d}++) {`);
  return [open, dims.map(() => '}')];
}

/** out (x's shape with `dims` set to 1, row-major) = op over `dims` of x. */
export function reduceSource(op: ReduceOp, x: View, dims: readonly number[], dtype: DType): string {
  const outShape = x.shape.map((s, d) => (dims.includes(d) ? 1 : s));
  const coords = x.shape.map((_, d) => (dims.includes(d) ? `r${d}` : `c${d}`));
  const body = [...splitIndex(outShape, 'this.thread.x', 'c')];
  const value = `a0[${address(x, coords)}]`;
  if (op === 'sum') {
    body.push('let acc = 0.0;');
  } else {
    body.push(`let acc = a0[${address(x, coords.map((c, d) => (dims.includes(d) ? null : c)))}];`);
  }
  const [open, close] = loops(x.shape, dims, 'r');
  body.push(...open);
  if (op === 'sum') body.push(`acc = acc + ${value};`);
  else body.push(`const v = ${value};`, `if (v ${op === 'max' ? '>' : '<'} acc) { acc = v; }`);
  body.push(...close);
  return kernelSource(['a0'], body, castTo(dtype, 'acc'));
}

/** Values (which = 'value') or first indices (which = 'index') of the max/min of x along `dim`. */
export function argReduceSource(op: 'max' | 'min', x: View, dim: number, which: 'value' | 'index'): string {
  const outShape = x.shape.map((s, d) => (d === dim ? 1 : s));
  const coords = x.shape.map((_, d) => (d === dim ? 'j' : `c${d}`));
  const first = coords.map((c, d) => (d === dim ? null : c));
  const body = [
    ...splitIndex(outShape, 'this.thread.x', 'c'),
    `let best = a0[${address(x, first)}];`,
    'let at = 0.0;',
    `for (let j = 1; j < ${x.shape[dim]}; j++) {`,
    `const v = a0[${address(x, coords)}];`,
    `if (v ${op === 'max' ? '>' : '<'} best) { best = v; at = j; }`,
    '}',
  ];
  return kernelSource(['a0'], body, which === 'value' ? 'best' : 'at');
}

/** Reductions longer than this run in two passes (partial results per chunk, then over chunks). */
export const REDUCE_CHUNK = 1024;

/**
 * First pass of a long reduction over the rows of a contiguous [rows, R] array: output
 * [rows, chunks] holds op over each chunk of REDUCE_CHUNK elements (the last one shorter).
 * A single fragment looping over a whole long row would serialise the work and, on real
 * GPUs, risk the driver's watchdog; two passes keep every loop at most REDUCE_CHUNK long.
 */
export function partialReduceSource(op: ReduceOp, rows: number, R: number): string {
  const chunks = Math.ceil(R / REDUCE_CHUNK);
  const body = [
    ...splitIndex([rows, chunks], 'this.thread.x', 'c'),
    `const base = c0 * ${R}.0 + c1 * ${REDUCE_CHUNK}.0;`,
    `const end = ${R}.0 - c1 * ${REDUCE_CHUNK}.0;`,
    op === 'sum' ? 'let acc = 0.0;' : 'let acc = a0[base];',
    `for (let j = 0; j < ${REDUCE_CHUNK}; j++) {`,
    'if (j < end) {',
    'const v = a0[base + j];',
    op === 'sum' ? 'acc = acc + v;' : `if (v ${op === 'max' ? '>' : '<'} acc) { acc = v; }`,
    '}',
    '}',
  ];
  return kernelSource(['a0'], body, 'acc');
}
