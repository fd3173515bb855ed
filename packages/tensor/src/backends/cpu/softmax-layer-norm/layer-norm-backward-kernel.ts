// The WebAssembly SIMD128 kernel of LayerNorm's input gradient in float32 (layer-norm-
// backward-wasm.ts drives it), written out instruction by instruction:
//
//   backwardPairs(pairs, D):  for each pair p of rows (2p, 2p + 1) of g and x (float32, D
//     per row, D a multiple of 4, rows one after another at G and X), with the float64
//     vectors [mean_2p, mean_2p+1] and [rstd_2p, rstd_2p+1] at STATS + 32 p and the
//     weight as D float64 at W:
//       dxhat_j = g_j * w_j
//       a = (sum_j dxhat_j) / D,  b = (sum_j (dxhat_j * (x_j - mean)) * rstd) / D
//       dx_j = rstd * (((g_j * w_j) - a) - (((x_j - mean) * rstd) * b))
//     rounded to float32 into the rows at DX
//
// These are the float64 operations of backwardRowPair (layer-norm.ts), in its order, with
// the sums over j in order: lane 0 of every f64x2 carries row 2p and lane 1 row 2p + 1.
// Four j of both rows are loaded as two f32x4, interleaved by shuffles into (row 2p, row
// 2p + 1) pairs and widened exactly to float64; the four results per row go back through
// the same shuffles the other way, after rounding to float32 (as a store into a
// Float32Array rounds).

import { type FunctionDef, assembleModule, op, promoteHighF32x4 } from '../wasm/assembler.js';

/** The longest row (the float64 weight region). */
export const MAX_D = 4096;
/** Float32 elements of each of the G, X and DX regions. */
export const CAPACITY = 1 << 16;
/** Rows per batch at most (the statistics region: 16 bytes per row). */
export const MAX_ROWS = 4096;
/** Byte addresses of the regions. */
export const W = 0;
export const STATS = MAX_D * 8;
export const G = STATS + MAX_ROWS * 16;
export const X = G + CAPACITY * 4;
export const DX = X + CAPACITY * 4;
const PAGES = Math.ceil((DX + CAPACITY * 4) / 65536);

