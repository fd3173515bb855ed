// WebAssembly SIMD128 kernels for float32 row operations, written out instruction by
// instruction. Each works on `rows` rows of n floats, contiguous in the module's memory
// (row r at x + 4 n r bytes), four lanes at a time:
//
//   softmax(x, out, n, rows):          m = max_j x_j (0 if that is -inf), e_j = exp(x_j - m)
//                                      stored in out, then out_j = e_j / sum_j e_j
//   logSoftmaxStats(x, n, rows, stats): stats[2r] = m, stats[2r + 1] = sum_j exp(x_j - m)
//                                      (the driver takes the log: there is no log instruction)
//   subtractRows(x, out, n, rows, shifts): out_j = (x_j - shifts[2r]) - shifts[2r + 1]
//                                      (log-softmax as (x - m) - log(sum): x - m is exact near
//                                      the max, where x - (m + log(sum)) would cancel)
//   layerNorm(x, out, n, rows, w, b, mean, rstd, eps):
//                                      mean = sum_j x_j / n, var = sum_j (x_j - mean)^2 / n,
//                                      rstd = 1 / sqrt(var + eps), out_j = (x_j - mean) rstd w_j + b_j
//
// Rows need not start on a 16-byte boundary (loads are unaligned). A row of n = 4q + t
// floats is q full vectors and, when t > 0, one partial vector: it is loaded whole (so up
// to 12 bytes past the last row are read: the driver leaves room) and MASKS[t], whose
// first t lanes are set, keeps its lanes in the row: replaced by -inf in a max, by 0 in a
// sum, and by the old contents of out when stored. NaN propagates through every pass: the
// max skips it (pmax keeps its first operand), but exp(NaN - m) then makes the sum NaN.
// Sums run in float32 on two accumulators of four lanes (the softmax's exp sum on one),
// then across the lanes in a fixed order, so a row's result does not depend on which block
// or thread computes it.

import { type FunctionDef, type ValueType, assembleModule, op } from '../wasm/assembler.js';
import { type Code, Constants, expF32x4 } from '../wasm/f32x4-math.js';

const K = new Constants();
/** MASKS + 16 t: the first t lanes set. */
const MASKS = K.block([0, 1, 2, 3].flatMap((t) => [0, 1, 2, 3].map((lane) => (lane < t ? -1 : 0))));

/** Hands out local indices after a function's parameters. */
class Locals {
  readonly types: ValueType[] = [];
  constructor(private readonly params: number) {}
  add(type: ValueType): number {
    this.types.push(type);
    return this.params + this.types.length - 1;
  }
}

/** What every row kernel keeps: the row walk and the partial vector's mask. */
interface RowLocals {
  readonly L: Locals;
  readonly full: number;
  readonly partial: number;
  readonly end: number;
  readonly mask: number;
  readonly acc: number;
  readonly acc2: number;
  readonly v: number;
}

function rowLocals(params: number): RowLocals {
  const L = new Locals(params);
  return { L, full: L.add('i32'), partial: L.add('i32'), end: L.add('i32'), mask: L.add('v128'), acc: L.add('v128'), acc2: L.add('v128'), v: L.add('v128') };
}

/**
 * `body` for each full vector of a row, with pointer locals ptrs[k] = starts[k] + 16 i, then
 * `tail` (when the row has a partial vector) with the pointers at that vector.
 */
function overRow(R: RowLocals, ptrs: readonly number[], starts: readonly number[], body: Code, tail: Code): Code {
  return [
    ...ptrs.flatMap((p, k) => [op.localGet(starts[k]), op.localSet(p)]),
    op.localGet(starts[0]), op.localGet(R.full), op.i32Add, op.localSet(R.end),
    op.block, op.loop,
    op.localGet(ptrs[0]), op.localGet(R.end), op.i32GeU, op.brIf(1),
    ...body,
    ...ptrs.flatMap((p) => [op.localGet(p), op.i32Const(16), op.i32Add, op.localSet(p)]),
    op.br(0),
    op.end, op.end,
    op.localGet(R.partial), op.if, ...tail, op.end,
  ];
}

