// The float32 column sums of column-sums.ts on the WebAssembly SIMD kernel of
// column-sums-kernel.ts, with the same bits: the driver copies rows of the thread's columns
// into the module, in batches that fit its input region, and the float64 running sums carry
// from batch to batch.

import { lazyModule } from '../wasm/instantiate.js';
import type { ColumnSumsArgs } from './column-sums.js';
import { copyRun } from './copy-runs.js';
import { ACC, BLOCK, CAPACITY, GROUP, INPUT, columnSumsKernelModule } from './column-sums-kernel.js';

/**
 * A thread's columns are copied in with the rest of their rows while the rows are at most
 * this many times as long: one memcpy instead of one per row. [1040, 192] (a bias gradient
 * of the DINO step's attention projection) on one thread: 0.076 instead of 0.135 ms a call.
 */
const STAGE_SPREAD = 2;
/** Rows shorter than this are copied in by a loop rather than a typed-array `set` (as gemm-wasm.ts's STAGE_MEMCPY_RUN). */
const MEMCPY_RUN = 32;

const kernel = lazyModule(columnSumsKernelModule, (exports, { buffer }) => ({
  columnSums8: exports.columnSums8 as (rows: number, rowBytes: number, blocks: number) => void,
  input: new Float32Array(buffer, INPUT, CAPACITY),
  acc: new Float64Array(buffer, ACC, GROUP),
}));

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
      else for (let i = 0; i < count; i++) copyRun(data, from + i * rowStride, input, i * width, width, MEMCPY_RUN);
      columnSums8(count, stride * 4, width / BLOCK);
    }
    acc.set(sums.subarray(0, width), g);
  }
}
