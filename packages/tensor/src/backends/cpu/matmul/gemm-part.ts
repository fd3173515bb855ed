// Batched matrix multiply over a part of the output, the unit the thread pool splits:
// either rows [begin, end) of the stacked [batch * M, N] output, or columns [begin, end)
// of every item's output. Each GEMM call runs on the WebAssembly SIMD kernel (float32,
// float64) or, where WebAssembly SIMD is missing or for other dtypes, the plain
// TypeScript kernel.
// Every GEMM call packs all of the B it multiplies and the rows of A it covers, so a
// split by rows packs K*(N + M/threads) values per thread and a split by columns
// K*(M + N/threads): the caller splits by columns when N > M (e.g. the weight gradient
// X^T dY of a linear layer). Each output element's arithmetic is the same whatever the
// split, so results do not depend on the thread count.
// The batch may have several dims with any strides (attention's heads, [batch, heads], sliced
// out of one qkv projection): item i's matrices start where its batch index puts them, so
// such views are multiplied where they lie instead of being copied into one stack first.
// Items that each fit one tile run a group at a time in one pass (gemmItemsWasm).

import type { TypedArray } from '../../../dtype.js';
import { type VectorView, gemm } from './gemm.js';
import { gemmItemsWasm, gemmWasm, wasmGemmAvailable } from './gemm-wasm.js';

/**
 * A stack of matrices: item (i_0, i_1, ...) of the batch, element (r, c) at
 * offset + sum_d i_d*batchStrides[d] + r*rowStride + c*colStride.
 */
export interface MatrixStack {
  readonly data: TypedArray;
  readonly offset: number;
  readonly batchStrides: readonly number[];
  readonly rowStride: number;
  readonly colStride: number;
}

export interface GemmArgs {
  /** The batch dims of every stack (their product: the number of matrices; [] for one). */
  readonly batchShape: readonly number[];
  readonly M: number;
  readonly N: number;
  readonly K: number;
  readonly a: MatrixStack;
  readonly b: MatrixStack;
  /** Output stack, row-major within an item (colStride 1). */
  readonly c: MatrixStack;
  /** Whether to use the WebAssembly kernel (false: the TypeScript one). */
  readonly wasm: boolean;
  /** Whether the WebAssembly kernel may fuse each multiply-add (gemm-wasm.ts). */
  readonly fma: boolean;
  /** Whether [begin, end) indexes the columns of every item (else the stacked rows). */
  readonly byColumns: boolean;
  /** N values added to every row of every item's product (a Linear layer's bias), or null. */
  readonly bias: VectorView | null;
}

/**
 * The most operand elements (A and B of every item) that one pass of gemmItemsWasm takes
 * (the module stages up to ITEMS_SPREAD times that), so that a long batch of small items
 * does not grow the module's memory without bound. Each of attention's products in the DINO
 * step is one pass per thread.
 */
const ITEMS_GROUP = 1 << 22;

/** C[i] = A[i] B[i] for the stacked output rows [begin, end), or for columns [begin, end) of every item. */
export function gemmPart({ batchShape, M, N, K, a, b, c, wasm, fma, byColumns, bias }: GemmArgs, begin: number, end: number): void {
  const batch = batchShape.reduce((n, d) => n * d, 1);
  const dtype = c.data instanceof Float32Array ? 'float32' : 'float64';
  const useWasm = wasm && wasmGemmAvailable(dtype);
  const first = byColumns ? 0 : Math.floor(begin / M);
  const last = byColumns ? batch : Math.ceil(end / M);
  // the items whose every row is in [begin, end): in one pass each group of them that is
  // small enough (gemmItemsWasm), ITEMS_GROUP elements of operands at most
  const [whole, wholeEnd] = byColumns ? [first, first] : [Math.ceil(begin / M), Math.floor(end / M)];
  const group = Math.max(2, Math.floor(ITEMS_GROUP / Math.max((M + N) * K, 1)));
  const done = new Set<number>();
  for (let g = whole; useWasm && wholeEnd - g > 1; g += group) {
    const groupEnd = Math.min(g + group, wholeEnd);
    const items = (f: (i: number) => number) => range(g, groupEnd, f);
    const ran = gemmItemsWasm({ dtype, fma }, {
      M, N, K, c: c.data, ldc: c.rowStride, bias,
      a: { ...a, offsets: items((i) => itemOffset(a, batchShape, i)) },
      b: { ...b, offsets: items((i) => itemOffset(b, batchShape, i)) },
      cOffsets: items((i) => itemOffset(c, batchShape, i)),
    });
    if (ran) for (let i = g; i < groupEnd; i++) done.add(i);
  }
  for (let i = first; i < last; i++) {
    if (done.has(i)) continue;
    const rowBegin = byColumns ? 0 : Math.max(begin - i * M, 0);
    const rowEnd = byColumns ? M : Math.min(end - i * M, M);
    const colBegin = byColumns ? begin : 0;
    const cols = byColumns ? end - begin : N;
    const ai = { data: a.data, offset: itemOffset(a, batchShape, i), rowStride: a.rowStride, colStride: a.colStride };
    const bi = { data: b.data, offset: itemOffset(b, batchShape, i) + colBegin * b.colStride, rowStride: b.rowStride, colStride: b.colStride };
    const biasPart = bias && { data: bias.data, offset: bias.offset + colBegin * bias.stride, stride: bias.stride };
    const problem = { M, N: cols, K, a: ai, b: bi, c: c.data, cOffset: itemOffset(c, batchShape, i) + colBegin, ldc: c.rowStride, rowBegin, rowEnd, bias: biasPart };
    if (useWasm) gemmWasm({ dtype, fma }, problem);
    else gemm(problem);
  }
}

/** f(i) for i in [begin, end). */
function range(begin: number, end: number, f: (i: number) => number): number[] {
  return Array.from({ length: Math.max(end - begin, 0) }, (_, k) => f(begin + k));
}

/** Where item i (in row-major order of the batch dims) of `stack` starts. */
export function itemOffset(stack: MatrixStack, batchShape: readonly number[], i: number): number {
  let offset = stack.offset;
  for (let d = batchShape.length - 1; d >= 0; d--) {
    offset += (i % batchShape[d]) * stack.batchStrides[d];
    i = Math.floor(i / batchShape[d]);
  }
  return offset;
}
