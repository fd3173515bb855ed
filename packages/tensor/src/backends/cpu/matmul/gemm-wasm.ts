// Matrix multiply on the WebAssembly SIMD128 kernel (gemm-kernel.ts): C = A * B.
//
// The kernel reads only its own linear memory, so this driver packs the operands into
// it, in the layout the kernel expects (pack.ts), and builds C there tile by tile:
//   1. all of B (K x N) once, in panels of NR columns, each panel k-major;
//   2. per MC rows of A: that row block (MC x K), in panels of MR rows, each k-major;
//   3. per NC columns (all of them, up to WHOLE_ROWS): the kernel writes A B for the first
//      KC slice of k into an MC x NC tile and adds each further slice to it (the MR x KC
//      slice of A and the KC x NR slice of B it streams stay in L1 and L2; the MC x KC
//      block of A in L2), a bias (where given) is added to its rows, and the tile is copied out to C: in one copy where the tile
//      spans whole rows of C (its padding columns squeezed out first, in the module), else
//      row by row (a typed-array `set` for long rows, a loop for short ones).
// Packing runs in the module too (pack-kernel.ts): an operand is first copied in
// whole, with one memcpy of the span of memory it covers, then packed there. Where that
// span is mostly elements the product does not read (a narrow slice of a wide matrix,
// such as one attention head's q, k or v in the qkv projection), its unit-stride runs
// (rows, or columns) are copied in one by one instead, side by side; only an operand
// with no unit stride is packed by TypeScript (pack.ts) where it lies.
// Packing absorbs the operands' strides and pads the edges with zeros, so transposed and
// sliced inputs cost little extra and the kernel never sees a partial tile.
// The accumulation is in the operands' precision (float32 stays float32), with a fused
// multiply-add where the caller asks for one and the engine has relaxed SIMD.
// The row range [rowBegin, rowEnd) lets a thread pool split C by rows; each row's
// arithmetic does not depend on the split, so neither does the result.
// A batch of small items (attention's products for each image and head) can instead run in
// one pass, gemmItemsWasm at the end of this file: the operands of all the items copied in
// at once, each item packed and multiplied as here, the outputs copied out at once.

import type { TypedArray } from '../../../dtype.js';
import { type GemmProblem, emptyGemm } from './gemm.js';
import { packPanels } from './pack.js';
import { copyRun } from '../elementwise/copy-runs.js';
import { KERNEL_SHAPE, type KernelDType, gemmKernelModule } from './gemm-kernel.js';
import { type WasmMemory, ensureBytes, instantiate } from '../wasm/instantiate.js';

const KC = 256;
const MC = 96; // a multiple of every kernel's MR
const NC = 512;
/**
 * Up to this many columns (padded to NR), one tile spans all of them, so a row-split tile
 * is whole rows of C and leaves in one copy. At 2080x192 @ 192x576 on one thread that
 * took the copy-out from 0.74 to 0.21 ms of 10.8 (the KC x 768 slice of B the kernel
 * streams is then up to 768 KiB in float32, still within a 1 MiB L2).
 */
const WHOLE_ROWS = 768;
/**
 * An operand is copied into the module in one memcpy when the memory it spans holds at
 * most this many times the elements the product reads, else run by run (stagingOf). A
 * thread's half of the columns of a row-major 2048 x 2048 B spans twice what it reads: at 2
 * (the whole 16 MiB span copied by each thread) 64 x 2048 by it took 9.95-10.9 ms on two
 * threads, run by run (8 MiB each) 9.0-9.6 ms.
 */
const STAGE_SPREAD = 1.5;
/**
 * Runs at least this long move with a typed-array `set` (a memcpy), shorter ones by a loop,
 * which costs less than `set`'s fixed overhead: MEMCPY_ROW for the rows of a tile copied out
 * to C, STAGE_MEMCPY_RUN for an operand's runs copied in (stagingOf). Each was measured on
 * its own side, one thread, attention's products on [48, 3, 17, 64] and [16, 3, 65, 64]
 * views: staging 64-element runs by `set` took 1.35 instead of 2.0 ms for q k^T, while
 * copying out 17- to 65-element rows by `set` gained nothing (0.88-0.92 and 1.36-1.50 ms
 * against 0.85-0.87 and 1.32-1.36 with the loop).
 */
