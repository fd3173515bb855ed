// The WebAssembly SIMD128 GEMM macro-kernel, written out instruction by instruction.
//
//   gemm(mc, nc, kc, a, aPanelStride, b, bPanelStride, c, ldc, accumulate):
//     C[0:mc, 0:nc] = A * B, or C += A * B where accumulate is nonzero
//
// A is packed in panels of MR rows, each panel k-major (A[i, k] at panel + (k*MR + i)),
// B in panels of NR columns, each k-major (B[k, j] at panel + (k*NR + j)); mc and nc are
// multiples of MR and NR (the driver pads with zeros), pointers and strides are in bytes.
// For every MR x NR block of C the inner loop keeps the block in MR*NR/LANES vector
// locals (V8 keeps them in xmm registers) and, per k, loads NR/LANES vectors of B,
// broadcasts each of the MR values of A to all lanes, and does one multiply-add per
// accumulator: MR*NR multiply-adds per MR + NR/LANES loads. (Unrolling the k
// loop twice measured 40% slower under V8 11.3: the longer body spills.) The block is
// stored to (or added to) C, a row-major tile with `ldc` bytes per row, once, after the
// k loop; storing lets the driver skip copying C into the tile for the first k slice.
// The multiply-add is a multiply then an add, rounding twice as a plain `acc += a * b` in
// that precision does; or, in the module built with `fma` (which only validates where the
// engine has relaxed SIMD), relaxed SIMD's madd, which rounds once where the hardware has a
// fused multiply-add (about 1.2x faster on the benchmark machine's 1024^3 SGEMM).

import { type FunctionDef, assembleModule, op } from '../wasm/assembler.js';
import { addRowFunction, compactRowsFunction, packFunction } from './pack-kernel.js';

export type KernelDType = 'float32' | 'float64';

export interface KernelShape {
  /** Rows of A (and C) per micro-tile. */
  readonly mr: number;
  /** Columns of B (and C) per micro-tile; a multiple of the vector's lane count. */
  readonly nr: number;
}

/**
 * Register blocking per dtype: 8 accumulators, 2 (f32) or 4 (f64) vectors of B and one
 * broadcast of A. Measured on x86-64 under V8: 8 accumulators run about twice as fast as
 * 12 (6x8 f32, 3x8 f64), which no longer fit in the registers V8 hands out and spill.
 */
export const KERNEL_SHAPE: Record<KernelDType, KernelShape> = {
  float32: { mr: 4, nr: 8 },
  float64: { mr: 2, nr: 8 },
};

/**
 * The module's bytes: the exported functions `gemm`, `packA` and `packB` (panels of MR
 * and NR lines, pack-kernel.ts), `compactRows`, `addRow`, and an exported, growable `memory`.
 */
export function gemmKernelModule(dtype: KernelDType, initialPages: number, fma = false): Uint8Array<ArrayBuffer> {
  const shape = KERNEL_SHAPE[dtype];
  return assembleModule(
    [gemmFunction(dtype, shape, fma), packFunction(dtype, shape.mr, 'packA'), packFunction(dtype, shape.nr, 'packB'), compactRowsFunction(), addRowFunction(dtype)],
    initialPages,
  );
}