/**
 * Reduces the row at local `start` into local R.acc with two accumulators, so that the
 * adds (or maxes) of consecutive vectors form two dependency chains that overlap:
 * `step(acc, offset)` folds the vector at p + offset into local acc, `tail` folds the
 * partial vector (at p) into R.acc. Both start as `init`, and `join` combines them.
 */
function reduceRow(R: RowLocals, p: number, start: number, init: Code, step: (acc: number, offset: number) => Code, tail: Code, join: readonly number[]): Code {
  const { acc, acc2, end, full } = R;
  return [
    op.localGet(start), op.localSet(p),
    ...init, op.localSet(acc), ...init, op.localSet(acc2),
    op.localGet(start), op.localGet(full), op.i32Const(-32), op.i32And, op.i32Add, op.localSet(end),
    op.block, op.loop,
    op.localGet(p), op.localGet(end), op.i32GeU, op.brIf(1),
    ...step(acc, 0), ...step(acc2, 16),
    op.localGet(p), op.i32Const(32), op.i32Add, op.localSet(p),
    op.br(0),
    op.end, op.end,
    // an odd number of full vectors leaves one
    op.localGet(full), op.i32Const(16), op.i32And, op.if,
    ...step(acc, 0), op.localGet(p), op.i32Const(16), op.i32Add, op.localSet(p),
    op.end,
    op.localGet(R.partial), op.if, ...tail, op.end,
    op.localGet(acc), op.localGet(acc2), join, op.localSet(acc),
  ];
}

/** Sets up the row walk from n (a parameter), runs `row` for each of `rows` rows and advances `pointers` by a row each time. */
function eachRow(R: RowLocals, n: number, rows: number, pointers: readonly number[], row: Code): Code {
  return [
    op.localGet(n), op.i32Const(2), op.i32Shl, op.i32Const(-16), op.i32And, op.localSet(R.full),
    op.localGet(n), op.i32Const(3), op.i32And, op.localTee(R.partial),
    op.i32Const(4), op.i32Shl, op.v128Load(MASKS), op.localSet(R.mask),
    op.loop,
    ...row,
    ...pointers.flatMap((p) => [op.localGet(p), op.localGet(n), op.i32Const(2), op.i32Shl, op.i32Add, op.localSet(p)]),
    op.localGet(rows), op.i32Const(1), op.i32Sub, op.localTee(rows), op.brIf(0),
    op.end,
  ];
}

/** Lanes of local v128 `v` combined by the scalar f32 `combine`: (l0 . l1) . (l2 . l3). */
const across = (v: number, combine: readonly number[]): Code => [
  op.localGet(v), op.f32x4ExtractLane(0), op.localGet(v), op.f32x4ExtractLane(1), combine,
  op.localGet(v), op.f32x4ExtractLane(2), op.localGet(v), op.f32x4ExtractLane(3), combine, combine,
];

/** The partial vector's new value (on the stack) merged into the old contents at local pointer `q`, stored. */
const storeMasked = (R: RowLocals, q: number, value: Code): Code => [
  op.localGet(q), ...value, op.localGet(q), op.v128Load(0), op.localGet(R.mask), op.v128Bitselect, op.v128Store(0),
];

