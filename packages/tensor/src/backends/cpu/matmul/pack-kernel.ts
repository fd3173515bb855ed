// GEMM packing and tile copy-out inside the WebAssembly module, written out instruction
// by instruction. The functions live in the GEMM kernel's module (gemm-kernel.ts) so that
// they work on the same memory; the driver (gemm-wasm.ts) copies an operand into that
// memory with one memcpy, then packs it here, where no JIT warm-up, deoptimisation or
// polymorphic typed-array access can slow a plain loop down.
//
//   pack<W>(src, lineStride, kStride, count, K, dst):
//     the matrix is `count` lines (rows of A, columns of B) of length K, line l's k-th
//     element at src + l lineStride + k kStride (bytes; strides may be 0 or negative);
//     lines are grouped W at a time into k-major panels written one after another from
//     dst: dst[(l / W) K W + k W + l % W] = line l, element k, and lines past `count`
//     are zero (the layout of pack.ts, which stays the reference and fallback).
//     A full panel whose W elements per k are adjacent (lineStride = element size: a
//     row-major B) moves with whole-vector loads and stores, and where the panels that
//     share a 64-byte cache line are all full (two of B's, four of A's in float32) they
//     move together, each line read once: k steps through the source with a stride of a
//     whole row, and a power-of-two row (2048 floats, 8 KiB) maps every k to the same
//     cache sets, which evicted a line before the next panel read the rest of it (a row-
//     major 2048 x 2048 B on one thread: 64 x 2048 by it 19.4-20.1 -> 17.0-18.9 ms, 16 x
//     2048 by it 8.9-9.3 -> 6.8-7.3 ms). A full float32 panel whose k are adjacent in
//     each line (a row-major A; B = K^T in attention's q k^T) moves four k of four lines
//     at a time: four vector loads, a 4 x 4 transpose in eight shuffles, four stores
//     (one thread, 96 items of 65 x 64 by 64 x 65: 1.97 -> 1.85 ms). Any other full
//     panel, and the last k of those, moves W scalars per k from W line pointers; the
//     last, partial panel goes element by element and writes the zeros.
//   compactRows(src, srcStride, dst, dstStride, rows, rowBytes):
//     moves `rows` rows of rowBytes bytes from stride srcStride to stride dstStride
//     (memmove semantics, so in place from a padded tile to a packed one, dst <= src),
//     so that a tile whose width is not a multiple of NR leaves in one memcpy.
//   addRow(tile, tileStride, row, rows, rowBytes):
//     adds the vector at `row` (rowBytes bytes, a multiple of 16) to each of `rows` rows
//     of a tile, tileStride bytes apart: a Linear layer's bias, added to the product as
//     its tile leaves the kernel, one rounding per element as a separate add makes.

import { type FunctionDef, op } from '../wasm/assembler.js';
import type { KernelDType } from './gemm-kernel.js';

