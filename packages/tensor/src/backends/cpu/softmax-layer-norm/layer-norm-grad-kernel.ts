// The WebAssembly SIMD128 kernel of LayerNorm's weight and bias gradients in float32
// (layer-norm-grad-wasm.ts drives it), written out instruction by instruction:
//
//   paramGrad4(rows, rowBytes, blocks):  for each block b of 4 columns of g and x (rows x
//     4 blocks at G and X, rows rowBytes apart), with mean_r and rstd_r the float64 pair at
//     STATS + 16 r:
//       dweight[j] += g[r, j] * ((x[r, j] - mean_r) * rstd_r),  dbias[j] += g[r, j]
//     for r in order, dweight and dbias the float64 running sums at DWEIGHT and DBIAS
//
// A block's 4 + 4 running sums stay in four f64x2 registers while the kernel walks down the
// rows; g's and x's lanes are widened exactly to float64 (the upper pair moved low by a
// shuffle first), and every operation is the float64 one layerNormParamGradColumns
// (layer-norm.ts) does in the same order, so the sums have its bits.

import { type FunctionDef, assembleModule, loopWhileBelow, op, promoteHighF32x4 } from '../wasm/assembler.js';

/** Columns per block (PARAM_GRAD_BLOCK of layer-norm.ts). */
export const BLOCK = 4;
/** Columns per group: the most running sums the module holds. */
export const GROUP = 1024;
/** Rows per batch at most (the statistics region). */
export const MAX_ROWS = 4096;
/** Float32 elements of each of the G and X regions. */
export const CAPACITY = 1 << 16;
/** Byte addresses of the regions. */
export const DWEIGHT = 0;
export const DBIAS = GROUP * 8;
export const STATS = 2 * GROUP * 8;
export const G = STATS + MAX_ROWS * 16;
export const X = G + CAPACITY * 4;

function paramGradFunction(): FunctionDef {
  const [rows, rowBytes, blocks, b, r, at, stat, w0, w1, b0, b1, g0, g1, xhat, mu, rs] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
  const blockSums = (base: number) => [op.localGet(b), op.i32Const(5), op.i32Shl, op.v128Load(base)];
  const storeSums = (base: number, sum: number) => [op.localGet(b), op.i32Const(5), op.i32Shl, op.localGet(sum), op.v128Store(base)];
  // lanes 0, 1 (or 2, 3) of the f32x4 at `region` + at, widened to float64, into `into`
  const widen = (region: number, high: boolean, into: number) => [
    op.localGet(at), op.v128Load(region), ...(high ? [op.localSet(into), ...promoteHighF32x4(into)] : [op.f64x2PromoteLowF32x4]), op.localSet(into),
  ];
  // w += g * ((x - mean) * rstd); bias += g, for the pair of columns `high`
  const accumulate = (high: boolean, g: number, w: number, bias: number) => [
    ...widen(G, high, g),
    ...widen(X, high, xhat),
    op.localGet(xhat), op.localGet(mu), op.f64x2Sub, op.localGet(rs), op.f64x2Mul, op.localGet(g), op.f64x2Mul,
    op.localGet(w), op.f64x2Add, op.localSet(w),
    op.localGet(bias), op.localGet(g), op.f64x2Add, op.localSet(bias),
  ];
  return {
    name: 'paramGrad4',
    params: ['i32', 'i32', 'i32'],
    locals: ['i32', 'i32', 'i32', 'i32', ...new Array(9).fill('v128')],
    body: [
      op.i32Const(0), op.localSet(b),
      op.block,
      op.localGet(blocks), op.i32Eqz, op.brIf(0),
      op.localGet(rows), op.i32Eqz, op.brIf(0),
      op.loop, // over blocks
      ...blockSums(DWEIGHT), op.localSet(w0), ...blockSums(DWEIGHT + 16), op.localSet(w1),
      ...blockSums(DBIAS), op.localSet(b0), ...blockSums(DBIAS + 16), op.localSet(b1),
      op.localGet(b), op.i32Const(4), op.i32Shl, op.localSet(at),
      op.i32Const(0), op.localSet(r),
      op.i32Const(STATS), op.localSet(stat),
      op.loop, // down the rows
      op.localGet(stat), op.v128Load64Splat(0), op.localSet(mu),
      op.localGet(stat), op.v128Load64Splat(8), op.localSet(rs),
      ...accumulate(false, g0, w0, b0),
      ...accumulate(true, g1, w1, b1),
      op.localGet(at), op.localGet(rowBytes), op.i32Add, op.localSet(at),
      op.localGet(stat), op.i32Const(16), op.i32Add, op.localSet(stat),
      ...loopWhileBelow(r, 1, rows),
      ...storeSums(DWEIGHT, w0), ...storeSums(DWEIGHT + 16, w1), ...storeSums(DBIAS, b0), ...storeSums(DBIAS + 16, b1),
      ...loopWhileBelow(b, 1, blocks),
      op.end,
    ],
  };
}

/** The module's bytes: the exported function `paramGrad4` and an exported `memory` that holds the sums, the statistics and the G and X regions. */
export function layerNormGradKernelModule(): Uint8Array<ArrayBuffer> {
  return assembleModule([paramGradFunction()], Math.ceil((X + CAPACITY * 4) / 65536));
}
