import { expect } from 'chai';
import fc from 'fast-check';
import { sleb, uleb } from '../../../../src/backends/cpu/wasm/assembler.js';
import { gemmItemsWasm, gemmWasm, relaxedSimdAvailable, wasmGemmAvailable } from '../../../../src/backends/cpu/matmul/gemm-wasm.js';
import { gemmReference } from '../../../../src/backends/cpu/matmul/gemm-reference.js';
import { type MatrixView, gemm } from '../../../../src/backends/cpu/matmul/gemm.js';
import { seedArb, values } from '../../../helpers/cases.js';

/** n seeded values in [-1, 1] in an array of the given type. */
function randomArray(make: { from(values: ArrayLike<number>): Float32Array | Float64Array }, n: number, seed: number): Float32Array | Float64Array {
  return make.from(values(n, seed, { low: -1, high: 1 }));
}

/**
 * A as an M x K view over a larger buffer: an offset, and row-major, column-major or padded
 * rows; `step` apart along its contiguous dim (step 2: no unit stride at all).
 */
function view(data: Float32Array | Float64Array, rows: number, cols: number, transposed: boolean, pad: number, offset: number, step = 1): MatrixView {
  return transposed
    ? { data, offset, rowStride: step, colStride: step * rows + pad }
    : { data, offset, rowStride: step * cols + pad, colStride: step };
}

describe('WebAssembly assembler', () => {
  it('encodes LEB128 as the specification does', () => {
    expect(uleb(0)).to.deep.equal([0]);
    expect(uleb(127)).to.deep.equal([0x7f]);
    expect(uleb(128)).to.deep.equal([0x80, 0x01]);
    expect(uleb(624485)).to.deep.equal([0xe5, 0x8e, 0x26]);
    expect(sleb(-1)).to.deep.equal([0x7f]);
    expect(sleb(63)).to.deep.equal([0x3f]);
    expect(sleb(64)).to.deep.equal([0xc0, 0x00]);
    expect(sleb(-64)).to.deep.equal([0x40]);
    expect(sleb(-123456)).to.deep.equal([0xc0, 0xbb, 0x78]);
  });
});

