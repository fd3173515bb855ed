// Elementwise kernel sources: out[i] = f(x[i], y[i], z[i]) over strided (and broadcast,
// stride-0) inputs. The expressions mirror the CPU backend's table (backends/cpu/
// elementwise.ts), which is the reference they are tested against; math GLSL lacks or
// leaves undefined goes through the float32 helpers of math32.ts.

import type { BinaryOp, UnaryOp } from '../backend.js';
import type { DType } from '../../dtype.js';
import { type View, address, castTo, coalesce, coordNames, kernelSource, splitIndex } from './codegen.js';

const SQRT1_2 = '0.7071067811865476';
const SQRT_2_OVER_PI = '0.7978845608028654';
const INV_SQRT_2PI = '0.3989422804014327';

export const UNARY_EXPRESSIONS: Record<UnaryOp, string> = {
  copy: 'x',
  neg: '-x',
  reciprocal: '1.0 / x',
  exp: 'Math.exp(x)',
  log: 'Math.log(x)',
  log1p: 'log1p32(x)',
  sqrt: 'Math.sqrt(x)',
  rsqrt: '1.0 / Math.sqrt(x)',
  abs: 'Math.abs(x)',
  sign: '(x > 0.0 ? 1.0 : (x < 0.0 ? -1.0 : 0.0))',
  tanh: 'tanh32(x)',
  sigmoid: '1.0 / (1.0 + Math.exp(-x))',
  relu: '(x > 0.0 ? x : 0.0)',
  erf: 'erf32(x)',
  gelu: `0.5 * x * (1.0 + erf32(x * ${SQRT1_2}))`,
  geluTanh: `0.5 * x * (1.0 + tanh32(${SQRT_2_OVER_PI} * (x + 0.044715 * x * x * x)))`,
  square: 'x * x',
  sin: 'sinShift32(x, 0.0)',
  cos: 'sinShift32(x, 1.0)',
  clamp: '((x < p0 ? p0 : x) > p1 ? p1 : (x < p0 ? p0 : x))', // min(max(x, lo), hi), as the CPU kernel
  powScalar: 'pow32(x, p0)',
  logicalNot: '(x === 0.0 ? 1.0 : 0.0)',
};

export const BINARY_EXPRESSIONS: Record<BinaryOp, string> = {
  add: 'x + y',
  sub: 'x - y',
  mul: 'x * y',
  div: 'x / y',
  pow: 'pow32(x, y)',
  maximum: 'Math.max(x, y)',
  minimum: 'Math.min(x, y)',
  eq: '(x === y ? 1.0 : 0.0)',
  ne: '(x !== y ? 1.0 : 0.0)',
  lt: '(x < y ? 1.0 : 0.0)',
  le: '(x <= y ? 1.0 : 0.0)',
  gt: '(x > y ? 1.0 : 0.0)',
  ge: '(x >= y ? 1.0 : 0.0)',
  logicalAnd: '((x !== 0.0 && y !== 0.0) ? 1.0 : 0.0)',
  logicalOr: '((x !== 0.0 || y !== 0.0) ? 1.0 : 0.0)',
  // x = incoming gradient, y = GELU input: x * (Phi(y) + y * phi(y))
  geluBackward: `x * (0.5 * (1.0 + erf32(y * ${SQRT1_2})) + y * Math.exp(-0.5 * y * y) * ${INV_SQRT_2PI})`,
};

export const WHERE_EXPRESSION = '(x !== 0.0 ? y : z)';

/** The names `expr` gives mapSource's inputs, in order. */
const INPUT_NAMES = ['x', 'y', 'z', 'u', 'v'];

/**
 * out[i] = expr over inputs read through their views (named x, y, z, u, v in `expr`), with
 * scalar parameters p0, p1 passed as kernel arguments. Inputs are device arrays a0, a1, ...
 * Dims are coalesced first (codegen.ts), so contiguous inputs cost no index arithmetic.
 */
export function mapSource(expr: string, outShape: readonly number[], views: readonly View[], paramCount: number, dtype: DType): string {
  if (views.length > INPUT_NAMES.length) throw new Error(`gpu mapSource: at most ${INPUT_NAMES.length} inputs, got ${views.length}`);
  const { shape, views: inputs } = coalesce(outShape, views);
  const c = coordNames(shape.length, 'c');
  const body = [...splitIndex(shape, 'this.thread.x', 'c')];
  inputs.forEach((view, k) => body.push(`const ${INPUT_NAMES[k]} = a${k}[${address(view, c)}];`));
  const params = [...inputs.map((_, k) => `a${k}`), ...Array.from({ length: paramCount }, (_, k) => `p${k}`)];
  return kernelSource(params, body, castTo(dtype, expr));
}

/**
 * The write of `values` (row-major, one per element of the view) into a storage through a
 * strided view: element s of the new storage is the view's value where s lies in the
 * view, else the old value (or 0, without `keepsOld`: a storage never written holds
 * zeros). Finds the view coordinates of s by dividing by the strides in decreasing order,
 * which is exact for views whose strides nest (each stride exceeds the span of the
 * smaller ones), as every slice/transpose/select of a storage does.
 */
export function mergeSource(written: View, keepsOld: boolean): string {
  const view = coalesce(written.shape, [written]).views[0];
  const dims = view.shape.map((size, d) => ({ size, stride: view.strides[d], rowStride: 0 })).map((e, d, all) => {
    e.rowStride = all.slice(d + 1).reduce((p, f) => p * f.size, 1);
    return e;
  });
  const order = dims.filter((e) => e.size > 1).sort((a, b) => b.stride - a.stride);
  const body = [`let r = this.thread.x - ${view.offset}.0;`, 'let inside = r >= 0.0 ? 1.0 : 0.0;', 'let flat = 0.0;'];
  for (const e of order) {
    body.push(`const q${e.stride} = Math.floor((r + 0.5) / ${e.stride}.0);`);
    body.push(`if (q${e.stride} >= ${e.size}.0) { inside = 0.0; }`);
    body.push(`r = r - q${e.stride} * ${e.stride}.0;`);
    body.push(`flat = flat + q${e.stride} * ${e.rowStride}.0;`);
  }
  body.push('if (r > 0.5) { inside = 0.0; }');
  if (!keepsOld) return kernelSource(['values'], body, '(inside > 0.5 ? values[flat] : 0.0)');
  return kernelSource(['old', 'values'], body, '(inside > 0.5 ? values[flat] : old[this.thread.x])');
}

/** Whether mergeSource can address this view: positive strides that nest without overlap. */
export function isNestedView(view: View): boolean {
  const dims = view.shape.map((size, d) => ({ size, stride: view.strides[d] })).filter((e) => e.size > 1);
  if (dims.some((e) => e.stride <= 0)) return false;
  dims.sort((a, b) => a.stride - b.stride);
  let span = 1;
  for (const e of dims) {
    if (e.stride < span) return false;
    span = e.stride * (e.size - 1) + span;
  }
  return true;
}