const MEMCPY_ROW = 256;
const STAGE_MEMCPY_RUN = 32;

type Pack = (src: number, lineStride: number, kStride: number, count: number, K: number, dst: number) => void;

interface Kernel {
  readonly run: (mc: number, nc: number, kc: number, a: number, aPanelStride: number, b: number, bPanelStride: number, c: number, ldc: number, accumulate: number) => void;
  readonly packA: Pack;
  readonly packB: Pack;
  readonly compactRows: (src: number, srcStride: number, dst: number, dstStride: number, rows: number, rowBytes: number) => void;
  readonly addRow: (tile: number, tileStride: number, row: number, rows: number, rowBytes: number) => void;
  readonly memory: WasmMemory;
  readonly mr: number;
  readonly nr: number;
  /** Whether the kernel accumulates with relaxed SIMD's multiply-add. */
  readonly fma: boolean;
  /** A view of `memory`, replaced when growing detaches its buffer. */
  view: Float32Array | Float64Array;
}

const kernels = new Map<string, Kernel | null>();

/**
 * The compiled kernel for `dtype`, with relaxed SIMD's multiply-add where `fma` is set and
 * the engine has relaxed SIMD (else the plain one), or null where WebAssembly SIMD is unavailable.
 */
function kernelFor(dtype: KernelDType, fma: boolean): Kernel | null {
  const key = `${dtype}${fma ? ' fma' : ''}`;
  let kernel = kernels.get(key);
  if (kernel === undefined) {
    kernel = (fma ? compileFused(dtype) : null) ?? compile(dtype, false);
    kernels.set(key, kernel);
  }
  return kernel;
}

/** The kernel with relaxed SIMD's multiply-add, turning relaxed SIMD on first where Node needs a flag for it; null where the engine has none. */
function compileFused(dtype: KernelDType): Kernel | null {
  return compile(dtype, true) ?? (enableRelaxedSimdInNode() ? compile(dtype, true) : null);
}

/**
 * Node 20 (V8 11.3) has relaxed SIMD behind --experimental-wasm-relaxed-simd, which V8
 * reads when it validates a module, so setting it at run time (for the whole process, its
 * worker threads included) is enough; Node 22 and Chrome 114 ship it on. Returns whether a
 * flag was set: false outside Node.
 */
function enableRelaxedSimdInNode(): boolean {
  const getBuiltin = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule;
  if (typeof getBuiltin !== 'function') return false;
  (getBuiltin('node:v8') as { setFlagsFromString(flags: string): void }).setFlagsFromString('--experimental-wasm-relaxed-simd');
  return true;
}

function compile(dtype: KernelDType, fma: boolean): Kernel | null {
  const exports = instantiate(gemmKernelModule(dtype, 1, fma));
  if (exports === null) return null;
  const { gemm, ...rest } = exports as Pick<Kernel, 'packA' | 'packB' | 'compactRows' | 'addRow' | 'memory'> & { gemm: Kernel['run'] };
  const { mr, nr } = KERNEL_SHAPE[dtype];
  return { run: gemm, ...rest, mr, nr, fma, view: viewOf(dtype, rest.memory) };
}

const viewOf = (dtype: KernelDType, memory: WasmMemory) => (dtype === 'float32' ? new Float32Array(memory.buffer) : new Float64Array(memory.buffer));

/** Whether matrices of `dtype` can use the WebAssembly SIMD kernel here. */
export function wasmGemmAvailable(dtype: string): boolean {
  return (dtype === 'float32' || dtype === 'float64') && kernelFor(dtype, false) !== null;
}

/**
 * Whether the engine runs relaxed SIMD, so that the kernel can use its fused multiply-add
 * (Chrome 114+, Node 22+; Node 20 with --experimental-wasm-relaxed-simd).
 */
export function relaxedSimdAvailable(): boolean {
  return kernelFor('float32', true)?.fma === true;
}

const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

/** The stretch of a strided view's data that `lines` lines of K elements cover, lowest element first. */
function spanOf(offset: number, lineStride: number, kStride: number, lines: number, K: number): { first: number; length: number } {
  const toLastLine = (lines - 1) * lineStride;
  const toLastK = (K - 1) * kStride;
  const first = offset + Math.min(toLastLine, 0) + Math.min(toLastK, 0);
  const last = offset + Math.max(toLastLine, 0) + Math.max(toLastK, 0);
  return { first, length: last + 1 - first };
}