/** The max and the sum of exp(x - max) of the row at local xr into f32 locals m and s; stores the exps at `or` if given. */
function maxAndSumExp(R: RowLocals, xr: number, or: number | null, m: number, s: number): Code {
  const { L, acc, v, mask } = R;
  const [p, q, mv, e] = [L.add('i32'), L.add('i32'), L.add('v128'), L.add('v128')];
  const scratch = [L.add('v128'), L.add('v128'), L.add('v128')] as const;
  const expOf = (masked: boolean): Code => [
    op.localGet(p), op.v128Load(0), op.localGet(mv), op.f32x4Sub, op.localSet(v),
    ...expF32x4(K, v, scratch), ...(masked ? [op.localGet(mask), op.v128And] : []), op.localSet(e),
    op.localGet(acc), op.localGet(e), op.f32x4Add, op.localSet(acc),
  ];
  return [
    ...reduceRow(R, p, xr, K.f32(-Infinity),
      (a, offset) => [op.localGet(a), op.localGet(p), op.v128Load(offset), op.f32x4Pmax, op.localSet(a)],
      [op.localGet(acc), op.localGet(p), op.v128Load(0), ...K.f32(-Infinity), op.localGet(mask), op.v128Bitselect, op.f32x4Pmax, op.localSet(acc)],
      op.f32x4Pmax),
    ...across(acc, op.f32Max), op.localSet(m),
    // a row of -inf (or of NaN) subtracts 0: exp(-inf) = 0 then gives 0/0 = NaN, as the TypeScript kernel does
    op.f32Const(0), op.localGet(m), op.localGet(m), op.f32Const(-Infinity), op.f32Eq, op.select, op.localTee(m),
    op.f32x4Splat, op.localSet(mv),
    op.v128Zero, op.localSet(acc),
    ...(or === null
      ? overRow(R, [p], [xr], expOf(false), expOf(true))
      : overRow(R, [p, q], [xr, or],
        [...expOf(false), op.localGet(q), op.localGet(e), op.v128Store(0)],
        [...expOf(true), ...storeMasked(R, q, [op.localGet(e)])])),
    ...across(acc, op.f32Add), op.localSet(s),
  ];
}

function softmaxFunction(): FunctionDef {
  const [x, out, n, rows] = [0, 1, 2, 3];
  const R = rowLocals(4);
  const { L } = R;
  const [q, m, s, scale] = [L.add('i32'), L.add('f32'), L.add('f32'), L.add('v128')];
  const scaled = [op.localGet(q), op.v128Load(0), op.localGet(scale), op.f32x4Mul];
  const row = [
    ...maxAndSumExp(R, x, out, m, s),
    op.f32Const(1), op.localGet(s), op.f32Div, op.f32x4Splat, op.localSet(scale),
    ...overRow(R, [q], [out], [op.localGet(q), ...scaled, op.v128Store(0)], storeMasked(R, q, scaled)),
  ];
  return { name: 'softmax', params: ['i32', 'i32', 'i32', 'i32'], locals: L.types, body: eachRow(R, n, rows, [x, out], row) };
}

function logSoftmaxStatsFunction(): FunctionDef {
  const [x, n, rows, stats] = [0, 1, 2, 3];
  const R = rowLocals(4);
  const { L } = R;
  const [m, s] = [L.add('f32'), L.add('f32')];
  const row = [
    ...maxAndSumExp(R, x, null, m, s),
    op.localGet(stats), op.localGet(m), op.f32Store(0),
    op.localGet(stats), op.localGet(s), op.f32Store(4),
    op.localGet(stats), op.i32Const(8), op.i32Add, op.localSet(stats),
  ];
  return { name: 'logSoftmaxStats', params: ['i32', 'i32', 'i32', 'i32'], locals: L.types, body: eachRow(R, n, rows, [x], row) };
}

