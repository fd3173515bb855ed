import { expect } from 'chai';
import fc from 'fast-check';
import { sleb, uleb } from '../../../../src/backends/cpu/wasm/assembler.js';
import { gemmWasm, relaxedSimdAvailable, wasmGemmAvailable } from '../../../../src/backends/cpu/matmul/gemm-wasm.js';
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
});