/** Where an operand's (line 0, k 0) and strides are once it is copied into the module. */
interface Staged {
  readonly origin: number;
  readonly lineStride: number;
  readonly kStride: number;
}

/** How an operand (`lines` lines of K elements) is copied into the module to be packed there. */
interface Staging {
  /** Elements it takes in the module. */
  readonly length: number;
  /** Copies it to mem[stage ...]. */
  readonly copy: (mem: Float32Array | Float64Array, stage: number) => Staged;
}

/**
 * The span in one memcpy when it is mostly elements the product reads; else, when lines or
 * k-slices are unit-stride runs, those runs side by side; else null (packed where it lies).
 */
function stagingOf(src: TypedArray, offset: number, lineStride: number, kStride: number, lines: number, K: number): Staging | null {
  const span = spanOf(offset, lineStride, kStride, lines, K);
  if (span.length <= STAGE_SPREAD * lines * K) {
    const copy = (mem: Float32Array | Float64Array, stage: number) => {
      mem.set(src.subarray(span.first, span.first + span.length), stage);
      return { origin: stage + offset - span.first, lineStride, kStride };
    };
    return { length: span.length, copy };
  }
  if (kStride !== 1 && lineStride !== 1) return null;
  // runs of `run` elements, `count` of them, `stride` apart in src
  const [run, count, stride] = kStride === 1 ? [K, lines, lineStride] : [lines, K, kStride];
  const copy = (mem: Float32Array | Float64Array, stage: number) => {
    for (let r = 0; r < count; r++) copyRun(src, offset + r * stride, mem, stage + r * run, run, STAGE_MEMCPY_RUN);
    return kStride === 1 ? { origin: stage, lineStride: K, kStride: 1 } : { origin: stage, lineStride: 1, kStride: lines };
  };
  return { length: run * count, copy };
}

/** The bias's N values at mem[at ...], then zeros up to nPadded: the row the kernel's addRow adds to each row of a tile. */
function stageBias(mem: Float32Array | Float64Array, at: number, bias: NonNullable<GemmProblem['bias']>, N: number, nPadded: number): void {
  for (let j = 0; j < N; j++) mem[at + j] = bias.data[bias.offset + j * bias.stride];
  mem.fill(0, at + N, at + nPadded);
}

/**
 * The product `p` (see GemmProblem) on the WebAssembly SIMD kernel, for float32 or float64
 * data. With `fma`, each multiply-add rounds once where the engine and the hardware allow
 * (relaxedSimdAvailable), else twice.
 */