function subtractRowsFunction(): FunctionDef {
  const [x, out, n, rows, shifts] = [0, 1, 2, 3, 4];
  const R = rowLocals(5);
  const { L } = R;
  const [p, q, mv, lv] = [L.add('i32'), L.add('i32'), L.add('v128'), L.add('v128')];
  const value = [op.localGet(p), op.v128Load(0), op.localGet(mv), op.f32x4Sub, op.localGet(lv), op.f32x4Sub];
  const row = [
    op.localGet(shifts), op.f32Load(0), op.f32x4Splat, op.localSet(mv),
    op.localGet(shifts), op.f32Load(4), op.f32x4Splat, op.localSet(lv),
    op.localGet(shifts), op.i32Const(8), op.i32Add, op.localSet(shifts),
    ...overRow(R, [p, q], [x, out], [op.localGet(q), ...value, op.v128Store(0)], storeMasked(R, q, value)),
  ];
  return { name: 'subtractRows', params: ['i32', 'i32', 'i32', 'i32', 'i32'], locals: L.types, body: eachRow(R, n, rows, [x, out], row) };
}

function layerNormFunction(): FunctionDef {
  const [x, out, n, rows, w, b, mean, rstd, eps] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const R = rowLocals(9);
  const { L, acc, v, mask } = R;
  const [p, q, wp, bp, mu, rs, count, mv, rv] = [L.add('i32'), L.add('i32'), L.add('i32'), L.add('i32'), L.add('f32'), L.add('f32'), L.add('f32'), L.add('v128'), L.add('v128')];
  const centered = (offset: number) => [op.localGet(p), op.v128Load(offset), op.localGet(mv), op.f32x4Sub];
  const squareInto = (a: number) => [op.localTee(v), op.localGet(v), op.f32x4Mul, op.localGet(a), op.f32x4Add, op.localSet(a)];
  const normalized = [...centered(0), op.localGet(rv), op.f32x4Mul, op.localGet(wp), op.v128Load(0), op.f32x4Mul, op.localGet(bp), op.v128Load(0), op.f32x4Add];
  const row = [
    ...reduceRow(R, p, x, [op.v128Zero],
      (a, offset) => [op.localGet(a), op.localGet(p), op.v128Load(offset), op.f32x4Add, op.localSet(a)],
      [op.localGet(acc), op.localGet(p), op.v128Load(0), op.localGet(mask), op.v128And, op.f32x4Add, op.localSet(acc)],
      op.f32x4Add),
    ...across(acc, op.f32Add), op.localGet(count), op.f32Div, op.localTee(mu), op.f32x4Splat, op.localSet(mv),
    ...reduceRow(R, p, x, [op.v128Zero], (a, offset) => [...centered(offset), ...squareInto(a)], [...centered(0), op.localGet(mask), op.v128And, ...squareInto(acc)], op.f32x4Add),
    op.f32Const(1), ...across(acc, op.f32Add), op.localGet(count), op.f32Div, op.localGet(eps), op.f32Add, op.f32Sqrt, op.f32Div,
    op.localTee(rs), op.f32x4Splat, op.localSet(rv),
    op.localGet(mean), op.localGet(mu), op.f32Store(0), op.localGet(mean), op.i32Const(4), op.i32Add, op.localSet(mean),
    op.localGet(rstd), op.localGet(rs), op.f32Store(0), op.localGet(rstd), op.i32Const(4), op.i32Add, op.localSet(rstd),
    ...overRow(R, [p, q, wp, bp], [x, out, w, b], [op.localGet(q), ...normalized, op.v128Store(0)], storeMasked(R, q, normalized)),
  ];
  return {
    name: 'layerNorm',
    params: ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'f32'],
    locals: L.types,
    body: [op.localGet(n), op.f32ConvertI32U, op.localSet(count), ...eachRow(R, n, rows, [x, out], row)],
  };
}

const FUNCTIONS = [softmaxFunction(), logSoftmaxStatsFunction(), subtractRowsFunction(), layerNormFunction()];

/** Bytes at the start of memory that hold the kernels' constants (all interned above): the driver's data go after them. */
export const CONSTANT_BYTES = K.byteLength;

/** The module's bytes: the four exported functions and an exported, growable `memory`. */
export function softmaxLayerNormKernelModule(initialPages: number): Uint8Array<ArrayBuffer> {
  return assembleModule(FUNCTIONS, initialPages, K.bytes());
}
