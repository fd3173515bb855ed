// CPU elementwise and reduction kernels: one expression per op, compiled into a strided loop.
//
// x, y, z are the input values at the current index, `acc` the output's current value
// (reductions accumulate into it), p0/p1 the op's scalar parameters.

import type { BinaryOp, ReduceOp, UnaryOp } from '../../backend.js';
import { erf } from '../../../math/erf.js';
import { contiguousStrides, numel } from '../../../shape.js';
import { type Operand, type StridedKernel, coalesce, compileStridedKernel, sortDimsByStride } from './strided-loop.js';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

export const UNARY_EXPRESSIONS: Record<UnaryOp, string> = {
  copy: 'x',
  neg: '-x',
  reciprocal: '1 / x',
  exp: 'Math.exp(x)',
  log: 'Math.log(x)',
  log1p: 'Math.log1p(x)',
  sqrt: 'Math.sqrt(x)',
  rsqrt: '1 / Math.sqrt(x)',
  abs: 'Math.abs(x)',
  sign: 'Math.sign(x)',
  tanh: 'Math.tanh(x)',
  sigmoid: '1 / (1 + Math.exp(-x))',
  relu: '(x > 0 || x !== x) ? x : 0',
  erf: 'erf(x)',
  gelu: '0.5 * x * (1 + erf(x * Math.SQRT1_2))',
  geluTanh: `0.5 * x * (1 + Math.tanh(${SQRT_2_OVER_PI} * (x + 0.044715 * x * x * x)))`,
  square: 'x * x',
  sin: 'Math.sin(x)',
  cos: 'Math.cos(x)',
  clamp: '(x < p0 ? p0 : x) > p1 ? p1 : (x < p0 ? p0 : x)', // min(max(x, lo), hi): hi everywhere when lo > hi, as PyTorch
  powScalar: 'Math.pow(x, p0)',
  logicalNot: 'x ? 0 : 1',
};

export const BINARY_EXPRESSIONS: Record<BinaryOp, string> = {
  add: 'x + y',
  sub: 'x - y',
  mul: 'x * y',
  div: 'x / y',
  pow: 'Math.pow(x, y)',
  maximum: 'Math.max(x, y)',
  minimum: 'Math.min(x, y)',
  eq: 'x === y ? 1 : 0',
  ne: 'x !== y ? 1 : 0',
  lt: 'x < y ? 1 : 0',
  le: 'x <= y ? 1 : 0',
  gt: 'x > y ? 1 : 0',
  ge: 'x >= y ? 1 : 0',
  logicalAnd: 'x && y ? 1 : 0',
  logicalOr: 'x || y ? 1 : 0',
  // x = incoming gradient, y = GELU input: x * d/dy [y * Phi(y)] = x * (Phi(y) + y * phi(y))
  geluBackward: `x * (0.5 * (1 + erf(y * Math.SQRT1_2)) + y * Math.exp(-0.5 * y * y) * ${INV_SQRT_2PI})`,
};

const REDUCE_EXPRESSIONS: Record<ReduceOp, string> = {
  sum: 'acc + x',
  max: '(x > acc || x !== x) ? x : acc',
  min: '(x < acc || x !== x) ? x : acc',
};

export const REDUCE_IDENTITY: Record<ReduceOp, number> = { sum: 0, max: -Infinity, min: Infinity };

const HELPERS = { erf };
const cache = new Map<string, StridedKernel>();

function kernelFor(arity: 0 | 1 | 2 | 3, expr: string): StridedKernel {
  const key = `${arity}:${expr}`;
  let k = cache.get(key);
  if (k === undefined) {
    k = compileStridedKernel(arity, expr, HELPERS);
    cache.set(key, k);
  }
  return k;
}

/**
 * Runs `expr` over out and inputs (all of out's shape, broadcast by strides), with the
 * arguments of simplifyStrided: dims are walked in the memory order of operand `lead`
 * (0 = out, k = input k-1), then merged.
 */
export function runStrided(...args: Parameters<typeof simplifyStrided>): void {
  stridedSlab(simplifyStrided(...args), 0, Infinity);
}

/** An elementwise loop with its index space simplified: operands[0] is the output. */
export interface StridedArgs {
  readonly arity: 0 | 1 | 2 | 3;
  readonly expr: string;
  readonly shape: readonly number[];
  readonly operands: readonly Operand[];
  readonly params: readonly number[];
  /** The dim that a thread pool splits (default 0, the outermost). */
  readonly splitDim?: number;
}

/** Sorts the dims into operand `lead`'s memory order and merges those that allow it. */
export function simplifyStrided(
  arity: 0 | 1 | 2 | 3,
  expr: string,
  shape: readonly number[],
  out: Operand,
  inputs: readonly Operand[],
  params: readonly number[] = [],
  lead = 0,
): StridedArgs {
  const all = [out, ...inputs];
  const sorted = sortDimsByStride(shape, all.map((o) => o.strides), lead);
  const merged = coalesce(sorted.shape, sorted.strides);
  const operands = all.map((o, k) => ({ data: o.data, offset: o.offset, strides: merged.strides[k] }));
  return { arity, expr, shape: merged.shape, operands, params };
}

/** Runs the loop on indices [begin, end) of dim `splitDim` (default 0): the slab a thread pool hands one thread. */
export function stridedSlab({ arity, expr, shape, operands, params, splitDim = 0 }: StridedArgs, begin: number, end: number): void {
  let slab = shape;
  let ops = operands;
  const d = splitDim;
  if (shape.length > 0 && (begin > 0 || end < shape[d])) {
    slab = shape.map((n, k) => (k === d ? Math.min(end, n) - begin : n));
    ops = operands.map((o) => ({ data: o.data, offset: o.offset + begin * o.strides[d], strides: o.strides }));
  }
  kernelFor(arity, expr)(slab, ops[0], ops[1] ?? null, ops[2] ?? null, ops[3] ?? null, params[0] ?? 0, params[1] ?? 0);
}

/**
 * The loop that reduces `x` into `acc`, a float64 accumulator of out's shape (same ndim,
 * size 1 along the reduced dims) filled with the op's identity, walked in x's memory
 * order. `splitDim` is the outermost dim that is kept (not reduced): split there, every
 * thread owns its own accumulators and sums them in the same order as one thread would.
 */
export function reduceLoop(op: ReduceOp, shape: readonly number[], x: Operand, acc: Float64Array, outShape: readonly number[]): StridedArgs {
  acc.fill(REDUCE_IDENTITY[op]);
  const args = simplifyStrided(1, REDUCE_EXPRESSIONS[op], shape, { data: acc, offset: 0, strides: stridesWithZeros(outShape, shape) }, [x], [], 1);
  return { ...args, splitDim: Math.max(0, args.operands[0].strides.findIndex((s) => s !== 0)) };
}

/** Contiguous strides of `outShape`, with 0 wherever it is 1 but `fullShape` is not (the reduced dims). */
function stridesWithZeros(outShape: readonly number[], fullShape: readonly number[]): number[] {
  const s = contiguousStrides(outShape);
  return s.map((v, i) => (outShape[i] === 1 && fullShape[i] !== 1 ? 0 : v));
}