/** pack<width> for `dtype`, exported under `name`. */
export function packFunction(dtype: KernelDType, width: number, name: string): FunctionDef {
  const bytes = dtype === 'float32' ? 4 : 8;
  const load = dtype === 'float32' ? op.f32Load : op.f64Load;
  const store = dtype === 'float32' ? op.f32Store : op.f64Store;
  const zero = dtype === 'float32' ? op.f32Const(0) : op.f64Const(0);
  const ifValue = dtype === 'float32' ? op.ifF32 : op.ifF64;
  const vectors = (width * bytes) / 16; // whole vectors per k in a contiguous panel

  const [src, lineStride, kStride, count, K, dst] = [0, 1, 2, 3, 4, 5];
  const [l0, s, d, k, l, lines] = [6, 7, 8, 9, 10, 11];
  const firstLine = 12; // locals firstLine + i: line i's pointer in a full panel
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  const add = (local: number, by: readonly number[]) => [op.localGet(local), by, op.i32Add, op.localSet(local)];
  const countDown = (local: number) => [op.localGet(local), op.i32Const(1), op.i32Sub, op.localTee(local), op.brIf(0)];

  const contiguousPanel = [
    op.loop,
    ...range(vectors).flatMap((v) => [op.localGet(d), op.localGet(s), op.v128Load(16 * v), op.v128Store(16 * v)]),
    ...add(d, op.i32Const(width * bytes)),
    ...add(s, op.localGet(kStride)),
    ...countDown(k),
    op.end,
  ];
  // `group` adjacent full panels at once, panel g written panelBytes * g after the first
  const group = Math.max(1, 64 / (width * bytes));
  const panelBytes = firstLine + width; // local: K * width * bytes, one panel's size
  const contiguousGroup = [
    op.localGet(K), op.i32Const(width * bytes), op.i32Mul, op.localSet(panelBytes),
    op.loop,
    ...range(group).flatMap((g) => range(vectors).flatMap((v) => [
      op.localGet(d), ...range(g).flatMap(() => [op.localGet(panelBytes), op.i32Add]),
      op.localGet(s), op.v128Load(g * width * bytes + 16 * v), op.v128Store(16 * v),
    ])),
    ...add(d, op.i32Const(width * bytes)),
    ...add(s, op.localGet(kStride)),
    ...countDown(k),
    op.end,
    // d is past the first panel: skip the others, and their lines
    ...range(group - 1).flatMap(() => add(d, op.localGet(panelBytes))),
    ...add(l0, op.i32Const((group - 1) * width)),
  ];
  // float32 lines whose k are adjacent (a row-major A, or B = K^T): four k of four lines
  // at a time, as four vector loads, a 4 x 4 transpose in eight shuffles, and four stores
  const x = firstLine + width + 1; // v128 locals x .. x + 3: the lines; x + 4 .. x + 7: their interleavings
  const t = x + 4;
  const lanes = (l: readonly number[]) => l.flatMap((lane) => [4 * lane, 4 * lane + 1, 4 * lane + 2, 4 * lane + 3]);
  const shuffle = (a: number, b: number, l: readonly number[]) => [op.localGet(a), op.localGet(b), op.i8x16Shuffle(lanes(l))];
  const transposedKs = dtype !== 'float32' || width % 4 !== 0 ? [] : [
    op.localGet(kStride), op.i32Const(bytes), op.i32Eq,
    op.if,
    op.block,
    op.loop,
    op.localGet(k), op.i32Const(4), op.i32LtU, op.brIf(1),
    ...range(width / 4).flatMap((g) => [
      ...range(4).flatMap((j) => [op.localGet(firstLine + 4 * g + j), op.v128Load(0), op.localSet(x + j)]),
      ...shuffle(x, x + 1, [0, 4, 1, 5]), op.localSet(t), // line 0, line 1 at k 0 and 1
      ...shuffle(x, x + 1, [2, 6, 3, 7]), op.localSet(t + 1), // ... at k 2 and 3
      ...shuffle(x + 2, x + 3, [0, 4, 1, 5]), op.localSet(t + 2),
      ...shuffle(x + 2, x + 3, [2, 6, 3, 7]), op.localSet(t + 3),
      ...[[t, t + 2, [0, 1, 4, 5]], [t, t + 2, [2, 3, 6, 7]], [t + 1, t + 3, [0, 1, 4, 5]], [t + 1, t + 3, [2, 3, 6, 7]]].flatMap(([a, b, l], kk) => [
        op.localGet(d), ...shuffle(a as number, b as number, l as number[]), op.v128Store(kk * width * bytes + 16 * g),
      ]),
    ]),
    ...range(width).flatMap((i) => add(firstLine + i, op.i32Const(4 * bytes))),
    ...add(d, op.i32Const(4 * width * bytes)),
    op.localGet(k), op.i32Const(4), op.i32Sub, op.localSet(k),
    op.br(0),
    op.end,
    op.end,
    op.end,
  ];
  const stridedPanel = [
    ...range(width).flatMap((i) => [op.localGet(s), op.localGet(lineStride), op.i32Const(i), op.i32Mul, op.i32Add, op.localSet(firstLine + i)]),
    ...transposedKs,
    op.localGet(k),
    op.if, // the k left
    op.loop,
    ...range(width).flatMap((i) => [
      op.localGet(d), op.localGet(firstLine + i), load(0), store(i * bytes),
      ...add(firstLine + i, op.localGet(kStride)),
    ]),
    ...add(d, op.i32Const(width * bytes)),
    ...countDown(k),
    op.end,
    op.end,
  ];
  const partialPanel = [
    op.localGet(count), op.localGet(l0), op.i32Sub, op.localSet(lines),
    op.loop, // over k
    op.i32Const(0), op.localSet(l),
    op.loop, // over the panel's W slots
    op.localGet(d),
    op.localGet(l), op.localGet(lines), op.i32LtU,
    ifValue,
    op.localGet(s), op.localGet(l), op.localGet(lineStride), op.i32Mul, op.i32Add, load(0),
    op.else,
    zero,
    op.end,
    store(0),
    ...add(d, op.i32Const(bytes)),
    ...add(l, op.i32Const(1)),
    op.localGet(l), op.i32Const(width), op.i32LtU, op.brIf(0),
    op.end,
    ...add(s, op.localGet(kStride)),
    ...countDown(k),
    op.end,
  ];

  const body = [
    op.localGet(dst), op.localSet(d),
    op.i32Const(0), op.localSet(l0),
    op.block,
    op.loop, // over panels
    op.localGet(l0), op.localGet(count), op.i32GeU, op.brIf(1),
    // s = src + l0 lineStride: the panel's first line at k = 0
    op.localGet(src), op.localGet(l0), op.localGet(lineStride), op.i32Mul, op.i32Add, op.localSet(s),
    op.localGet(K), op.localSet(k),
    op.localGet(count), op.localGet(l0), op.i32Sub, op.i32Const(width), op.i32GeU,
    op.if,
    op.localGet(lineStride), op.i32Const(bytes), op.i32Eq,
    op.if,
    op.localGet(count), op.localGet(l0), op.i32Sub, op.i32Const(group * width), op.i32GeU,
    op.if,
    ...contiguousGroup,
    op.else,
    ...contiguousPanel,
    op.end,
    op.else,
    ...stridedPanel,
    op.end,
    op.else,
    ...partialPanel,
    op.end,
    ...add(l0, op.i32Const(width)),
    op.br(0),
    op.end,
    op.end,
  ];
  return { name, params: new Array(6).fill('i32'), locals: [...new Array(6 + width + 1).fill('i32'), ...new Array(8).fill('v128')], body };
}

