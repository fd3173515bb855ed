// The float32 WebAssembly SIMD kernels for softmax, log-softmax, LayerNorm and GELU
// (softmax-layer-norm-wasm.ts, elementwise-wasm.ts) against the float64 TypeScript kernels, on the same
// float32 inputs: random shapes (rows of every length mod 4, n = 1, long rows that span
// blocks), small and large magnitudes, -Infinity, +Infinity and NaN. The bar is float32
// accuracy: |simd - float64| <= TOL max(1, |float64|), NaN where the reference is NaN and
// the same infinities. Then: results independent of the thread count, and the TypeScript
// fallbacks (simd: false, strided inputs) on the same bar.

import { expect } from 'chai';
import fc from 'fast-check';
import * as T from '../../../src/index.js';
import { layerNormRows } from '../../../src/backends/cpu/softmax-layer-norm/layer-norm.js';
import { layerNormRowsWasm, wasmSoftmaxLayerNormAvailable } from '../../../src/backends/cpu/softmax-layer-norm/softmax-layer-norm-wasm.js';
import { wasmElementwiseAvailable } from '../../../src/backends/cpu/elementwise/elementwise-wasm.js';
import { runs, seedArb } from '../../helpers/cases.js';
import { withSimd, withThreads } from '../../helpers/cpu-settings.js';

/** A few float32 ulps of 1. */
const TOL = 2e-6;

/** Seeded values: scale * uniform(-1, 1), and where `special`, some -inf, +inf and NaN. */
function float32Values(n: number, seed: number, scale: number, special: boolean): Float32Array {
  const gen = new T.Generator(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = scale * (2 * gen.random() - 1);
    const u = gen.random();
    if (special && u < 0.05) out[i] = -Infinity;
    else if (special && u < 0.07) out[i] = Infinity;
    else if (special && u < 0.09) out[i] = NaN;
  }
  return out;
}

/** Throws at the first element off the float32 bar; returns the largest error seen. */
function expectFloat32Close(actual: ArrayLike<number>, reference: ArrayLike<number>, what: string, tol = TOL): number {
  expect(actual.length, what).to.equal(reference.length);
  let worst = 0;
  for (let i = 0; i < reference.length; i++) {
    const [a, r] = [actual[i], reference[i]];
    const ok = Number.isNaN(r) ? Number.isNaN(a) : Number.isFinite(r) ? Math.abs(a - r) <= tol * Math.max(1, Math.abs(r)) : a === r;
    if (!ok) throw new Error(`${what}: element ${i} is ${a}, expected ${r} (float64)`);
    if (Number.isFinite(r)) worst = Math.max(worst, Math.abs(a - r) / Math.max(1, Math.abs(r)));
  }
  return worst;
}

const asFloat64 = (x: Float32Array, shape: number[]) => T.tensor(Float64Array.from(x), { shape, dtype: 'float64' });
const asFloat32 = (x: Float32Array, shape: number[]) => T.tensor(x, { shape, dtype: 'float32' });

const rowsArb = fc.record({
  rows: fc.integer({ min: 1, max: 9 }),
  n: fc.oneof(fc.integer({ min: 1, max: 70 }), fc.constantFrom(127, 128, 129, 1000, 8191, 8193)),
  scale: fc.constantFrom(1e-3, 1, 30, 1e3),
  seed: seedArb,
});