export function gemmWasm({ dtype, fma }: { dtype: KernelDType; fma: boolean }, p: GemmProblem): void {
  const kernel = kernelFor(dtype, fma);
  if (kernel === null) throw new Error('matmul: WebAssembly SIMD is not available');
  if (emptyGemm(p)) return;
  const { M, N, K, a, b, c, cOffset, ldc, rowBegin = 0, rowEnd = M, bias } = p;
  const { mr, nr } = kernel;
  const bytes = dtype === 'float32' ? 4 : 8;
  const nPadded = roundUp(N, nr);
  const tileWidth = nPadded <= WHOLE_ROWS ? nPadded : NC;
  const blockRows = Math.min(MC, roundUp(rowEnd - rowBegin, mr));
  const aFirstRow = a.offset + rowBegin * a.rowStride;
  const aStaging = stagingOf(a.data, aFirstRow, a.rowStride, a.colStride, rowEnd - rowBegin, K);
  const bStaging = stagingOf(b.data, b.offset, b.colStride, b.rowStride, N, K);
  // Memory layout, in elements: packed B, the packed row block of A, the C tile, the bias
  // (padded with zeros to nPadded, where given), then the staged operand (B until it is
  // packed, then A).
  const aStart = nPadded * K;
  const cStart = aStart + blockRows * K;
  const biasStart = cStart + blockRows * tileWidth;
  const stage = biasStart + (bias ? nPadded : 0);
  const needed = (stage + Math.max(aStaging?.length ?? 0, bStaging?.length ?? 0)) * bytes;
  ensureBytes(kernel.memory, needed);
  if (kernel.view.buffer !== kernel.memory.buffer) kernel.view = viewOf(dtype, kernel.memory);
  const mem = kernel.view;

  if (bias) stageBias(mem, biasStart, bias, N, nPadded);
  if (bStaging !== null) {
    const { origin, lineStride, kStride } = bStaging.copy(mem, stage);
    kernel.packB(origin * bytes, lineStride * bytes, kStride * bytes, N, K, 0);
  } else {
    packPanels(b.data, b.offset, b.colStride, b.rowStride, N, K, nr, mem, 0);
  }
  const aStaged = aStaging?.copy(mem, stage);
  for (let ic = rowBegin; ic < rowEnd; ic += MC) {
    const rows = Math.min(MC, rowEnd - ic);
    const rowsPadded = roundUp(rows, mr);
    if (aStaged) kernel.packA((aStaged.origin + (ic - rowBegin) * aStaged.lineStride) * bytes, aStaged.lineStride * bytes, aStaged.kStride * bytes, rows, K, aStart * bytes);
    else packPanels(a.data, a.offset + ic * a.rowStride, a.rowStride, a.colStride, rows, K, mr, mem, aStart);
    for (let jc = 0; jc < N; jc += tileWidth) {
      const cols = Math.min(tileWidth, N - jc);
      const colsPadded = roundUp(cols, nr);
      for (let pc = 0; pc < K; pc += KC) {
        kernel.run(
          rowsPadded, colsPadded, Math.min(KC, K - pc),
          (aStart + pc * mr) * bytes, K * mr * bytes,
          (jc * K + pc * nr) * bytes, K * nr * bytes,
          cStart * bytes, colsPadded * bytes,
          pc === 0 ? 0 : 1,
        );
      }
      if (bias) kernel.addRow(cStart * bytes, colsPadded * bytes, (biasStart + jc) * bytes, rows, colsPadded * bytes);
      if (cols === ldc) {
        // The tile spans whole rows of C: squeeze out its padding columns, then one copy.
        if (cols !== colsPadded) kernel.compactRows(cStart * bytes, colsPadded * bytes, cStart * bytes, cols * bytes, rows, cols * bytes);
        c.set(mem.subarray(cStart, cStart + rows * cols), cOffset + ic * ldc);
        continue;
      }
      for (let i = 0; i < rows; i++) {
        const src = cStart + i * colsPadded;
        const dst = cOffset + (ic + i) * ldc + jc;
        copyRun(mem, src, c, dst, cols, MEMCPY_ROW);
      }
    }
  }
}

/**
 * A batch's operands may be copied in whole for gemmItemsWasm while the memory they span is
 * at most this many times the elements the products read: attention's v, one head of three
 * in a qkv projection whose rows also hold q and k, spans 3x what it reads.
 */
const ITEMS_SPREAD = 4;

/** Items of a batch that each fit one tile (gemmItemsWasm): their own matrices, where each starts. */
export interface GemmItems {
  readonly M: number;
  readonly N: number;
  readonly K: number;
  readonly a: ItemOperand;
  readonly b: ItemOperand;
  readonly c: TypedArray;
  readonly ldc: number;
  /** Where each item's C starts. */
  readonly cOffsets: readonly number[];
  readonly bias: GemmProblem['bias'];
}

/** An operand of every item: element (r, c) of item i at data[offsets[i] + r*rowStride + c*colStride]. */
export interface ItemOperand {
  readonly data: TypedArray;
  readonly offsets: readonly number[];
  readonly rowStride: number;
  readonly colStride: number;
}

/** The stretch of data that every item's `lines` lines of K elements cover together. */
function unionSpan(offsets: readonly number[], lineStride: number, kStride: number, lines: number, K: number): { first: number; last: number } {
  let first = Infinity;
  let last = -Infinity;
  for (const offset of offsets) {
    const span = spanOf(offset, lineStride, kStride, lines, K);
    first = Math.min(first, span.first);
    last = Math.max(last, span.first + span.length - 1);
  }
  return { first, last };
}

