import { expect } from 'chai';
import fc from 'fast-check';
import { gemmPart } from '../../../../src/backends/cpu/matmul/gemm-part.js';
import { gemmReference } from '../../../../src/backends/cpu/matmul/gemm-reference.js';
import { gemmWasm } from '../../../../src/backends/cpu/matmul/gemm-wasm.js';
import { runs, seedArb, values } from '../../../helpers/cases.js';

const size = fc.oneof(fc.constantFrom(1, 7, 8, 33, 65), fc.integer({ min: 1, max: 70 }));

describe('batched GEMM over a part of the output (gemm-part.ts)', () => {
  it('two complementary parts (by rows or by columns) overwrite C with the reference product, on both kernels, over 0-2 batch dims with any strides, with and without a bias', () => {
    fc.assert(
      fc.property(
        fc.record({
          batchShape: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 0, maxLength: 2 }),
          M: size,
          N: size,
          K: fc.oneof(size, fc.integer({ min: 250, max: 300 })),
          aT: fc.boolean(),
          bT: fc.boolean(),
          byColumns: fc.boolean(),
          withBias: fc.boolean(),
          wasm: fc.boolean(),
          float32: fc.boolean(),
          split: fc.double({ min: 0, max: 1, noNaN: true }),
          seed: seedArb,
        }),
        ({ batchShape, M, N, K, aT, bT, byColumns, withBias, wasm, float32, split, seed }) => {
          const make = float32 ? Float32Array : Float64Array;
          const batch = batchShape.reduce((n, d) => n * d, 1);
          // A stack of [rows, cols] matrices, stored transposed when asked, with one spare element
          // between items, and the batch dims in reverse order (strides that do not merge into one).
          const stack = (rows: number, cols: number, transposed: boolean, s: number) => {
            const item = rows * cols + 1;
            const reversed = batchShape.map((_, d) => batchShape.slice(0, d).reduce((n, e) => n * e, item));
            return {
              data: new make(values(batch * item, s)),
              offset: 1,
              batchStrides: reversed,
              rowStride: transposed ? 1 : cols,
              colStride: transposed ? rows : 1,
            };
          };
          const a = stack(M, K, aT, seed);
          const b = stack(K, N, bT, seed + 1);
          // C starts as NaN: every element of the product must be written, not added to.
          const cStrides = batchShape.map((_, d) => batchShape.slice(d + 1).reduce((n, e) => n * e, M * N));
          const c = { data: new make(batch * M * N).fill(NaN), offset: 0, batchStrides: cStrides, rowStride: N, colStride: 1 };
          const total = byColumns ? N : batch * M;
          const middle = Math.floor(split * total);
          // a bias every other element of its buffer
          const bias = withBias ? { data: new make(values(2 * N, seed + 2)), offset: 1, stride: 2 } : null;
          const args = { batchShape, M, N, K, a, b, c, wasm, fma: true, byColumns, bias };
          gemmPart(args, 0, middle);
          gemmPart(args, middle, total);
          const expected = new make(batch * M * N);
          for (let i = 0; i < batch; i++) {
            // item i = (i_0, i_1) in row-major order; a and b keep dim d's items batchStrides[d] apart
            const index = batchShape.map((_, d) => Math.floor(i / batchShape.slice(d + 1).reduce((n, e) => n * e, 1)) % batchShape[d]);
            const start = (s: typeof a) => index.reduce((o, j, d) => o + j * s.batchStrides[d], s.offset);
            const item = (s: typeof a) => ({ data: s.data, offset: start(s), rowStride: s.rowStride, colStride: s.colStride });
            gemmReference({ M, N, K, a: item(a), b: item(b), c: expected, cOffset: i * M * N, ldc: N, bias });
          }
          // |A_ik B_kj| <= 4: the error bound of a length-K sum (float64 accumulation in the TypeScript kernel is tighter).
          const tolerance = 8 * (K + 2) * K * (float32 ? 2 ** -24 : 2 ** -53);
          for (let i = 0; i < expected.length; i++) expect(Math.abs(c.data[i] - expected[i]), `C[${i}]`).to.be.at.most(tolerance);
        },
      ),
      runs(80),
    );
  });

  it('a long batch of small items, run a group at a time in one pass each, gives the bits of the items one by one (any split)', () => {
    // 200 items of 96 x 256 by 256 x 96: 3 groups of at most 85 (ITEMS_GROUP), and a split mid-item
    const [items, M, N, K] = [200, 96, 96, 256];
    const a = { data: Float32Array.from(values(items * M * K, 1)), offset: 0, batchStrides: [M * K], rowStride: K, colStride: 1 };
    const b = { data: Float32Array.from(values(items * K * N, 2)), offset: 0, batchStrides: [K * N], rowStride: 1, colStride: K };
    const c = { data: new Float32Array(items * M * N).fill(NaN), offset: 0, batchStrides: [M * N], rowStride: N, colStride: 1 };
    const args = { batchShape: [items], M, N, K, a, b, c, wasm: true, fma: false, byColumns: false, bias: null };
    const middle = 101 * M + 17;
    gemmPart(args, 0, middle);
    gemmPart(args, middle, items * M);
    const expected = new Float32Array(items * M * N);
    for (let i = 0; i < items; i++) {
      gemmWasm({ dtype: 'float32', fma: false }, {
        M, N, K, c: expected, cOffset: i * M * N, ldc: N,
        a: { data: a.data, offset: i * M * K, rowStride: K, colStride: 1 },
        b: { data: b.data, offset: i * K * N, rowStride: 1, colStride: K },
      });
    }
    for (let i = 0; i < expected.length; i++) if (!Object.is(c.data[i], expected[i])) throw new Error(`C[${i}] is ${c.data[i]}, item by item ${expected[i]}`);
  });
});
