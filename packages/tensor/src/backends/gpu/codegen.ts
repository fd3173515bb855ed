// Generating kernel source: strided addressing written out as arithmetic on literals.
//
// A kernel computes output element i (this.thread.x) of a row-major output. It splits i
// into coordinates c_d = floor(i / rowStride_d) mod shape_d and reads each input at
// offset + sum_d c_d * stride_d, the same addressing as the CPU's strided loops. GL
// shaders compute in float32, so divisions add 0.5 before flooring (i / s may round to
// just below an exact integer), and flat indices stay exact only below 2^24.

import type { DType } from '../../dtype.js';
import { contiguousStrides } from '../../shape.js';

/** What a kernel needs of a tensor: its view {shape, strides, offset}. */
export interface View {
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}

/** The largest flat index a float32 can address exactly. */
export const MAX_EXACT_INDEX = 2 ** 24;

/** A number as a source literal that gpu.js types as a float. */
export function lit(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`gpu codegen: cannot write ${value} as a literal`);
  const s = String(value);
  return /[.e]/.test(s) ? s : `${s}.0`;
}

/**
 * Source lines that split flat index `index` of `shape` into coordinates `${name}0`,
 * `${name}1`, ... (size-1 dims get the constant 0).
 */
export function splitIndex(shape: readonly number[], index: string, name: string): string[] {
  const rowStrides = contiguousStrides(shape);
  const lines = [`let ${name}r = ${index};`];
  shape.forEach((size, d) => {
    if (size === 1) lines.push(`const ${name}${d} = 0.0;`);
    else if (d === shape.length - 1) lines.push(`const ${name}${d} = ${name}r;`);
    else {
      lines.push(`const ${name}${d} = Math.floor((${name}r + 0.5) / ${lit(rowStrides[d])});`);
      lines.push(`${name}r = ${name}r - ${name}${d} * ${lit(rowStrides[d])};`);
    }
  });
  return lines;
}

/**
 * offset + sum_d coord_d * stride_d, with `coords[d]` the source of coordinate d (null: 0).
 * The float literals stay even where they are 0 or 1 (the shader compiler folds them):
 * gpu.js types an expression by its left operand, and one that starts with an integer
 * literal coordinate (matmul's unrolled k) would reach the texture read untyped.
 */
export function address(view: View, coords: readonly (string | null)[]): string {
  const terms = [lit(view.offset)];
  view.shape.forEach((size, d) => {
    const c = coords[d];
    if (size > 1 && view.strides[d] !== 0 && c !== null) terms.push(`${c} * ${lit(view.strides[d])}`);
  });
  return terms.join(' + ');
}

/**
 * The same elementwise walk over fewer dims: size-1 dims dropped, and each dim merged into
 * the next one wherever every view steps through the pair as through one dim (stride_d =
 * stride_{d+1} * size_{d+1}; broadcast stride-0 pairs too). The row-major output always
 * does. A contiguous input of a same-shaped output becomes one dim read at the flat index
 * itself, so its kernel splits no index: each division a fragment saves is a float
 * division, a floor and a multiply-subtract.
 */
export function coalesce(shape: readonly number[], views: readonly View[]): { shape: number[]; views: View[] } {
  const dims = shape.map((_, d) => d).filter((d) => shape[d] !== 1);
  const merged: { size: number; strides: number[] }[] = [];
  for (let i = dims.length - 1; i >= 0; i--) {
    const d = dims[i];
    const inner = merged[0];
    if (inner !== undefined && views.every((v, k) => v.strides[d] === inner.strides[k] * inner.size)) {
      inner.size *= shape[d];
    } else {
      merged.unshift({ size: shape[d], strides: views.map((v) => v.strides[d]) });
    }
  }
  return {
    shape: merged.map((m) => m.size),
    views: views.map((v, k) => ({ shape: merged.map((m) => m.size), strides: merged.map((m) => m.strides[k]), offset: v.offset })),
  };
}

/** The coordinate names `${name}0 .. ${name}{n-1}`. */
export function coordNames(n: number, name: string): string[] {
  return Array.from({ length: n }, (_, d) => `${name}${d}`);
}

/** `value` converted to what a store into `dtype` keeps: truncation for int32, 0/1 for bool. */
export function castTo(dtype: DType, value: string): string {
  switch (dtype) {
    case 'int32': return `(${value} < 0.0 ? Math.ceil(${value}) : Math.floor(${value}))`;
    case 'bool': return `(${value} !== 0.0 ? 1.0 : 0.0)`;
    default: return value;
  }
}

/** A kernel function's source: parameters, body lines, and the returned expression. */
export function kernelSource(params: readonly string[], body: readonly string[], result: string): string {
  return `function (${params.join(', ')}) {\n  ${[...body, `return ${result};`].join('\n  ')}\n}`;
}

/** The row-major view of a fresh tensor of this shape. */
export function contiguousView(shape: readonly number[]): View {
  return { shape, strides: contiguousStrides(shape), offset: 0 };
}
