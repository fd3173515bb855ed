// Matrix multiply on the WebAssembly SIMD128 kernel (wasm/gemm-kernel.ts): C = A * B.
//
// The kernel reads only its own linear memory, so this driver packs the operands into
// it, in the layout the kernel expects (matmul-pack.ts), and builds C there tile by tile:
//   1. all of B (K x N) once, in panels of NR columns, each panel k-major;
//   2. per MC rows of A: that row block (MC x K), in panels of MR rows, each k-major;
//   3. per NC columns: the kernel writes A B for the first KC slice of k into an MC x NC
//      tile and adds each further slice to it (the MR x KC slice of A and the KC x NR
//      slice of B it streams stay in L1 and L2; the MC x KC block of A in L2), and the
//      tile is copied out to C: in one copy where the tile is whole rows of C, else row
//      by row (a typed-array `set` for long rows, a loop for short ones).
// Packing absorbs the operands' strides
// and pads the edges with zeros, so transposed and sliced inputs cost little extra and
// the kernel never sees a partial tile.
// The accumulation is in the operands' precision (float32 stays float32).
// The row range [rowBegin, rowEnd) lets a thread pool split C by rows; each row's
// arithmetic does not depend on the split, so neither does the result.

import type { TypedArray } from '../../dtype.js';
import type { MatrixView } from './matmul.js';
import { packPanels } from './matmul-pack.js';
import { KERNEL_SHAPE, type KernelDType, gemmKernelModule } from './wasm/gemm-kernel.js';
import { type WasmMemory, ensureBytes, instantiate } from './wasm/instantiate.js';

const KC = 256;
const MC = 96; // a multiple of every kernel's MR
const NC = 512;
/** Tile rows at least this long are copied out with a typed-array `set` (memcpy); shorter ones by a loop, which costs less than `set`'s fixed overhead. */
const MEMCPY_ROW = 256;

interface Kernel {
  readonly run: (mc: number, nc: number, kc: number, a: number, aPanelStride: number, b: number, bPanelStride: number, c: number, ldc: number, accumulate: number) => void;
  readonly memory: WasmMemory;
  readonly mr: number;
  readonly nr: number;
  /** A view of `memory`, replaced when growing detaches its buffer. */
  view: Float32Array | Float64Array;
}

const kernels = new Map<KernelDType, Kernel | null>();

/** The compiled kernel for `dtype`, or null where WebAssembly SIMD is unavailable. */
function kernelFor(dtype: KernelDType): Kernel | null {
  let kernel = kernels.get(dtype);
  if (kernel === undefined) {
    kernel = compile(dtype);
    kernels.set(dtype, kernel);
  }
  return kernel;
}

function compile(dtype: KernelDType): Kernel | null {
  const exports = instantiate(gemmKernelModule(dtype, 1));
  if (exports === null) return null;
  const { gemm, memory } = exports as { gemm: Kernel['run']; memory: WasmMemory };
  const { mr, nr } = KERNEL_SHAPE[dtype];
  return { run: gemm, memory, mr, nr, view: viewOf(dtype, memory) };
}

const viewOf = (dtype: KernelDType, memory: WasmMemory) => (dtype === 'float32' ? new Float32Array(memory.buffer) : new Float64Array(memory.buffer));

/** Whether matrices of `dtype` can use the WebAssembly SIMD kernel here. */
export function wasmGemmAvailable(dtype: string): boolean {
  return (dtype === 'float32' || dtype === 'float64') && kernelFor(dtype) !== null;
}

const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

/** C[rowBegin:rowEnd, :] = A[rowBegin:rowEnd, :K] * B[:K, :N] for float32 or float64 data; C row-major with leading dimension ldc. */
export function gemmWasm(
  dtype: KernelDType,
  M: number,
  N: number,
  K: number,
  a: MatrixView,
  b: MatrixView,
  c: TypedArray,
  cOffset: number,
  ldc: number,
  rowBegin = 0,
  rowEnd = M,
): void {
  const kernel = kernelFor(dtype);
  if (kernel === null) throw new Error('matmul: WebAssembly SIMD is not available');
  if (rowEnd <= rowBegin || N === 0) return;
  if (K === 0) {
    for (let i = rowBegin; i < rowEnd; i++) c.fill(0, cOffset + i * ldc, cOffset + i * ldc + N);
    return;
  }
  const { mr, nr } = kernel;
  const bytes = dtype === 'float32' ? 4 : 8;
  const nPadded = roundUp(N, nr);
  const tileWidth = Math.min(NC, nPadded);
  const blockRows = Math.min(MC, roundUp(rowEnd - rowBegin, mr));
  // Memory layout, in elements: packed B, then the packed row block of A, then the C tile.
  const aStart = nPadded * K;
  const cStart = aStart + blockRows * K;
  const needed = (cStart + blockRows * tileWidth) * bytes;
  ensureBytes(kernel.memory, needed);
  if (kernel.view.buffer !== kernel.memory.buffer) kernel.view = viewOf(dtype, kernel.memory);
  const mem = kernel.view;

  packPanels(b.data, b.offset, b.colStride, b.rowStride, N, K, nr, mem, 0);
  for (let ic = rowBegin; ic < rowEnd; ic += MC) {
    const rows = Math.min(MC, rowEnd - ic);
    const rowsPadded = roundUp(rows, mr);
    packPanels(a.data, a.offset + ic * a.rowStride, a.rowStride, a.colStride, rows, K, mr, mem, aStart);
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
      if (cols === colsPadded && cols === ldc) {
        // The tile is whole rows of C, laid out as C is: one copy.
        c.set(mem.subarray(cStart, cStart + rows * cols), cOffset + ic * ldc);
        continue;
      }
      for (let i = 0; i < rows; i++) {
        const src = cStart + i * colsPadded;
        const dst = cOffset + (ic + i) * ldc + jc;
        if (cols >= MEMCPY_ROW) c.set(mem.subarray(src, src + cols), dst);
        else for (let j = 0; j < cols; j++) c[dst + j] = mem[src + j];
      }
    }
  }
}