describe('WebAssembly SIMD GEMM kernel', () => {
  before(function () {
    if (wasmGemmAvailable('float32')) return;
    // Node >= 20 always has WebAssembly SIMD; only a runtime without it (an old browser) skips.
    const reason = 'this runtime has no WebAssembly SIMD; matmul uses the plain TypeScript kernel';
    if (process.env.CI === 'true') throw new Error(`WebAssembly SIMD GEMM is required in CI: ${reason}`);
    console.log(`    [wasm] skipping the SIMD kernel tests: ${reason}`);
    this.skip();
  });

  it('has relaxed SIMD for the fused multiply-add under Node (set at run time on Node 20)', () => {
    expect(relaxedSimdAvailable()).to.equal(true);
  });

  for (const [dtype, make, eps] of [['float32', Float32Array, 2 ** -24], ['float64', Float64Array, 2 ** -53]] as const) for (const fma of [false, true]) {
    it(`${dtype}${fma ? ', fused multiply-add' : ''}: C = A B equals the reference on random shapes, strides and row ranges`, () => {
      fc.assert(
        fc.property(
          fc.record({
            M: fc.integer({ min: 1, max: 70 }),
            N: fc.integer({ min: 1, max: 70 }),
            K: fc.integer({ min: 1, max: 300 }),
            aT: fc.boolean(),
            bT: fc.boolean(),
            // a few padding elements per line, or a narrow slice of a wide matrix (the
            // operand then spans over twice what the product reads: its unit-stride runs are
            // copied into the module one by one, or, with step 2, it is packed in TypeScript)
            pad: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constant(200)),
            step: fc.constantFrom(1, 1, 2),
            offset: fc.integer({ min: 0, max: 5 }),
            seed: seedArb,
            split: fc.double({ min: 0, max: 1, noNaN: true }),
          }),
          ({ M, N, K, aT, bT, pad, step, offset, seed, split }) => {
            const size = (rows: number, cols: number) => offset + (step * Math.max(rows, cols) + pad) * Math.max(rows, cols);
            const a = view(randomArray(make, size(M, K), seed), M, K, aT, pad, offset, step);
            const b = view(randomArray(make, size(K, N), seed + 1), K, N, bT, pad, offset, step);
            const ldc = N + pad;
            // C starts out random: the kernel overwrites it (padding columns excepted).
            const initial = randomArray(make, M * ldc, seed + 2);
            const expected = new make(M * ldc);
            gemmReference({ M, N, K, a, b, c: expected, cOffset: 0, ldc });
            const actual = initial.slice();
            // Two calls over complementary row ranges, as two threads would make.
            const middle = Math.floor(split * M);
            gemmWasm({ dtype, fma }, { M, N, K, a, b, c: actual, cOffset: 0, ldc, rowBegin: 0, rowEnd: middle });
            gemmWasm({ dtype, fma }, { M, N, K, a, b, c: actual, cOffset: 0, ldc, rowBegin: middle, rowEnd: M });
            // Every |A_ik B_kj| <= 1: the error bound of a length-K float sum.
            const tolerance = 2 * (K + 2) * eps * (K + 1);
            for (let i = 0; i < M; i++) {
              for (let j = 0; j < ldc; j++) {
                const at = i * ldc + j;
                if (j >= N) expect(actual[at], 'padding column untouched').to.equal(initial[at]);
                else expect(Math.abs(actual[at] - expected[at]), `C[${i},${j}]`).to.be.at.most(tolerance);
              }
            }
          },
        ),
        { numRuns: 60 },
      );
    });
  }

  for (const N of [600, 1001]) it(`float32: large blocked products (several KC slices${N > 768 ? ' and NC tiles' : ''}, N = ${N}) match the reference`, () => {
    const M = 97;
    const K = 300;
    const a = view(randomArray(Float32Array, M * K, 1), M, K, false, 0, 0);
    const b = view(randomArray(Float32Array, K * N, 2), K, N, true, 0, 0);
    const expected = new Float32Array(M * N);
    gemmReference({ M, N, K, a, b, c: expected, cOffset: 0, ldc: N });
    const actual = new Float32Array(M * N);
    gemmWasm({ dtype: 'float32', fma: true }, { M, N, K, a, b, c: actual, cOffset: 0, ldc: N });
    let worst = 0;
    for (let i = 0; i < M * N; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
    expect(worst).to.be.greaterThan(0).and.at.most(1e-3);
  });

  it('adds a bias to each row of the product with the bits of a separate add, on both kernels (tiles, padding, row ranges, K = 0)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 1100 }), fc.integer({ min: 0, max: 300 }), fc.boolean(), fc.boolean(), seedArb,
        (M, N, K, float32, typescript, seed) => {
          const make = float32 ? Float32Array : Float64Array;
          const a = view(randomArray(make, M * K, seed), M, K, false, 0, 0);
          const b = view(randomArray(make, K * N, seed + 1), K, N, true, 0, 0);
          const bias = { data: randomArray(make, 3 * N, seed + 2), offset: 2, stride: 3 };
          const run = (withBias: boolean) => {
            const c = new make(M * N);
            const problem = { M, N, K, a, b, c, cOffset: 0, ldc: N, bias: withBias ? bias : null };
            const middle = M >> 1;
            for (const [rowBegin, rowEnd] of [[0, middle], [middle, M]]) {
              if (typescript) gemm({ ...problem, rowBegin, rowEnd });
              else gemmWasm({ dtype: float32 ? 'float32' : 'float64', fma: true }, { ...problem, rowBegin, rowEnd });
            }
            return c;
          };
          const separate = run(false);
          for (let i = 0; i < M * N; i++) separate[i] += bias.data[bias.offset + (i % N) * bias.stride];
          expect(Array.from(run(true))).to.deep.equal(Array.from(separate));
        }),
      { numRuns: 40 },
    );
  });

  it('leaves C alone when the row range is empty, and zeroes its rows when K is 0', () => {
    const c = new Float32Array([1, 2, 3, 4]);
    const a = { data: new Float32Array([1, 1]), offset: 0, rowStride: 1, colStride: 1 };
    gemmWasm({ dtype: 'float32', fma: false }, { M: 2, N: 2, K: 1, a, b: a, c, cOffset: 0, ldc: 2, rowBegin: 1, rowEnd: 1 });
    expect([...c]).to.deep.equal([1, 2, 3, 4]);
    const empty = { data: new Float32Array(0), offset: 0, rowStride: 0, colStride: 1 };
    gemmWasm({ dtype: 'float32', fma: false }, { M: 2, N: 2, K: 0, a: empty, b: empty, c, cOffset: 0, ldc: 2, rowBegin: 1, rowEnd: 2 });
    expect([...c]).to.deep.equal([1, 2, 0, 0]);
  });

  it('runs a batch of small items in one pass (gemmItemsWasm) with the bits of gemmWasm item by item: operands sharing one array (q and k in a qkv projection) or not, transposed, a bias, gathered or strided outputs', () => {
    let ran = 0;
    let cases = 0;
    fc.assert(
      fc.property(
        fc.record({
          items: fc.integer({ min: 1, max: 20 }),
          M: fc.integer({ min: 1, max: 96 }),
          N: fc.integer({ min: 1, max: 80 }),
          K: fc.oneof(fc.integer({ min: 1, max: 70 }), fc.constant(256)),
          heads: fc.integer({ min: 1, max: 2 }),
          shared: fc.boolean(),
          bT: fc.boolean(),
          withBias: fc.boolean(),
          gathered: fc.boolean(),
          float32: fc.boolean(),
          fma: fc.boolean(),
          seed: seedArb,
        }),
        ({ items, M, N, K, heads, shared, bT, withBias, gathered, float32, fma, seed }) => {
          const make = float32 ? Float32Array : Float64Array;
          const dtype = float32 ? 'float32' : 'float64';
          // attention's layout: each item a block of rows of `heads + 1` interleaved matrices; A
          // ([M, K]) first, B second (as B^T, [N, K], where bT: q k^T's k), in the same array
          // where `shared` (q and k of one qkv projection), else in an array of its own
          const line = Math.max(K, N);
          const width = (heads + 1) * line;
          const rows = Math.max(M, N, K);
          const qkv = randomArray(make, items * rows * width + 3, seed);
          const other = shared ? qkv : randomArray(make, items * rows * width + 3, seed + 1);
          const a = { data: qkv, rowStride: width, colStride: 1, offsets: Array.from({ length: items }, (_, i) => 3 + i * rows * width) };
          const bStrides = bT ? { rowStride: 1, colStride: width } : { rowStride: width, colStride: 1 };
          const b = { data: other, ...bStrides, offsets: Array.from({ length: items }, (_, i) => 3 + i * rows * width + line) };
          const bias = withBias ? { data: randomArray(make, 2 * N, seed + 2), offset: 1, stride: 2 } : null;
          // C gathered (items side by side) or strided (rows 2N + 1 apart, gaps between items)
          const ldc = gathered ? N : 2 * N + 1;
          const cOffsets = Array.from({ length: items }, (_, i) => (gathered ? i * M * N : 5 + i * (M * ldc + 7)));
          const size = gathered ? items * M * N : 5 + items * (M * ldc + 7);
          const c = new make(size).fill(NaN);
          const expected = new make(size).fill(NaN);
          for (let i = 0; i < items; i++) {
            gemmWasm({ dtype, fma }, {
              M, N, K, c: expected, cOffset: cOffsets[i], ldc, bias,
              a: { data: a.data, offset: a.offsets[i], rowStride: a.rowStride, colStride: a.colStride },
              b: { data: b.data, offset: b.offsets[i], rowStride: b.rowStride, colStride: b.colStride },
            });
          }
          cases++;
          // declined where the blocks hold over 4x what the products read (tested below): C untouched
          const done = gemmItemsWasm({ dtype, fma }, { M, N, K, a, b, c, ldc, cOffsets, bias });
          if (done) ran++;
          for (let i = 0; i < size; i++) {
            const want = done ? expected[i] : NaN;
            if (!Object.is(c[i], want)) throw new Error(`C[${i}] is ${c[i]}, expected ${want} (${done ? 'item by item' : 'declined'}; ${items} items of ${M}x${K} @ ${K}x${N})`);
          }
        },
      ),
      { numRuns: 80, seed: 20261207 },
    );
    expect(ran, `batches run in one pass, of ${cases}`).to.be.at.least(cases / 4);
  });

  it('declines (writing nothing) items that do not fit one tile or whose operands are spread thinly over memory', () => {
    const item = (M: number, N: number, K: number, spread: number) => {
      const data = new Float32Array(2 * spread * (M + N) * K + 1).fill(1);
      const a = { data, rowStride: K, colStride: 1, offsets: [0, spread * (M + N) * K] };
      const b = { data, rowStride: N, colStride: 1, offsets: [M * K, spread * (M + N) * K + M * K] };
      const c = new Float32Array(2 * M * N).fill(NaN);
      const done = gemmItemsWasm({ dtype: 'float32', fma: false }, { M, N, K, a, b, c, ldc: N, cOffsets: [0, M * N], bias: null });
      return { done, untouched: c.every(Number.isNaN) };
    };
    expect(item(8, 8, 8, 2)).to.deep.equal({ done: true, untouched: false });
    expect(item(8, 8, 8, 9)).to.deep.equal({ done: false, untouched: true });
    expect(item(97, 8, 8, 1)).to.deep.equal({ done: false, untouched: true });
    expect(item(8, 8, 257, 1)).to.deep.equal({ done: false, untouched: true });
    expect(item(8, 800, 8, 1)).to.deep.equal({ done: false, untouched: true });
  });
});