/** compactRows(src, srcStride, dst, dstStride, rows, rowBytes), see the header. */
export function compactRowsFunction(): FunctionDef {
  const [src, srcStride, dst, dstStride, rows, rowBytes] = [0, 1, 2, 3, 4, 5];
  const add = (local: number, by: number) => [op.localGet(local), op.localGet(by), op.i32Add, op.localSet(local)];
  const body = [
    op.loop,
    op.localGet(dst), op.localGet(src), op.localGet(rowBytes), op.memoryCopy,
    ...add(src, srcStride),
    ...add(dst, dstStride),
    op.localGet(rows), op.i32Const(1), op.i32Sub, op.localTee(rows), op.brIf(0),
    op.end,
  ];
  return { name: 'compactRows', params: new Array(6).fill('i32'), locals: [], body };
}

export function addRowFunction(dtype: 'float32' | 'float64'): FunctionDef {
  const [tile, tileStride, row, rows, rowBytes, at] = [0, 1, 2, 3, 4, 5];
  const add = dtype === 'float32' ? op.f32x4Add : op.f64x2Add;
  const body = [
    op.loop, // over rows
    op.i32Const(0), op.localSet(at),
    op.loop, // over the row, 16 bytes at a time
    op.localGet(tile), op.localGet(at), op.i32Add,
    op.localGet(tile), op.localGet(at), op.i32Add, op.v128Load(0),
    op.localGet(row), op.localGet(at), op.i32Add, op.v128Load(0),
    add, op.v128Store(0),
    op.localGet(at), op.i32Const(16), op.i32Add, op.localTee(at), op.localGet(rowBytes), op.i32LtU, op.brIf(0),
    op.end,
    op.localGet(tile), op.localGet(tileStride), op.i32Add, op.localSet(tile),
    op.localGet(rows), op.i32Const(1), op.i32Sub, op.localTee(rows), op.brIf(0),
    op.end,
  ];
  return { name: 'addRow', params: new Array(5).fill('i32'), locals: ['i32'], body };
}
