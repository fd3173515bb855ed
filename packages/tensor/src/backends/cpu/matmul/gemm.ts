// Cache-blocked, register-blocked matrix multiply in plain TypeScript: C = A * B.
//
// The classic Goto/BLIS loop nest. B is copied ("packed", pack.ts) KC rows x NC
// columns at a time into panels of NR columns laid out k-major, A is packed MC x KC into
// panels of MR rows, so the micro-kernel reads both with unit stride from buffers that
// stay in cache. The micro-kernel keeps an MR x NR block of C in local variables and
// does MR*NR multiply-adds per MR + NR loads. 4 x 3 keeps 12 accumulators, 4 values of
// A and 3 of B live, close to the 16 xmm registers of x86-64; 4 x 4 needs 24 and spills.
// Measured under Node 20 (one thread, CPU time), the 4 x 3 driver runs 5-20% faster than
// the 4 x 4 one did; 3 x 4, 2 x 6 and 5 x 2 kernels were within noise of 4 x 3.
// Packing also absorbs any input strides, so transposed operands cost nothing extra.
//
// Packed buffers are float64, so float32 inputs accumulate in double precision.
// The row range [rowBegin, rowEnd) lets a thread pool split C by rows.

import type { TypedArray } from '../../../dtype.js';
import { packPanels } from './pack.js';

const MR = 4;
const NR = 3;
const KC = 256;
const MC = 64; // a multiple of MR
const NC = 768; // a multiple of NR

const packedA = new Float64Array(MC * KC);
const packedB = new Float64Array(KC * NC);

export interface MatrixView {
  readonly data: TypedArray;
  readonly offset: number;
  readonly rowStride: number;
  readonly colStride: number;
}

/** A vector: element j at data[offset + j * stride]. */
export interface VectorView {
  readonly data: TypedArray;
  readonly offset: number;
  readonly stride: number;
}

/**
 * One GEMM call, as every kernel here takes it: C[rowBegin:rowEnd, :N] = A[rowBegin:rowEnd, :K] B[:K, :N]
 * (A is M x K, B is K x N), C row-major from `cOffset` with leading dimension `ldc`. The row
 * range [rowBegin, rowEnd) (default: all M rows) is one thread's share. With `bias` (N
 * values), C[i, j] = (A B)[i, j] + bias[j]: the product rounded to C's dtype, then the sum
 * rounded, as a separate add would make it.
 */
export interface GemmProblem {
  readonly M: number;
  readonly N: number;
  readonly K: number;
  readonly a: MatrixView;
  readonly b: MatrixView;
  readonly c: TypedArray;
  readonly cOffset: number;
  readonly ldc: number;
  readonly rowBegin?: number;
  readonly rowEnd?: number;
  readonly bias?: VectorView | null;
}

/**
 * Finishes the products that need no kernel: an empty row range or N = 0 writes nothing, and
 * K = 0 makes every element of C an empty sum, 0. Returns whether `p` was one of them.
 */
export function emptyGemm(p: GemmProblem): boolean {
  const { M, N, K, c, cOffset, ldc, rowBegin = 0, rowEnd = M } = p;
  if (rowEnd <= rowBegin || N === 0) return true;
  if (K !== 0) return false;
  for (let i = rowBegin; i < rowEnd; i++) c.fill(0, cOffset + i * ldc, cOffset + i * ldc + N);
  addBias(p);
  return true;
}

/** C[i, j] += bias[j] over the problem's rows, where it has a bias (the plain kernels' epilogue). */
export function addBias({ M, N, c, cOffset, ldc, rowBegin = 0, rowEnd = M, bias }: GemmProblem): void {
  if (!bias) return;
  const { data, offset, stride } = bias;
  for (let i = rowBegin; i < rowEnd; i++) {
    const row = cOffset + i * ldc;
    for (let j = 0; j < N; j++) c[row + j] += data[offset + j * stride];
  }
}

/** The cache-blocked TypeScript kernel (see the header); float32 and float64 data accumulate in float64. */
export function gemm(p: GemmProblem): void {
  if (emptyGemm(p)) return;
  const { M, N, K, a, b, c, cOffset, ldc, rowBegin = 0, rowEnd = M } = p;
  for (let jc = 0; jc < N; jc += NC) {
    const nc = Math.min(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = Math.min(KC, K - pc);
      packPanels(b.data, b.offset + pc * b.rowStride + jc * b.colStride, b.colStride, b.rowStride, nc, kc, NR, packedB, 0);
      for (let ic = rowBegin; ic < rowEnd; ic += MC) {
        const mc = Math.min(MC, rowEnd - ic);
        packPanels(a.data, a.offset + ic * a.rowStride + pc * a.colStride, a.rowStride, a.colStride, mc, kc, MR, packedA, 0);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = Math.min(NR, nc - jr);
          for (let ir = 0; ir < mc; ir += MR) {
            const mr = Math.min(MR, mc - ir);
            microKernel(kc, ir * kc, jr * kc, c, cOffset + (ic + ir) * ldc + jc + jr, ldc, mr, nr, pc > 0);
          }
        }
      }
    }
  }
  addBias(p);
}

/** C[0:mr, 0:nr] = (or += where `accumulate`) Apanel (MR x kc) * Bpanel (kc x NR), with the 4x3 block of C in locals. */
function microKernel(kc: number, ai: number, bi: number, c: TypedArray, ci: number, ldc: number, mr: number, nr: number, accumulate: boolean): void {
  const A = packedA;
  const B = packedB;
  let c00 = 0, c01 = 0, c02 = 0;
  let c10 = 0, c11 = 0, c12 = 0;
  let c20 = 0, c21 = 0, c22 = 0;
  let c30 = 0, c31 = 0, c32 = 0;
  for (let k = 0; k < kc; k++) {
    const a0 = A[ai], a1 = A[ai + 1], a2 = A[ai + 2], a3 = A[ai + 3];
    const b0 = B[bi], b1 = B[bi + 1], b2 = B[bi + 2];
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2;
    ai += MR;
    bi += NR;
  }
  if (mr === MR && nr === NR) {
    let r = ci;
    if (accumulate) {
      c[r] += c00; c[r + 1] += c01; c[r + 2] += c02; r += ldc;
      c[r] += c10; c[r + 1] += c11; c[r + 2] += c12; r += ldc;
      c[r] += c20; c[r + 1] += c21; c[r + 2] += c22; r += ldc;
      c[r] += c30; c[r + 1] += c31; c[r + 2] += c32;
    } else {
      c[r] = c00; c[r + 1] = c01; c[r + 2] = c02; r += ldc;
      c[r] = c10; c[r + 1] = c11; c[r + 2] = c12; r += ldc;
      c[r] = c20; c[r + 1] = c21; c[r + 2] = c22; r += ldc;
      c[r] = c30; c[r + 1] = c31; c[r + 2] = c32;
    }
    return;
  }
  const block = [c00, c01, c02, c10, c11, c12, c20, c21, c22, c30, c31, c32];
  for (let i = 0; i < mr; i++) {
    for (let j = 0; j < nr; j++) {
      const at = ci + i * ldc + j;
      c[at] = accumulate ? c[at] + block[i * NR + j] : block[i * NR + j];
    }
  }
}