/**
 * Whole products of many small items (attention's q k^T and P v for each image and head),
 * each within one tile: M <= MC, K <= KC and N padded <= WHOLE_ROWS. Instead of gemmWasm's
 * copies per item (for q k^T with 17 tokens, 34 runs of 64 elements each: a third of the
 * time), the memory that all the items' A and B span is copied in once (once in all where
 * they lie in the same array, as q and k do in the qkv projection), and, where the items'
 * outputs are one contiguous stretch, their tiles are gathered in the module and copied
 * out once. Each item is packed, multiplied and biased as gemmWasm does it, so the bits are
 * the same. Returns false, having done nothing, where the items do not fit or their operands
 * are spread too thinly over memory (ITEMS_SPREAD); the caller then runs them one by one.
 */
export function gemmItemsWasm({ dtype, fma }: { dtype: KernelDType; fma: boolean }, p: GemmItems): boolean {
  const kernel = kernelFor(dtype, fma);
  const { M, N, K, a, b, c, ldc, cOffsets, bias } = p;
  const items = cOffsets.length;
  if (kernel === null || items === 0 || M === 0 || N === 0 || K === 0) return false;
  const { mr, nr } = kernel;
  const nPadded = roundUp(N, nr);
  const mPadded = roundUp(M, mr);
  if (K > KC || M > MC || nPadded > WHOLE_ROWS) return false;
  const aSpan = unionSpan(a.offsets, a.rowStride, a.colStride, M, K);
  const bSpan = unionSpan(b.offsets, b.colStride, b.rowStride, N, K);
  const length = (s: { first: number; last: number }) => s.last + 1 - s.first;
  // one region where A and B share an array and their spans overlap or nearly touch
  const shared = a.data === b.data && Math.max(aSpan.last, bSpan.last) + 1 - Math.min(aSpan.first, bSpan.first) <= length(aSpan) + length(bSpan);
  const regions = shared
    ? [{ first: Math.min(aSpan.first, bSpan.first), last: Math.max(aSpan.last, bSpan.last) }]
    : [aSpan, bSpan];
  const staged = regions.reduce((n, r) => n + length(r), 0);
  if (staged > ITEMS_SPREAD * items * (M + N) * K) return false;
  const outContiguous = ldc === N && cOffsets.every((o, i) => o === cOffsets[0] + i * M * N);

  // Memory layout, in elements: packed B, packed A, the C tile, the bias (padded to
  // nPadded), the items' outputs side by side (where gathered), then the staged regions.
  const bytes = dtype === 'float32' ? 4 : 8;
  const aStart = nPadded * K;
  const cStart = aStart + mPadded * K;
  const biasStart = cStart + mPadded * nPadded;
  const outStart = biasStart + (bias ? nPadded : 0);
  const stageStart = outStart + (outContiguous ? items * M * N : 0);
  ensureBytes(kernel.memory, (stageStart + staged) * bytes);
  if (kernel.view.buffer !== kernel.memory.buffer) kernel.view = viewOf(dtype, kernel.memory);
  const mem = kernel.view;

  if (bias) stageBias(mem, biasStart, bias, N, nPadded);
  // where element e of a's (b's) array lies in the module
  let at = stageStart;
  const origins = regions.map((r, i) => {
    const data = i === 0 ? a.data : b.data;
    mem.set(data.subarray(r.first, r.last + 1), at);
    const origin = at - r.first;
    at += length(r);
    return origin;
  });
  const [aOrigin, bOrigin] = [origins[0], origins[shared ? 0 : 1]];
  for (let i = 0; i < items; i++) {
    kernel.packB((bOrigin + b.offsets[i]) * bytes, b.colStride * bytes, b.rowStride * bytes, N, K, 0);
    kernel.packA((aOrigin + a.offsets[i]) * bytes, a.rowStride * bytes, a.colStride * bytes, M, K, aStart * bytes);
    kernel.run(mPadded, nPadded, K, aStart * bytes, K * mr * bytes, 0, K * nr * bytes, cStart * bytes, nPadded * bytes, 0);
    if (bias) kernel.addRow(cStart * bytes, nPadded * bytes, biasStart * bytes, M, nPadded * bytes);
    if (outContiguous) kernel.compactRows(cStart * bytes, nPadded * bytes, (outStart + i * M * N) * bytes, N * bytes, M, N * bytes);
    else for (let r = 0; r < M; r++) copyRun(mem, cStart + r * nPadded, c, cOffsets[i] + r * ldc, N, MEMCPY_ROW);
  }
  if (outContiguous) c.set(mem.subarray(outStart, outStart + items * M * N), cOffsets[0]);
  return true;
}
