// The float32 chunk sums of sum-chunks.ts on the WebAssembly SIMD kernels of
// sum-chunks-kernel.ts, with the same bits: the driver copies the chunk in with a
// typed-array `set`, the kernel sums whole groups of four, and the driver adds the tail of
// fewer than four elements itself.
//
// Why: V8 ran the TypeScript loops at 2.4-2.8 ns an element inside the DINO step (in part
// because its optimised code was specialised for the double-valued bounds the thread pool
// hands over), where the copy and the SIMD loop take about 0.5.

import { lazyModule } from '../wasm/instantiate.js';
import { CAPACITY, INPUT, SUMS, sumChunksKernelModule } from './sum-chunks-kernel.js';

const kernels = lazyModule(sumChunksKernelModule, (exports, { buffer }) => ({
  sum: exports.sum as (bytes: number) => void,
  sumSquares: exports.sumSquares as (bytes: number) => void,
  input: new Float32Array(buffer, INPUT, CAPACITY),
  sums: new Float64Array(buffer, SUMS, 4),
}));

/** Whether the SIMD chunk sums run here (WebAssembly SIMD). */
export function wasmSumChunksAvailable(): boolean {
  return kernels() !== null;
}

/**
 * sumRun (squares false) or sumFloat32Squares (squares true) of sum-chunks.ts on
 * data[first .. last), at most CAPACITY elements, with the same bits.
 */
export function sumRunWasm(data: Float32Array, first: number, last: number, squares: boolean): number {
  const { sum, sumSquares, input, sums } = kernels()!;
  const n = last - first;
  if (n > CAPACITY) throw new Error(`sumRunWasm: ${n} elements, more than one chunk of ${CAPACITY}`);
  const whole = n & ~3;
  input.set(data.subarray(first, first + whole));
  (squares ? sumSquares : sum)(whole * 4);
  let s0 = sums[0];
  for (let i = first + whole; i < last; i++) s0 += squares ? Math.fround(data[i] * data[i]) : data[i];
  return s0 + sums[1] + (sums[2] + sums[3]);
}