describe('float32 SIMD softmax, LayerNorm and GELU', () => {
  before(function () {
    if (wasmSoftmaxLayerNormAvailable() && wasmElementwiseAvailable('gelu')) return;
    // Node >= 20 always has WebAssembly SIMD; only a runtime without it (an old browser) skips.
    const reason = 'this runtime has no WebAssembly SIMD; these ops use the plain TypeScript kernels';
    if (process.env.CI === 'true') throw new Error(`WebAssembly SIMD is required in CI: ${reason}`);
    console.log(`    [wasm] skipping the SIMD activation tests: ${reason}`);
    this.skip();
  });

  for (const [name, f] of [['softmax', T.softmax], ['logSoftmax', T.logSoftmax]] as const) {
    it(`${name} along the last dim is within float32 accuracy of float64 (with -inf, +inf and NaN in rows)`, () => {
      fc.assert(
        fc.property(rowsArb, fc.boolean(), ({ rows, n, scale, seed }, special) => {
          const x = float32Values(rows * n, seed, scale, special);
          const shape = [rows, n];
          expectFloat32Close(f(asFloat32(x, shape), -1).dataSync(), f(asFloat64(x, shape), -1).dataSync(), `${name} [${shape}], scale ${scale}`);
        }),
        runs(200),
      );
    });
  }

  it('softmax gives 0 for -inf, NaN for rows of -inf and rows with NaN, as the float64 kernel does', () => {
    const x = Float32Array.of(-Infinity, 0, -200, 5, -Infinity, -Infinity, -Infinity, -Infinity, 1, NaN, 2, 3, Infinity, 1, 2, 3);
    const y = T.softmax(asFloat32(x, [4, 4]), -1).dataSync();
    expect(y[0]).to.equal(0);
    expect(y[2]).to.equal(0);
    expectFloat32Close(y, T.softmax(asFloat64(x, [4, 4]), -1).dataSync(), 'special rows');
    expect(Array.from(y.slice(4)).every(Number.isNaN)).to.equal(true);
  });

  it('LayerNorm (output, mean and rstd) is within float32 accuracy of float64, with and without weight and bias', () => {
    fc.assert(
      fc.property(rowsArb, fc.boolean(), fc.double({ min: -1, max: 1, noNaN: true }), ({ rows, n, scale, seed }, affine, shift) => {
        // values around shift * scale: the mean at most as far from 0 as the spread, so float32 sums stay accurate
        const x = float32Values(rows * n, seed, scale, false).map((v) => v + shift * scale);
        const w = affine ? float32Values(n, seed + 1, 2, false) : null;
        const b = affine ? float32Values(n, seed + 2, 2, false) : null;
        const run = <A extends Float32Array | Float64Array>(make: (n: number) => A, kernel: typeof layerNormRows) => {
          const vector = (v: Float32Array | null) => (v === null ? null : { data: make(n).map((_, i) => v[i]), offset: 0, stride: 1 });
          const args = { x: { data: make(rows * n).map((_, i) => x[i]), shape: [rows, n], strides: [n, 1], offset: 0 }, weight: vector(w), bias: vector(b), eps: 1e-5, out: make(rows * n), mean: make(rows), rstd: make(rows) };
          kernel(args, 0, rows);
          return args;
        };
        const simd = run((k) => new Float32Array(k), layerNormRowsWasm);
        const ref = run((k) => new Float64Array(k), layerNormRows);
        const what = `layerNorm [${rows}, ${n}], scale ${scale}, shift ${shift}`;
        // the output is normalized: an error in the mean of ulp(|mean|) moves it by about ulp(|mean|) * rstd
        const conditioned = TOL * (1 + Math.abs(shift) * 4);
        expectFloat32Close(simd.out, ref.out, `${what}: output`, conditioned);
        expectFloat32Close(simd.mean, ref.mean, `${what}: mean`, TOL * scale);
        ref.rstd.forEach((r, i) => expect(Math.abs(simd.rstd[i] - r), `${what}: rstd ${i}`).to.be.at.most(conditioned * r));
      }),
      runs(200),
    );
  });

  it('LayerNorm and softmax through the ops (SIMD and contiguous TypeScript kernels) match float64', () => {
    for (const [rows, n] of [[3, 1], [5, 7], [33, 192], [2, 9000]]) {
      const x = float32Values(rows * n, rows + n, 3, false);
      const w = float32Values(n, 7, 1, false);
      const b = float32Values(n, 8, 1, false);
      const ref = T.layerNorm(asFloat64(x, [rows, n]), [n], asFloat64(w, [n]), asFloat64(b, [n])).dataSync();
      const refSoftmax = T.softmax(asFloat64(x, [rows, n]), -1).dataSync();
      for (const simd of [true, false]) {
        const y = withSimd(simd, () => T.layerNorm(asFloat32(x, [rows, n]), [n], asFloat32(w, [n]), asFloat32(b, [n])).dataSync());
        expectFloat32Close(y, ref, `layerNorm [${rows}, ${n}], simd: ${simd}`);
        expectFloat32Close(withSimd(simd, () => T.softmax(asFloat32(x, [rows, n]), -1).dataSync()), refSoftmax, `softmax [${rows}, ${n}], simd: ${simd}`);
      }
    }
  });

  it('GELU and its gradient are within float32 accuracy of float64 (every range of erf, +-inf, NaN)', () => {
    // every range of the erf approximation, |x| / sqrt 2 below 0.84375, to 1.25, 2.857, 4 and beyond
    const n = 200_003;
    const x = new Float32Array(n).map((_, i) => (i / n - 0.5) * 16);
    x.set([NaN, Infinity, -Infinity, 0, -0, 1e-30, -1e-30, 1e30, -1e30, 3.5e38]);
    const g = float32Values(n, 11, 3, false);
    const grad = (xt: T.Tensor, gt: T.Tensor) => T.grad(T.gelu(xt), [xt], { gradOutputs: gt })[0]!.dataSync();
    const worstGelu = expectFloat32Close(T.gelu(asFloat32(x, [n])).dataSync(), T.gelu(asFloat64(x, [n])).dataSync(), 'gelu');
    const x32 = asFloat32(x, [n]).requiresGrad_(true);
    const x64 = asFloat64(x, [n]).requiresGrad_(true);
    const worstGrad = expectFloat32Close(grad(x32, asFloat32(g, [n])), grad(x64, asFloat64(g, [n])), 'gelu gradient');
    expect(worstGelu).to.be.below(3e-7);
    expect(worstGrad).to.be.below(3e-7);
  });

  it('GELU on random shapes and magnitudes matches float64', () => {
    fc.assert(
      fc.property(rowsArb, fc.boolean(), ({ rows, n, scale, seed }, special) => {
        const x = float32Values(rows * n, seed, scale, special);
        expectFloat32Close(T.gelu(asFloat32(x, [rows, n])).dataSync(), T.gelu(asFloat64(x, [rows, n])).dataSync(), `gelu [${rows}, ${n}], scale ${scale}`);
      }),
      runs(100),
    );
  });

  it('gives a view of some rows (x[:, 0], stride 1 along the last dim) the bits of the whole tensor', () => {
    const x = T.randn([3, 17, 33]);
    const w = T.randn([33]);
    const ops: [string, (t: T.Tensor) => T.Tensor][] = [
      ['softmax', (t) => T.softmax(t, -1)],
      ['logSoftmax', (t) => T.logSoftmax(t, -1)],
      ['layerNorm', (t) => T.layerNorm(t, [33], w, w)],
    ];
    for (const [name, f] of ops) {
      expect(Array.from(f(x.select(1, 0)).dataSync()), name).to.deep.equal(Array.from(f(x).select(1, 0).dataSync()));
    }
  });

  it('gives the same bits on 1, 2 and 3 threads', () => {
    // large enough for the softmax and LayerNorm kernels to split (SIMD_ROWS_GRAIN)
    const x = T.randn([2800, 769]);
    const w = T.randn([769]);
    const ops: [string, () => T.Tensor][] = [
      ['softmax', () => T.softmax(x, -1)],
      ['logSoftmax', () => T.logSoftmax(x, -1)],
      ['layerNorm', () => T.layerNorm(x, [769], w, w)],
      ['gelu', () => T.gelu(x)],
    ];
    for (const [name, f] of ops) {
      const one = Array.from(withThreads(1, () => f().dataSync()));
      for (const n of [2, 3]) expect(Array.from(withThreads(n, () => f().dataSync())), `${name}, ${n} threads`).to.deep.equal(one);
    }
  });

  it('the TypeScript fallbacks (simd: false, strided views, a dim that is not the last) meet the same bar', () => {
    const x = float32Values(6 * 7 * 9, 5, 4, false);
    const [x32, x64] = [asFloat32(x, [6, 7, 9]), asFloat64(x, [6, 7, 9])];
    const cases: [string, (t: T.Tensor) => T.Tensor][] = [
      ['softmax', (t) => T.softmax(t, -1)],
      ['softmax dim 1', (t) => T.softmax(t, 1)],
      ['softmax transposed', (t) => T.softmax(t.transpose(1, 2), -1)],
      ['logSoftmax', (t) => T.logSoftmax(t, -1)],
      ['layerNorm', (t) => T.layerNorm(t, [9])],
      ['layerNorm transposed', (t) => T.layerNorm(t.transpose(1, 2), [7])],
      ['gelu', (t) => T.gelu(t)],
      ['gelu transposed', (t) => T.gelu(t.transpose(0, 2))],
    ];
    for (const [name, f] of cases) {
      const ref = f(x64).dataSync();
      expectFloat32Close(withSimd(false, () => f(x32).dataSync()), ref, `${name}, simd: false`);
      expectFloat32Close(withSimd(true, () => f(x32).dataSync()), ref, `${name}, simd: true`);
    }
  });
});
