// The obviously-correct matrix multiply that tests hold the fast kernels to.
//   C[i, j] = sum_k A[i, k] * B[k, j]

import type { MatrixView } from './gemm.js';
import type { TypedArray } from '../../../dtype.js';

export function gemmReference(M: number, N: number, K: number, a: MatrixView, b: MatrixView, c: TypedArray, cOffset: number, ldc: number): void {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let sum = 0;
      for (let k = 0; k < K; k++) {
        sum += a.data[a.offset + i * a.rowStride + k * a.colStride] * b.data[b.offset + k * b.rowStride + j * b.colStride];
      }
      c[cOffset + i * ldc + j] += sum;
    }
  }
}
