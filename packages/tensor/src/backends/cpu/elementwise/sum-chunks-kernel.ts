// The WebAssembly SIMD128 kernels of the float32 chunk sums (sum-chunks-wasm.ts drives
// them), written out instruction by instruction:
//
//   sum(bytes):         (s0, s1, s2, s3) = the float64 sums of x[i] for i mod 4 = 0, 1, 2, 3
//   sumSquares(bytes):  the same for the squares x[i] * x[i], each rounded to float32
//
// over the first `bytes` of the input region at INPUT (a multiple of 16), written as four
// float64 at SUMS. Four float32 lanes are loaded at a time; lanes 0 and 1 are widened
// exactly to float64 (f64x2.promote_low_f32x4) and added to one pair of running sums, lanes
// 2 and 3 (moved low by a shuffle) to the other: each running sum takes the same terms in
// the same order as sum-chunks.ts's s0 .. s3, and float32 -> float64 widening and the
// float32 square (f32x4.mul, one IEEE rounding: what Math.fround(a * a) gives, a * a being
// exact in float64) are exact matches, so the sums are bit for bit those of sumRun and
// sumFloat32Squares.

import { type FunctionDef, assembleModule, loopWhileBelow, op, promoteHighF32x4 } from '../wasm/assembler.js';

/** Elements per call: one chunk of sum-chunks.ts (SUM_CHUNK). */
export const CAPACITY = 1 << 16;
/** Byte addresses: the four float64 sums, then the input region. */
export const SUMS = 0;
export const INPUT = 64;

/** sum or sumSquares (see the header). */
function sumFunction(name: 'sum' | 'sumSquares'): FunctionDef {
  const [bytes, i, low, high, v] = [0, 1, 2, 3, 4];
  return {
    name,
    params: ['i32'],
    locals: ['i32', 'v128', 'v128', 'v128'],
    body: [
      op.v128Zero, op.localSet(low),
      op.v128Zero, op.localSet(high),
      op.i32Const(0), op.localSet(i),
      op.block,
      op.localGet(bytes), op.i32Eqz, op.brIf(0),
      op.loop,
      op.localGet(i), op.v128Load(INPUT),
      ...(name === 'sumSquares' ? [op.localTee(v), op.localGet(v), op.f32x4Mul] : []),
      op.localTee(v), op.f64x2PromoteLowF32x4, op.localGet(low), op.f64x2Add, op.localSet(low),
      ...promoteHighF32x4(v), op.localGet(high), op.f64x2Add, op.localSet(high),
      ...loopWhileBelow(i, 16, bytes),
      op.end,
      op.i32Const(SUMS), op.localGet(low), op.v128Store(0),
      op.i32Const(SUMS), op.localGet(high), op.v128Store(16),
    ],
  };
}

/** The module's bytes: the exported functions `sum` and `sumSquares` and an exported `memory` that holds the sums and the input region. */
export function sumChunksKernelModule(): Uint8Array<ArrayBuffer> {
  return assembleModule([sumFunction('sum'), sumFunction('sumSquares')], Math.ceil((INPUT + CAPACITY * 4) / 65536));
}
