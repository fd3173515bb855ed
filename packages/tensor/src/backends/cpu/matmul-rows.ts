// Batched matrix multiply over a range of output rows, the unit the thread pool splits:
// rows [begin, end) of the stacked [batch * M, N] output, each batch item's rows done by
// one GEMM call on the WebAssembly SIMD kernel (float32, float64) or, where WebAssembly
// SIMD is missing or for other dtypes, the plain TypeScript kernel.

import type { TypedArray } from '../../dtype.js';
import { gemm } from './matmul.js';
import { gemmWasm, wasmGemmAvailable } from './matmul-wasm.js';

/** A stack of matrices: item i, element (r, c) at offset + i*batchStride + r*rowStride + c*colStride. */
export interface MatrixStack {
  readonly data: TypedArray;
  readonly offset: number;
  readonly batchStride: number;
  readonly rowStride: number;
  readonly colStride: number;
}

export interface GemmArgs {
  readonly M: number;
  readonly N: number;
  readonly K: number;
  readonly a: MatrixStack;
  readonly b: MatrixStack;
  /** Output stack, row-major within an item (colStride 1). */
  readonly c: MatrixStack;
  /** Whether to use the WebAssembly kernel (false: the TypeScript one). */
  readonly wasm: boolean;
}

/** C[i] = A[i] B[i] for the stacked output rows [begin, end). */
export function gemmRows({ M, N, K, a, b, c, wasm }: GemmArgs, begin: number, end: number): void {
  const dtype = c.data instanceof Float32Array ? 'float32' : 'float64';
  const useWasm = wasm && wasmGemmAvailable(dtype);
  for (let i = Math.floor(begin / M); i * M < end; i++) {
    const rowBegin = Math.max(begin - i * M, 0);
    const rowEnd = Math.min(end - i * M, M);
    const ai = { data: a.data, offset: a.offset + i * a.batchStride, rowStride: a.rowStride, colStride: a.colStride };
    const bi = { data: b.data, offset: b.offset + i * b.batchStride, rowStride: b.rowStride, colStride: b.colStride };
    const cOffset = c.offset + i * c.batchStride;
    if (useWasm) gemmWasm(dtype, M, N, K, ai, bi, c.data, cOffset, c.rowStride, rowBegin, rowEnd);
    else gemm(M, N, K, ai, bi, c.data, cOffset, c.rowStride, rowBegin, rowEnd);
  }
}
