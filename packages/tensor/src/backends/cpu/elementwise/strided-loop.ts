// Strided loops over several operands, generated once per elementwise expression.
//
// Every elementwise kernel and every reduction is "walk an N-d index space and, at
// each point, read the inputs at offset + sum(index_d * stride_d) and write the output
// there too". Broadcast inputs have stride 0 along broadcast dims; a reduction's
// output has stride 0 along the reduced dims, so `acc = acc + x` sums into it.
//
// Two things make this fast in plain JavaScript:
//  1. The index space is simplified first: size-1 dims are dropped and neighbouring
//     dims that are contiguous in every operand are merged, so a contiguous tensor of
//     any shape becomes one flat loop.
//  2. The loop is generated with `new Function` from the op's expression, so that each
//     op gets its own small function whose inner loop V8 compiles for that op alone;
//     a shared loop calling `f(x, y)` through a variable would be megamorphic and
//     several times slower.

import type { TypedArray } from '../../../dtype.js';

export interface Operand {
  readonly data: TypedArray;
  readonly offset: number;
  readonly strides: readonly number[];
}

/** Drops size-1 dims and merges dims that are contiguous with respect to each other in all operands. */
export function coalesce(shape: readonly number[], strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = outShape.length - 1;
    const mergeable = last >= 0 && strides.every((s, k) => outStrides[k][last] === s[d] * shape[d]);
    if (mergeable) {
      outShape[last] *= shape[d];
      for (let k = 0; k < strides.length; k++) outStrides[k][last] = strides[k][d];
    } else {
      outShape.push(shape[d]);
      for (let k = 0; k < strides.length; k++) outStrides[k].push(strides[k][d]);
    }
  }
  return { shape: outShape, strides: outStrides };
}

/**
 * Reorders dims so that the operand `lead` is walked in memory order (largest stride
 * first), which keeps reductions and transposed copies cache-friendly.
 */
export function sortDimsByStride(shape: readonly number[], strides: readonly (readonly number[])[], lead: number): { shape: number[]; strides: number[][] } {
  const order = shape.map((_, d) => d).sort((p, q) => Math.abs(strides[lead][q]) - Math.abs(strides[lead][p]) || p - q);
  return { shape: order.map((d) => shape[d]), strides: strides.map((s) => order.map((d) => s[d])) };
}

/** kernel(shape, out, in0, in1, in2, p0, p1): runs `out = expr(x, y, z, acc, p0, p1)` at every index. */
export type StridedKernel = (
  shape: readonly number[],
  out: Operand,
  in0: Operand | null,
  in1: Operand | null,
  in2: Operand | null,
  p0: number,
  p1: number,
) => void;

const INPUT_NAMES = ['x', 'y', 'z'] as const;

/**
 * Compiles `expr`, a JavaScript expression over the input values x, y, z, the current
 * output value `acc`, and the scalars p0, p1, into a strided loop kernel. `helpers` are
 * functions the expression may call by name (erf, ...).
 */
export function compileStridedKernel(arity: 0 | 1 | 2 | 3, expr: string, helpers: Record<string, (v: number) => number> = {}): StridedKernel {
  const ins = INPUT_NAMES.slice(0, arity);
  const readAt = (idx: (k: number) => string) => ins.map((v, k) => `const ${v} = d${k}[${idx(k)}];`).join(' ');
  const body = expr.replaceAll('acc', 'o[oi]');
  // A reduction along the innermost dim (output stride 0 there) sums into a local, stored once per row.
  const reduces = expr.includes('acc');
  const source = `
    const ops = [${ins.map((_, k) => `in${k}`).join(', ')}];
    ${ins.map((_, k) => `const d${k} = in${k}.data;`).join('\n')}
    const o = out.data;
    const nd = shape.length;
    if (nd === 0) {
      const oi = out.offset;
      ${readAt((k) => `in${k}.offset`)}
      o[oi] = ${body};
      return;
    }
    const last = nd - 1;
    const n = shape[last];
    const os = out.strides[last];
    ${ins.map((_, k) => `const s${k} = in${k}.strides[last];`).join(' ')}
    if (nd === 1 && os === 1 ${ins.map((_, k) => `&& s${k} === 1`).join(' ')}) {
      const oo = out.offset;
      ${ins.map((_, k) => `const b${k} = in${k}.offset;`).join(' ')}
      for (let j = 0; j < n; j++) {
        const oi = oo + j;
        ${readAt((k) => `b${k} + j`)}
        o[oi] = ${body};
      }
      return;
    }
    let outer = 1;
    for (let d = 0; d < last; d++) outer *= shape[d];
    const index = new Array(last).fill(0);
    let ob = out.offset;
    ${ins.map((_, k) => `let b${k} = in${k}.offset;`).join(' ')}
    for (let r = 0; r < outer; r++) {
      let oi = ob;
      ${ins.map((_, k) => `let i${k} = b${k};`).join(' ')}
      ${reduces ? `if (os === 0) {
        let a = o[oi];
        for (let j = 0; j < n; j++) {
          ${readAt((k) => `i${k}`)}
          a = ${expr.replaceAll('acc', 'a')};
          ${ins.map((_, k) => `i${k} += s${k};`).join(' ')}
        }
        o[oi] = a;
      } else ` : ''}for (let j = 0; j < n; j++) {
        ${readAt((k) => `i${k}`)}
        o[oi] = ${body};
        oi += os;
        ${ins.map((_, k) => `i${k} += s${k};`).join(' ')}
      }
      for (let d = last - 1; d >= 0; d--) {
        ob += out.strides[d];
        ${ins.map((_, k) => `b${k} += ops[${k}].strides[d];`).join(' ')}
        if (++index[d] < shape[d]) break;
        index[d] = 0;
        ob -= out.strides[d] * shape[d];
        ${ins.map((_, k) => `b${k} -= ops[${k}].strides[d] * shape[d];`).join(' ')}
      }
    }`;
  const names = Object.keys(helpers);
  const factory = new Function(...names, `return function stridedKernel(shape, out, in0, in1, in2, p0, p1) {${source}\n};`);
  return factory(...names.map((k) => helpers[k])) as StridedKernel;
}
