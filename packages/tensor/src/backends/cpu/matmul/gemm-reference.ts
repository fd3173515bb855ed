// The obviously-correct matrix multiply that tests hold the fast kernels to.
//   C[i, j] = sum_k A[i, k] * B[k, j]   (+ bias[j], after rounding the sum to C's dtype)

import type { GemmProblem } from './gemm.js';

export function gemmReference({ M, N, K, a, b, c, cOffset, ldc, rowBegin = 0, rowEnd = M, bias }: GemmProblem): void {
  for (let i = rowBegin; i < rowEnd; i++) {
    for (let j = 0; j < N; j++) {
      let sum = 0;
      for (let k = 0; k < K; k++) {
        sum += a.data[a.offset + i * a.rowStride + k * a.colStride] * b.data[b.offset + k * b.rowStride + j * b.colStride];
      }
      c[cOffset + i * ldc + j] = sum;
      if (bias) c[cOffset + i * ldc + j] += bias.data[bias.offset + j * bias.stride];
    }
  }
}
