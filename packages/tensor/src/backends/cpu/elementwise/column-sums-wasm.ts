// The float32 column sums of column-sums.ts on WebAssembly SIMD, with the same bits:
//
//   columnSums8(rows, rowBytes, blocks):  for each block b of 8 columns of the matrix at
//     INPUT (rows x 8 blocks, rows rowBytes apart), acc[8b .. 8b + 8) += the column sums
//
// Each block's 8 float64 running sums stay in four f64x2 registers while the kernel walks
// down the rows: a row's 8 values are two f32x4 loads, whose lanes are widened exactly to
// float64 (f64x2.promote_low_f32x4, the upper pair first moved low by a shuffle) and added,
// so every column still takes its terms one by one in row order, in float64, as the
// TypeScript loop does. The driver copies rows of the thread's columns in, in batches that
// fit the module's input region, and the running sums (ACC) carry from batch to batch.

import { type FunctionDef, assembleModule, op } from '../wasm/assembler.js';
import { type WasmMemory, instantiate } from '../wasm/instantiate.js';
import type { ColumnSumsArgs } from './column-sums.js';

/** Columns per block of the kernel (COLUMN_BLOCK of column-sums.ts). */
const BLOCK = 8;
/** Columns per group: the width of the rows copied in at a time. */
const GROUP = 1024;
/** Float32 elements of the input region (256 KiB, within L2 with the sums). */
const CAPACITY = 1 << 16;
/** Byte addresses: the float64 running sums of a group, then the input region. */
const ACC = 0;
const INPUT = GROUP * 8;
/**
 * A thread's columns are copied in with the rest of their rows while the rows are at most
 * this many times as long: one memcpy instead of one per row. [1040, 192] (a bias gradient
 * of the DINO step's attention projection) on one thread: 0.076 instead of 0.135 ms a call.
 */
const STAGE_SPREAD = 2;
/** Rows shorter than this are copied in by a loop rather than a typed-array `set` (as gemm-wasm.ts's STAGE_MEMCPY_RUN). */
const MEMCPY_RUN = 32;

function columnSumsFunction(): FunctionDef {
  const [rows, rowBytes, blocks, b, r, at, s0, s1, s2, s3, v] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const upperHalf = op.i8x16Shuffle([8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7]);
  const accAt = (offset: number) => [op.localGet(b), op.i32Const(6), op.i32Shl, op.v128Load(ACC + offset)];
  const storeAcc = (offset: number, sum: number) => [op.localGet(b), op.i32Const(6), op.i32Shl, op.localGet(sum), op.v128Store(ACC + offset)];
  // sum += lanes 0, 1 of v (low) or 2, 3 (high) widened to float64
  const addLanes = (sum: number, high: boolean) => [
    op.localGet(v), ...(high ? [op.localGet(v), upperHalf] : []), op.f64x2PromoteLowF32x4, op.localGet(sum), op.f64x2Add, op.localSet(sum),
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
      op.localGet(r), op.i32Const(1), op.i32Add, op.localTee(r),
      op.localGet(rows), op.i32LtU, op.brIf(0),
      op.end,
      ...storeAcc(0, s0), ...storeAcc(16, s1), ...storeAcc(32, s2), ...storeAcc(48, s3),
      op.localGet(b), op.i32Const(1), op.i32Add, op.localTee(b),
      op.localGet(blocks), op.i32LtU, op.brIf(0),
      op.end,
      op.end,
    ],
  };
}

let module: { columnSums8: (rows: number, rowBytes: number, blocks: number) => void; input: Float32Array; acc: Float64Array } | null | undefined;

function kernel(): typeof module {
  if (module === undefined) {
    const exports = instantiate(assembleModule([columnSumsFunction()], Math.ceil((INPUT + CAPACITY * 4) / 65536)));
    if (exports === null) module = null;
    else {
      const buffer = (exports.memory as WasmMemory).buffer;
      module = {
        columnSums8: exports.columnSums8 as (rows: number, rowBytes: number, blocks: number) => void,
        input: new Float32Array(buffer, INPUT, CAPACITY),
        acc: new Float64Array(buffer, ACC, GROUP),
      };
    }
  }
  return module;
}

/** Whether the SIMD column sums run here (WebAssembly SIMD). */
export function wasmColumnSumsAvailable(): boolean {
  return kernel() !== null;
}

/**
 * acc[j] += sum_i x[i, j] for the float32 columns [first, first + 8 * blocks): whole blocks of
 * 8 columns, with the bits of columnSums (column-sums.ts).
 */
export function columnSumsWasm({ x, offset, rowStride, rows, acc }: ColumnSumsArgs, first: number, blocks: number): void {
  const { columnSums8, input, acc: sums } = kernel()!;
  const data = x as Float32Array;
  for (let g = first; g < first + blocks * BLOCK; g += GROUP) {
    const width = Math.min(GROUP, first + blocks * BLOCK - g);
    // rows copied as they lie (one memcpy of the span, other columns included) where they
    // are at most STAGE_SPREAD times the columns summed, else the columns' runs side by side
    const span = rowStride > 0 && rowStride <= STAGE_SPREAD * width;
    const stride = span ? rowStride : width;
    const batch = Math.floor(CAPACITY / stride);
    sums.set(acc.subarray(g, g + width));
    for (let r0 = 0; r0 < rows; r0 += batch) {
      const count = Math.min(batch, rows - r0);
      const from = offset + r0 * rowStride + g;
      if (span) input.set(data.subarray(from, from + (count - 1) * rowStride + width));
      else if (width >= MEMCPY_RUN) for (let i = 0; i < count; i++) input.set(data.subarray(from + i * rowStride, from + i * rowStride + width), i * width);
      else for (let i = 0; i < count; i++) for (let j = 0; j < width; j++) input[i * width + j] = data[from + i * rowStride + j];
      columnSums8(count, stride * 4, width / BLOCK);
    }
    acc.set(sums.subarray(0, width), g);
  }
}
