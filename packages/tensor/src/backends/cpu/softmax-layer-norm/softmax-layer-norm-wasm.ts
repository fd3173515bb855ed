// Float32 softmax, log-softmax and LayerNorm along the last dim on the WebAssembly SIMD
// kernels (softmax-layer-norm-kernel.ts), for rows that are contiguous along that dim (stride 1).
//
// The kernels read only their own memory (it cannot alias our SharedArrayBuffer storages),
// so the driver walks the rows in blocks of about BLOCK elements (whole rows, at least
// one): it copies each block in with a typed-array `set` (a native memcpy; one per row
// where the rows are not one contiguous run, as in x[:, 0]), runs the kernel on it, and
// copies the result out, while the block is still in the cache. A row's result does not
// depend on where its block starts, so a view of some rows gives the same bits as the
// whole tensor.
// Each thread of the pool has its own instance and memory. Log-softmax takes the log of
// each row's sum here (WebAssembly has no log instruction): one Math.log per row, between
// a kernel that sums and one that subtracts.
// The TypeScript kernels (softmax.ts, layer-norm.ts) are the reference and the fallback.

import type { TypedArray } from '../../../dtype.js';
import { isContiguousLayout } from '../../../shape.js';
import type { LayerNormArgs } from './layer-norm.js';
import { rowOffsets } from '../row-offsets.js';
import type { SoftmaxArgs } from './softmax.js';
import { type WasmMemory, ensureBytes, lazyModule } from '../wasm/instantiate.js';
import { CONSTANT_BYTES, softmaxLayerNormKernelModule } from './softmax-layer-norm-kernel.js';

/** Elements per block (the block in and the block out, 128 KiB, stay in L2; 4096 measured 50% slower on softmax, 32768 no faster). */
const BLOCK = 16384;
/** Where the blocks start, in elements: after the kernels' constants. */
const BASE = Math.ceil(CONSTANT_BYTES / 64) * 16;

interface Kernels {
  softmax(x: number, out: number, n: number, rows: number): void;
  logSoftmaxStats(x: number, n: number, rows: number, stats: number): void;
  subtractRows(x: number, out: number, n: number, rows: number, shift: number): void;
  layerNorm(x: number, out: number, n: number, rows: number, w: number, b: number, mean: number, rstd: number, eps: number): void;
}

/** The module: its kernels, its memory and a view of that memory (replaced when growing detaches the buffer). */
const instance = lazyModule(
  () => softmaxLayerNormKernelModule(1),
  (exports, memory): { kernels: Kernels; memory: WasmMemory; view: Float32Array } => ({ kernels: exports as unknown as Kernels, memory, view: new Float32Array(0) }),
);

/** Whether the SIMD row kernels run here. */
export function wasmSoftmaxLayerNormAvailable(): boolean {
  return instance() !== null;
}

/** Regions (element offsets) for blocks of `rows` rows of n elements, a vector of n and `stats` per row; grows memory. */
function layout(n: number, rows: number, stats: number) {
  // each region ends with room for the partial vector's load past the last row
  const size = (elements: number) => Math.ceil((elements + 4) / 4) * 4;
  const x = BASE;
  const out = x + size(rows * n);
  const s = out + size(rows * n);
  const w = s + size(rows * stats);
  const b = w + size(n);
  const end = b + size(n);
  const m = instance()!;
  ensureBytes(m.memory, end * 4);
  if (m.view.buffer !== m.memory.buffer) m.view = new Float32Array(m.memory.buffer);
  return { x, out, s, w, b, view: m.view };
}

const rowsPerBlock = (n: number) => Math.max(1, Math.floor(BLOCK / Math.max(n, 1)));

/**
 * Copies rows [r, r + rows) of x (n elements each, stride 1) to `view` from element `to`:
 * one copy where all rows are one run from `offset` (starts null), else one per row.
 */
function copyRowsIn(view: Float32Array, to: number, x: TypedArray, offset: number, starts: Float64Array | null, r: number, rows: number, n: number): void {
  if (starts === null) {
    view.set(x.subarray(offset + r * n, offset + (r + rows) * n), to);
    return;
  }
  for (let i = 0; i < rows; i++) view.set(x.subarray(starts[r + i], starts[r + i] + n), to + i * n);
}

/** The start of every row of a tensor whose rows along its last dim are not one contiguous run; else null. */
function rowStarts(shape: readonly number[], strides: readonly number[], offset: number): Float64Array | null {
  return isContiguousLayout(shape, strides) ? null : rowOffsets(shape, strides, offset, shape.length - 1);
}

/**
 * softmaxRows (softmax.ts) for float32 along the last dim, x with stride 1 along it and out
 * laid out contiguously from its offset (the caller checks).
 */
export function softmaxRowsWasm(args: SoftmaxArgs, begin: number, end: number): void {
  const { x, xShape, xStrides, xOffset, out, outOffset, dim, log } = args;
  const n = xShape[dim];
  const total = xShape.reduce((p, d) => p * d, 1) / n;
  const per = rowsPerBlock(n);
  const k = instance()!.kernels;
  const at = layout(n, per, 2);
  const view = at.view;
  const starts = rowStarts(xShape, xStrides, xOffset);
  for (let r = begin; r < Math.min(end, total); r += per) {
    const rows = Math.min(per, Math.min(end, total) - r);
    copyRowsIn(view, at.x, x, xOffset, starts, r, rows, n);
    if (log) {
      k.logSoftmaxStats(at.x * 4, n, rows, at.s * 4);
      for (let i = at.s + 1; i < at.s + 2 * rows; i += 2) view[i] = Math.log(view[i]);
      k.subtractRows(at.x * 4, at.out * 4, n, rows, at.s * 4);
    } else {
      k.softmax(at.x * 4, at.out * 4, n, rows);
    }
    out.set(view.subarray(at.out, at.out + rows * n), outOffset + r * n);
  }
}

/**
 * layerNormRows (layer-norm.ts) for float32, x with stride 1 along its last dim and weight
 * and bias (where given) with stride 1 (the caller checks).
 */
export function layerNormRowsWasm(args: LayerNormArgs, begin: number, end: number): void {
  const { x: { data: x, shape, strides, offset }, weight, bias, eps, out, mean, rstd } = args;
  const n = shape[shape.length - 1];
  const total = shape.reduce((p, d) => p * d, 1) / n;
  const per = rowsPerBlock(n);
  const k = instance()!.kernels;
  const at = layout(n, per, 2);
  const view = at.view;
  const place = (v: typeof weight, region: number, otherwise: number) => {
    if (v === null) view.fill(otherwise, region, region + n);
    else view.set((v.data as TypedArray).subarray(v.offset, v.offset + n), region);
  };
  place(weight, at.w, 1);
  place(bias, at.b, 0);
  const [meanAt, rstdAt] = [at.s, at.s + per];
  const starts = rowStarts(shape, strides, offset);
  for (let r = begin; r < Math.min(end, total); r += per) {
    const rows = Math.min(per, Math.min(end, total) - r);
    copyRowsIn(view, at.x, x, offset, starts, r, rows, n);
    k.layerNorm(at.x * 4, at.out * 4, n, rows, at.w * 4, at.b * 4, meanAt * 4, rstdAt * 4, eps);
    out.set(view.subarray(at.out, at.out + rows * n), r * n);
    mean.set(view.subarray(meanAt, meanAt + rows), r);
    rstd.set(view.subarray(rstdAt, rstdAt + rows), r);
  }
}