function backwardPairsFunction(): FunctionDef {
  // i32: the parameters; where row 2p starts in each of G, X and DX (a byte offset, the same in all three); j in bytes; the weight's and the statistics' pointers
  const [pairs, D, row, j, wp, sp] = [0, 1, 2, 3, 4, 5];
  // v128
  const [mean, rstd, sum, sumX, a, b, size] = [6, 7, 8, 9, 10, 11, 12];
  const gv = [13, 14, 15, 16]; // g_j .. g_j+3 of both rows, float64
  const xv = [17, 18, 19, 20];
  const [lo, hi, wv] = [21, 22, 23];
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  const f32 = (l: readonly number[]) => l.flatMap((lane) => [4 * lane, 4 * lane + 1, 4 * lane + 2, 4 * lane + 3]);
  const increment = (local: number, by: readonly (readonly number[])[]) => [op.localGet(local), ...by, op.i32Add, op.localSet(local)];

  // into[0..3]: elements j .. j + 3 of rows 2p and 2p + 1 at `region`, as (row 2p, row 2p + 1) float64 pairs
  const widenQuad = (region: number, into: readonly number[]) => [
    op.localGet(row), op.localGet(j), op.i32Add, op.v128Load(region), // row 2p: four floats
    op.localGet(row), op.localGet(j), op.i32Add, op.localGet(D), op.i32Const(4), op.i32Mul, op.i32Add, op.v128Load(region), // row 2p + 1
    op.localSet(hi), op.localSet(lo),
    op.localGet(lo), op.localGet(hi), op.i8x16Shuffle(f32([2, 6, 3, 7])), // (j + 2, j + 3) of both rows
    op.localGet(lo), op.localGet(hi), op.i8x16Shuffle(f32([0, 4, 1, 5])), // (j, j + 1) of both rows
    op.localTee(lo), op.f64x2PromoteLowF32x4, op.localSet(into[0]),
    ...promoteHighF32x4(lo), op.localSet(into[1]),
    op.localTee(hi), op.f64x2PromoteLowF32x4, op.localSet(into[2]),
    ...promoteHighF32x4(hi), op.localSet(into[3]),
  ];
  const weight = (q: number) => [op.localGet(wp), op.v128Load64Splat(8 * q), op.localSet(wv)];
  // the j loop: body, then j += 16 bytes and the weight pointer by 32, while j < 4 D
  const overRow = (body: readonly (readonly number[])[]) => [
    op.i32Const(0), op.localSet(j),
    op.i32Const(W), op.localSet(wp),
    op.loop,
    ...body,
    ...increment(wp, [op.i32Const(32)]),
    op.localGet(j), op.i32Const(16), op.i32Add, op.localTee(j),
    op.localGet(D), op.i32Const(4), op.i32Mul, op.i32LtU, op.brIf(0),
    op.end,
  ];

  const sums = overRow([
    ...widenQuad(G, gv),
    ...widenQuad(X, xv),
    ...range(4).flatMap((q) => [
      ...weight(q),
      // dxhat = g * w (in gv[q]); sum += dxhat; sumX += (dxhat * (x - mean)) * rstd
      op.localGet(gv[q]), op.localGet(wv), op.f64x2Mul, op.localTee(gv[q]),
      op.localGet(sum), op.f64x2Add, op.localSet(sum), // sum + dxhat = dxhat + sum
      op.localGet(gv[q]), op.localGet(xv[q]), op.localGet(mean), op.f64x2Sub, op.f64x2Mul, op.localGet(rstd), op.f64x2Mul,
      op.localGet(sumX), op.f64x2Add, op.localSet(sumX),
    ]),
  ]);
  // the four (row 2p, row 2p + 1) float64 results in gv, rounded to float32 and stored as four floats of each row
  const storeQuad = [
    op.localGet(gv[0]), op.f32x4DemoteF64x2Zero, op.localGet(gv[1]), op.f32x4DemoteF64x2Zero, op.i8x16Shuffle(f32([0, 1, 4, 5])), op.localSet(lo),
    op.localGet(gv[2]), op.f32x4DemoteF64x2Zero, op.localGet(gv[3]), op.f32x4DemoteF64x2Zero, op.i8x16Shuffle(f32([0, 1, 4, 5])), op.localSet(hi),
    op.localGet(row), op.localGet(j), op.i32Add,
    op.localGet(lo), op.localGet(hi), op.i8x16Shuffle(f32([0, 2, 4, 6])), op.v128Store(DX),
    op.localGet(row), op.localGet(j), op.i32Add, op.localGet(D), op.i32Const(4), op.i32Mul, op.i32Add,
    op.localGet(lo), op.localGet(hi), op.i8x16Shuffle(f32([1, 3, 5, 7])), op.v128Store(DX),
  ];
  const gradients = overRow([
    ...widenQuad(G, gv),
    ...widenQuad(X, xv),
    ...range(4).flatMap((q) => [
      ...weight(q),
      // rstd * (((g * w) - a) - (((x - mean) * rstd) * b))
      op.localGet(rstd),
      op.localGet(gv[q]), op.localGet(wv), op.f64x2Mul, op.localGet(a), op.f64x2Sub,
      op.localGet(xv[q]), op.localGet(mean), op.f64x2Sub, op.localGet(rstd), op.f64x2Mul, op.localGet(b), op.f64x2Mul,
      op.f64x2Sub, op.f64x2Mul, op.localSet(gv[q]),
    ]),
    ...storeQuad,
  ]);

  const body = [
    op.block,
    op.localGet(pairs), op.i32Eqz, op.brIf(0),
    op.localGet(D), op.f64ConvertI32U, op.f64x2Splat, op.localSet(size),
    op.i32Const(0), op.localSet(row),
    op.i32Const(STATS), op.localSet(sp),
    op.loop, // over pairs
    op.localGet(sp), op.v128Load(0), op.localSet(mean),
    op.localGet(sp), op.v128Load(16), op.localSet(rstd),
    op.v128Zero, op.localSet(sum),
    op.v128Zero, op.localSet(sumX),
    ...sums,
    op.localGet(sum), op.localGet(size), op.f64x2Div, op.localSet(a),
    op.localGet(sumX), op.localGet(size), op.f64x2Div, op.localSet(b),
    ...gradients,
    ...increment(row, [op.localGet(D), op.i32Const(8), op.i32Mul]), // two rows on
    ...increment(sp, [op.i32Const(32)]),
    op.localGet(pairs), op.i32Const(1), op.i32Sub, op.localTee(pairs), op.brIf(0),
    op.end,
    op.end,
  ];
  return { name: 'backwardPairs', params: ['i32', 'i32'], locals: [...new Array(4).fill('i32'), ...new Array(18).fill('v128')], body };
}

/** The module's bytes: `backwardPairs` and its memory of fixed regions (W, STATS, G, X, DX). */
export function layerNormBackwardKernelModule(): Uint8Array<ArrayBuffer> {
  return assembleModule([backwardPairsFunction()], PAGES);
}
