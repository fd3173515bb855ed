// The WebAssembly SIMD128 kernel of the float32 column sums (column-sums-wasm.ts drives
// it), written out instruction by instruction:
//
//   columnSums8(rows, rowBytes, blocks):  for each block b of 8 columns of the matrix at
//     INPUT (rows x 8 blocks, rows rowBytes apart), acc[8b .. 8b + 8) += the column sums,
//     acc being the float64 running sums at ACC
//
// Each block's 8 float64 running sums stay in four f64x2 registers while the kernel walks
// down the rows: a row's 8 values are two f32x4 loads, whose lanes are widened exactly to
// float64 (f64x2.promote_low_f32x4, the upper pair first moved low by a shuffle) and added,
// so every column still takes its terms one by one in row order, in float64, as the
// TypeScript loop of column-sums.ts does.

import { type FunctionDef, assembleModule, loopWhileBelow, op, promoteHighF32x4 } from '../wasm/assembler.js';

/** Columns per block of the kernel (COLUMN_BLOCK of column-sums.ts). */
export const BLOCK = 8;
/** Columns per group: the most running sums the module holds. */
export const GROUP = 1024;
/** Float32 elements of the input region (256 KiB, within L2 with the sums). */
export const CAPACITY = 1 << 16;
/** Byte addresses: the float64 running sums of a group, then the input region. */
export const ACC = 0;
export const INPUT = GROUP * 8;

function columnSumsFunction(): FunctionDef {
  const [rows, rowBytes, blocks, b, r, at, s0, s1, s2, s3, v] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const accAt = (offset: number) => [op.localGet(b), op.i32Const(6), op.i32Shl, op.v128Load(ACC + offset)];
  const storeAcc = (offset: number, sum: number) => [op.localGet(b), op.i32Const(6), op.i32Shl, op.localGet(sum), op.v128Store(ACC + offset)];
  // sum += lanes 0, 1 of v (low) or 2, 3 (high) widened to float64
  const addLanes = (sum: number, high: boolean) => [
    ...(high ? promoteHighF32x4(v) : [op.localGet(v), op.f64x2PromoteLowF32x4]), op.localGet(sum), op.f64x2Add, op.localSet(sum),
  ];
  return {
    name: 'columnSums8',
    params: ['i32', 'i32', 'i32'],
    locals: ['i32', 'i32', 'i32', 'v128', 'v128', 'v128', 'v128', 'v128'],
    body: [
      op.i32Const(0), op.localSet(b),
      op.block,
      op.localGet(blocks), op.i32Eqz, op.brIf(0),
      op.localGet(rows), op.i32Eqz, op.brIf(0),
      op.loop, // over blocks
      ...accAt(0), op.localSet(s0), ...accAt(16), op.localSet(s1), ...accAt(32), op.localSet(s2), ...accAt(48), op.localSet(s3),
      // at = the block's first column in row 0, in bytes from INPUT
      op.localGet(b), op.i32Const(5), op.i32Shl, op.localSet(at),
      op.i32Const(0), op.localSet(r),
      op.loop, // down the rows
      op.localGet(at), op.v128Load(INPUT), op.localSet(v), ...addLanes(s0, false), ...addLanes(s1, true),
      op.localGet(at), op.v128Load(INPUT + 16), op.localSet(v), ...addLanes(s2, false), ...addLanes(s3, true),
      op.localGet(at), op.localGet(rowBytes), op.i32Add, op.localSet(at),
      ...loopWhileBelow(r, 1, rows),
      ...storeAcc(0, s0), ...storeAcc(16, s1), ...storeAcc(32, s2), ...storeAcc(48, s3),
      ...loopWhileBelow(b, 1, blocks),
      op.end,
    ],
  };
}

/** The module's bytes: the exported function `columnSums8` and an exported `memory` that holds the running sums and the input region. */
export function columnSumsKernelModule(): Uint8Array<ArrayBuffer> {
  return assembleModule([columnSumsFunction()], Math.ceil((INPUT + CAPACITY * 4) / 65536));
}
