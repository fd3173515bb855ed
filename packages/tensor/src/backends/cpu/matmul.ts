// Cache-blocked, register-blocked matrix multiply in plain TypeScript: C += A * B.
//
// The classic Goto/BLIS loop nest. B is copied ("packed") KC rows x NC columns at a
// time into panels of NR columns laid out k-major, A is packed MC x KC into panels of
// MR rows, so the micro-kernel reads both with unit stride from buffers that stay in
// cache. The micro-kernel keeps an MR x NR block of C in local variables (which V8
// keeps in registers) and does MR*NR multiply-adds per MR + NR loads. Packing also
// absorbs any input strides, so transposed operands cost nothing extra.
//
// Packed buffers are float64, so float32 inputs accumulate in double precision.
// The row range [rowBegin, rowEnd) lets a thread pool split C by rows.

import type { TypedArray } from '../../dtype.js';

const MR = 4;
const NR = 4;
const KC = 256;
const MC = 64;
const NC = 1024;

let packedA = new Float64Array(MC * KC);
let packedB = new Float64Array(KC * NC);

export interface MatrixView {
  readonly data: TypedArray;
  readonly offset: number;
  readonly rowStride: number;
  readonly colStride: number;
}

/** C[rowBegin:rowEnd, :] += A[rowBegin:rowEnd, :K] * B[:K, :N]; C is row-major with leading dimension ldc. */
export function gemm(
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
  if (packedB.length < KC * NC) packedB = new Float64Array(KC * NC);
  for (let jc = 0; jc < N; jc += NC) {
    const nc = Math.min(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = Math.min(KC, K - pc);
      packPanelsOfB(b, pc, jc, kc, nc);
      for (let ic = rowBegin; ic < rowEnd; ic += MC) {
        const mc = Math.min(MC, rowEnd - ic);
        packPanelsOfA(a, ic, pc, mc, kc);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = Math.min(NR, nc - jr);
          for (let ir = 0; ir < mc; ir += MR) {
            const mr = Math.min(MR, mc - ir);
            microKernel(kc, ir * kc, jr * kc, c, cOffset + (ic + ir) * ldc + jc + jr, ldc, mr, nr);
          }
        }
      }
    }
  }
}

/** packedB[(jr*kc) + k*NR + j] = B[pc + k, jc + jr + j], zero beyond the matrix edge. */
function packPanelsOfB(b: MatrixView, pc: number, jc: number, kc: number, nc: number): void {
  const { data, offset, rowStride, colStride } = b;
  const dst = packedB;
  for (let jr = 0; jr < nc; jr += NR) {
    const width = Math.min(NR, nc - jr);
    let p = jr * kc;
    for (let k = 0; k < kc; k++) {
      const row = offset + (pc + k) * rowStride + (jc + jr) * colStride;
      for (let j = 0; j < NR; j++) dst[p + j] = j < width ? data[row + j * colStride] : 0;
      p += NR;
    }
  }
}

/** packedA[(ir*kc) + k*MR + i] = A[ic + ir + i, pc + k], zero beyond the matrix edge. */
function packPanelsOfA(a: MatrixView, ic: number, pc: number, mc: number, kc: number): void {
  const { data, offset, rowStride, colStride } = a;
  if (packedA.length < Math.ceil(mc / MR) * MR * kc) packedA = new Float64Array(Math.ceil(mc / MR) * MR * kc);
  const dst = packedA;
  for (let ir = 0; ir < mc; ir += MR) {
    const height = Math.min(MR, mc - ir);
    let p = ir * kc;
    for (let k = 0; k < kc; k++) {
      const col = offset + (ic + ir) * rowStride + (pc + k) * colStride;
      for (let i = 0; i < MR; i++) dst[p + i] = i < height ? data[col + i * rowStride] : 0;
      p += MR;
    }
  }
}

/** C[0:mr, 0:nr] += Apanel (MR x kc) * Bpanel (kc x NR), with the 4x4 block of C in locals. */
function microKernel(kc: number, ai: number, bi: number, c: TypedArray, ci: number, ldc: number, mr: number, nr: number): void {
  const A = packedA;
  const B = packedB;
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  for (let k = 0; k < kc; k++) {
    const a0 = A[ai], a1 = A[ai + 1], a2 = A[ai + 2], a3 = A[ai + 3];
    const b0 = B[bi], b1 = B[bi + 1], b2 = B[bi + 2], b3 = B[bi + 3];
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
    ai += MR;
    bi += NR;
  }
  if (mr === MR && nr === NR) {
    let r = ci;
    c[r] += c00; c[r + 1] += c01; c[r + 2] += c02; c[r + 3] += c03; r += ldc;
    c[r] += c10; c[r + 1] += c11; c[r + 2] += c12; c[r + 3] += c13; r += ldc;
    c[r] += c20; c[r + 1] += c21; c[r + 2] += c22; c[r + 3] += c23; r += ldc;
    c[r] += c30; c[r + 1] += c31; c[r + 2] += c32; c[r + 3] += c33;
    return;
  }
  const block = [c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33];
  for (let i = 0; i < mr; i++) for (let j = 0; j < nr; j++) c[ci + i * ldc + j] += block[i * NR + j];
}
