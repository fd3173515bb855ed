// Matrix multiply on the WebAssembly SIMD128 kernel (wasm/gemm-kernel.ts): C += A * B.
//
// The kernel reads only its own linear memory, so this driver packs the operands into
// it, in the layout the kernel expects, and accumulates C there tile by tile:
//   1. all of B (K x N) once, in panels of NR columns, each panel k-major;
//   2. per MC rows of A: that row block (MC x K), in panels of MR rows, each k-major;
//   3. per NC columns: the MC x NC block of C is copied into a tile, the kernel adds
//      A B into it once per KC slice of k (so the MR x KC slice of A and the KC x NR
//      slice of B it streams stay in L1 and L2), and the tile is copied back. Both
//      copies are typed-array `set`s, i.e. native memcpy.
// Packing absorbs the operands' strides and pads the edges with zeros, so transposed
// and sliced inputs cost nothing extra and the kernel never sees a partial tile.
// The accumulation is in the operands' precision (float32 stays float32).
// The row range [rowBegin, rowEnd) lets a thread pool split C by rows; each row's
// arithmetic does not depend on the split, so neither does the result.

import type { TypedArray } from '../../dtype.js';
import type { MatrixView } from './matmul.js';
import { KERNEL_SHAPE, type KernelDType, gemmKernelModule } from './wasm/gemm-kernel.js';
import { type WasmMemory, instantiate } from './wasm/instantiate.js';

const KC = 256;
const MC = 48; // a multiple of every kernel's MR
const NC = 512;
const PAGE = 65536;

interface Kernel {
  readonly run: (mc: number, nc: number, kc: number, a: number, aPanelStride: number, b: number, bPanelStride: number, c: number, ldc: number) => void;
  readonly memory: WasmMemory;
  readonly mr: number;
  readonly nr: number;
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
  return { run: gemm, memory, mr, nr };
}

/** Whether matrices of `dtype` can use the WebAssembly SIMD kernel here. */
export function wasmGemmAvailable(dtype: string): boolean {
  return (dtype === 'float32' || dtype === 'float64') && kernelFor(dtype) !== null;
}

const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

/** C[rowBegin:rowEnd, :] += A[rowBegin:rowEnd, :K] * B[:K, :N] for float32 or float64 data; C row-major with leading dimension ldc. */
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
  if (K === 0 || rowEnd <= rowBegin || N === 0) return;
  const { mr, nr } = kernel;
  const bytes = dtype === 'float32' ? 4 : 8;
  const nPadded = roundUp(N, nr);
  const tileWidth = Math.min(NC, nPadded);
  // Memory layout, in elements: packed B, then the packed row block of A, then the C tile.
  const aStart = nPadded * K;
  const cStart = aStart + MC * K;
  const needed = (cStart + MC * tileWidth) * bytes;
  if (kernel.memory.buffer.byteLength < needed) kernel.memory.grow(Math.ceil((needed - kernel.memory.buffer.byteLength) / PAGE));
  const mem = dtype === 'float32' ? new Float32Array(kernel.memory.buffer) : new Float64Array(kernel.memory.buffer);

  packB(b, K, N, nr, mem);
  for (let ic = rowBegin; ic < rowEnd; ic += MC) {
    const rows = Math.min(MC, rowEnd - ic);
    const rowsPadded = roundUp(rows, mr);
    packA(a, ic, rows, K, mr, mem, aStart);
    for (let jc = 0; jc < N; jc += tileWidth) {
      const cols = Math.min(tileWidth, N - jc);
      const colsPadded = roundUp(cols, nr);
      for (let i = 0; i < rows; i++) {
        const dst = cOffset + (ic + i) * ldc + jc;
        mem.set(c.subarray(dst, dst + cols), cStart + i * colsPadded);
      }
      for (let pc = 0; pc < K; pc += KC) {
        kernel.run(
          rowsPadded, colsPadded, Math.min(KC, K - pc),
          (aStart + pc * mr) * bytes, K * mr * bytes,
          ((jc / nr) * K * nr + pc * nr) * bytes, K * nr * bytes,
          cStart * bytes, colsPadded * bytes,
        );
      }
      for (let i = 0; i < rows; i++) {
        const src = cStart + i * colsPadded;
        c.set(mem.subarray(src, src + cols), cOffset + (ic + i) * ldc + jc);
      }
    }
  }
}

/** mem[(j/nr)*K*nr + k*nr + j%nr] = B[k, j], zero in the padding columns. */
function packB(b: MatrixView, K: number, N: number, nr: number, mem: Float32Array | Float64Array): void {
  const { data, offset, rowStride, colStride } = b;
  for (let jr = 0; jr < N; jr += nr) {
    const width = Math.min(nr, N - jr);
    let p = jr * K;
    for (let k = 0; k < K; k++) {
      const row = offset + k * rowStride + jr * colStride;
      for (let j = 0; j < width; j++) mem[p + j] = data[row + j * colStride];
      for (let j = width; j < nr; j++) mem[p + j] = 0;
      p += nr;
    }
  }
}

/** mem[start + (i/mr)*K*mr + k*mr + i%mr] = A[ic + i, k], zero in the padding rows. */
function packA(a: MatrixView, ic: number, rows: number, K: number, mr: number, mem: Float32Array | Float64Array, start: number): void {
  const { data, offset, rowStride, colStride } = a;
  for (let ir = 0; ir < rows; ir += mr) {
    const height = Math.min(mr, rows - ir);
    let p = start + ir * K;
    for (let k = 0; k < K; k++) {
      const col = offset + (ic + ir) * rowStride + k * colStride;
      for (let i = 0; i < height; i++) mem[p + i] = data[col + i * rowStride];
      for (let i = height; i < mr; i++) mem[p + i] = 0;
      p += mr;
    }
  }
}
