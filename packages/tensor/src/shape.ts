// Shape arithmetic: pure functions on shapes and strides, shared by every op.
//
// Strides are in elements. A contiguous (row-major) tensor of shape [d0..dn-1] has
// stride_i = prod_{j>i} d_j. Broadcasting follows NumPy: align shapes on the right;
// two sizes are compatible when equal or when one of them is 1.

import { checkDimArg, checkInteger } from './validate.js';

export type Shape = readonly number[];

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * A copy of `values` (a shape or strides) as an array of one elements kind: V8's packed
 * small integers, wherever each value is an int32 (any value that is not stays as it is).
 * V8 keeps an array's elements kind in its hidden class, and a shape arrives in up to
 * five kinds depending on the code that built it (a literal, `new Array(n)`, `map`, sizes
 * computed by division): every function that reads shapes then meets maps its optimized
 * code has not seen, deoptimizes ("wrong map") and is compiled again, on background
 * threads that take a core from a 2-thread step (benchmarks/results/NOTES.md, 2026-12-07,
 * eighth round). The Tensor constructor stores its shape and strides through this.
 */
export function smallIntegerArray(values: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out.push((v | 0) === v ? v | 0 : v);
  }
  return out;
}

/** Row-major strides of `shape`, as a packed array (see smallIntegerArray). */
export function contiguousStrides(shape: Shape): number[] {
  const strides: number[] = [];
  for (let i = 0; i < shape.length; i++) strides.push(0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The broadcast shape of several shapes, or an error naming `op` and all shapes. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const ndim = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(ndim).fill(1);
  for (const shape of shapes) {
    for (let i = 0; i < shape.length; i++) {
      const o = ndim - shape.length + i;
      const d = shape[i];
      if (d === out[o] || d === 1) continue;
      if (out[o] === 1) {
        out[o] = d;
        continue;
      }
      throw new Error(
        `${op}: shapes ${shapes.map(formatShape).join(' and ')} cannot be broadcast together ` +
          `(size ${out[o]} vs ${d} at dimension ${o - ndim})`,
      );
    }
  }
  return out;
}

/** Maps a possibly negative dim into [0, ndim), or throws naming the op. */
export function normalizeDim(op: string, dim: number, ndim: number): number {
  checkInteger(op, 'dim', dim);
  const lo = -Math.max(ndim, 1);
  const hi = Math.max(ndim, 1) - 1;
  if (!Number.isInteger(dim) || dim < lo || dim > hi) {
    throw new RangeError(`${op}: dimension ${dim} is out of range for a ${ndim}-d tensor (expected ${lo}..${hi})`);
  }
  return dim < 0 ? dim + Math.max(ndim, 1) : dim;
}

/** Normalises a dim list (undefined = all dims), rejecting repeats. Returned sorted. */
export function normalizeDims(op: string, dims: number | readonly number[] | undefined, ndim: number): number[] {
  checkDimArg(op, dims);
  if (dims === undefined) return Array.from({ length: ndim }, (_, i) => i);
  const list = typeof dims === 'number' ? [dims] : dims;
  const out = list.map((d) => normalizeDim(op, d, ndim));
  const seen = new Set<number>();
  for (const d of out) {
    if (seen.has(d)) throw new Error(`${op}: dimension ${d} appears more than once in [${list.join(', ')}]`);
    seen.add(d);
  }
  return out.sort((a, b) => a - b);
}

/**
 * Strides that let a tensor of `shape`/`strides` be seen as `newShape` without a copy,
 * or null when impossible (PyTorch's computeStride): each group of old dims merged or
 * split into new dims must be laid out contiguously relative to each other.
 */
export function viewStrides(shape: Shape, strides: readonly number[], newShape: Shape): number[] | null {
  const n = numel(shape);
  if (n === 0 || shape.length === 0) return contiguousStrides(newShape);
  const newStrides = new Array<number>(newShape.length);
  let viewD = newShape.length - 1;
  let chunkBaseStride = strides[strides.length - 1];
  let tensorNumel = 1;
  let viewNumel = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    tensorNumel *= shape[d];
    const chunkEnds = d === 0 || (shape[d - 1] !== 1 && strides[d - 1] !== tensorNumel * chunkBaseStride);
    if (chunkEnds) {
      while (viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] === 1)) {
        newStrides[viewD] = viewNumel * chunkBaseStride;
        viewNumel *= newShape[viewD];
        viewD--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (d > 0) {
        chunkBaseStride = strides[d - 1];
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  if (viewD !== -1) return null;
  return newStrides;
}

/** Resolves a single -1 in a requested shape against the element count. */
export function inferShape(op: string, requested: Shape, total: number, from: Shape): number[] {
  let infer = -1;
  let known = 1;
  for (let i = 0; i < requested.length; i++) {
    const d = requested[i];
    if (d === -1) {
      if (infer >= 0) throw new Error(`${op}: only one dimension can be -1 in ${formatShape(requested)}`);
      infer = i;
    } else if (!Number.isInteger(d) || d < 0) {
      throw new Error(`${op}: invalid size ${d} in ${formatShape(requested)}`);
    } else {
      known *= d;
    }
  }
  const out = [...requested];
  if (infer >= 0) {
    if (known === 0 || total % known !== 0) {
      throw new Error(`${op}: shape ${formatShape(requested)} is invalid for input of shape ${formatShape(from)} (${total} elements)`);
    }
    out[infer] = total / known;
  } else if (known !== total) {
    throw new Error(`${op}: shape ${formatShape(requested)} is invalid for input of shape ${formatShape(from)} (${total} elements)`);
  }
  return out;
}

/** True when the layout is row-major contiguous (size-1 dims may have any stride). */
export function isContiguousLayout(shape: Shape, strides: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] === 1) continue;
    if (strides[i] !== expected) return false;
    expected *= shape[i];
  }
  return true;
}