function gemmFunction(dtype: KernelDType, { mr, nr }: KernelShape, fma: boolean): FunctionDef {
  const bytes = dtype === 'float32' ? 4 : 8;
  const lanes = 16 / bytes;
  const vectors = nr / lanes;
  const add = dtype === 'float32' ? op.f32x4Add : op.f64x2Add;
  const mul = dtype === 'float32' ? op.f32x4Mul : op.f64x2Mul;
  const splat = dtype === 'float32' ? op.v128Load32Splat : op.v128Load64Splat;
  const madd = dtype === 'float32' ? op.f32x4RelaxedMadd : op.f64x2RelaxedMadd;
  // acc(i, j) += a_i * b_j: one relaxed multiply-add, or a multiply and an add
  const multiplyAdd = (i: number, j: number) =>
    fma ? [op.localGet(av), op.localGet(bv(j)), op.localGet(acc(i, j)), madd] : [op.localGet(acc(i, j)), op.localGet(av), op.localGet(bv(j)), mul, add];

  // Parameters, then i32 locals, then v128 locals.
  const [mc, nc, kc, a, aPanelStride, b, bPanelStride, c, ldc, accumulate] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const [jr, ir, k, ap, bp, row, aPanel, bPanel] = [10, 11, 12, 13, 14, 15, 16, 17];
  const firstVector = 18;
  const acc = (i: number, j: number) => firstVector + i * vectors + j;
  const bv = (j: number) => firstVector + mr * vectors + j;
  const av = firstVector + mr * vectors + vectors;
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  const each = <T>(n: number, f: (i: number) => T[]) => range(n).flatMap(f);
  const increment = (local: number, by: number | readonly number[]) => [
    op.localGet(local), typeof by === 'number' ? op.i32Const(by) : by, op.i32Add, op.localSet(local),
  ];

  const multiplyAddOneK = [
    ...each(vectors, (j) => [op.localGet(bp), op.v128Load(16 * j), op.localSet(bv(j))]),
    ...each(mr, (i) => [
      op.localGet(ap), splat(i * bytes), op.localSet(av),
      ...each(vectors, (j) => [...multiplyAdd(i, j), op.localSet(acc(i, j))]),
    ]),
    ...increment(ap, mr * bytes),
    ...increment(bp, nr * bytes),
  ];

  const addBlockToC = [
    // row = c + ir * ldc + jr * bytes
    op.localGet(c), op.localGet(ir), op.localGet(ldc), op.i32Mul, op.i32Add,
    op.localGet(jr), op.i32Const(bytes), op.i32Mul, op.i32Add, op.localSet(row),
    op.localGet(accumulate),
    op.if,
    ...each(mr, (i) => [
      ...each(vectors, (j) => [
        op.localGet(row), op.localGet(row), op.v128Load(16 * j), op.localGet(acc(i, j)), add, op.v128Store(16 * j),
      ]),
      ...increment(row, op.localGet(ldc)),
    ]),
    op.else,
    ...each(mr, (i) => [
      ...each(vectors, (j) => [op.localGet(row), op.localGet(acc(i, j)), op.v128Store(16 * j)]),
      ...increment(row, op.localGet(ldc)),
    ]),
    op.end,
  ];

  const body = [
    op.localGet(b), op.localSet(bPanel),
    op.i32Const(0), op.localSet(jr),
    op.loop, // over panels of B: columns jr .. jr + NR
    op.localGet(a), op.localSet(aPanel),
    op.i32Const(0), op.localSet(ir),
    op.loop, // over panels of A: rows ir .. ir + MR
    ...each(mr * vectors, (t) => [op.v128Zero, op.localSet(firstVector + t)]),
    op.localGet(aPanel), op.localSet(ap),
    op.localGet(bPanel), op.localSet(bp),
    op.localGet(kc), op.localSet(k),
    op.loop, // over k
    ...multiplyAddOneK,
    op.localGet(k), op.i32Const(1), op.i32Sub, op.localTee(k), op.brIf(0),
    op.end,
    ...addBlockToC,
    ...increment(aPanel, op.localGet(aPanelStride)),
    ...increment(ir, mr),
    op.localGet(ir), op.localGet(mc), op.i32LtU, op.brIf(0),
    op.end,
    ...increment(bPanel, op.localGet(bPanelStride)),
    ...increment(jr, nr),
    op.localGet(jr), op.localGet(nc), op.i32LtU, op.brIf(0),
    op.end,
  ];
  return {
    name: 'gemm',
    params: new Array(10).fill('i32'),
    locals: [...new Array(8).fill('i32'), ...new Array(mr * vectors + vectors + 1).fill('v128')],
    body,
  };
}
