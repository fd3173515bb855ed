// The CPU backend's fused kernels and fast paths against the general code they replace:
// each fast result is compared with the composed ops or the single-threaded strided loop
// on random shapes (sizes 1 and odd sizes included), broadcasting, permuted and sliced
// views, in float32 and float64.

import { expect } from 'chai';
import fc from 'fast-check';
import * as T from '../../../src/index.js';
import { type Layout, broadcastPairArb, layoutArb, makeTensor, runs, seedArb, shapeArb } from '../../helpers/cases.js';
import { withSimd, withThreads } from '../../helpers/cpu-settings.js';
import { SUM_CHUNK, sumChunks, sumOfSquaresChunks } from '../../../src/backends/cpu/elementwise/sum-chunks.js';
import { wasmSumChunksAvailable } from '../../../src/backends/cpu/elementwise/sum-chunks-wasm.js';
import { layerNormParamGradFits, wasmLayerNormGradAvailable } from '../../../src/backends/cpu/softmax-layer-norm/layer-norm-grad-wasm.js';
import { wasmLayerNormBackwardAvailable } from '../../../src/backends/cpu/softmax-layer-norm/layer-norm-backward-wasm.js';
import { PARAM_GRAD_BLOCK, layerNormBackwardRows, layerNormParamGradColumns } from '../../../src/backends/cpu/softmax-layer-norm/layer-norm.js';

const dtypeArb = fc.constantFrom('float64' as const, 'float32' as const);

/**
 * Skips a test of a WebAssembly SIMD kernel where the runtime has no WebAssembly SIMD (an old
 * browser; the plain TypeScript loops then run, tested on their own), saying why; in CI,
 * whose Node always has it, fails instead.
 */
function requireWasm(context: Mocha.Context, available: boolean, what: string, fallback: string): void {
  if (available) return;
  const reason = `this runtime has no WebAssembly SIMD; ${fallback}`;
  if (process.env.CI === 'true') throw new Error(`WebAssembly SIMD is required in CI: ${reason}`);
  console.log(`    [wasm] skipping ${what}: ${reason}`);
  context.skip();
}

/** Bitwise equality of two float arrays (any NaN equals any NaN: the SIMD unit may pick another NaN payload). */
function expectSameBits(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  expect(actual.length, what).to.equal(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i]) && !(Number.isNaN(actual[i]) && Number.isNaN(expected[i]))) {
      throw new Error(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

function expectClose(actual: T.Tensor, expected: T.Tensor, tol: number, what: string): void {
  expect(actual.shape, what).to.deep.equal(expected.shape);
  const a = actual.dataSync();
  const e = expected.dataSync();
  for (let i = 0; i < e.length; i++) {
    if (!(Math.abs(a[i] - e[i]) <= tol * (1 + Math.abs(e[i])))) {
      throw new Error(`${what}: element ${i} of shape [${expected.shape.join(', ')}] is ${a[i]}, expected ${e[i]}`);
    }
  }
}

/** LayerNorm's input, weight, bias and upstream gradient gradients: fused (plain backward) and composed (createGraph). */
function layerNormGrads(shape: number[], k: number, layout: Layout, seed: number, dtype: 'float32' | 'float64', affine: boolean) {
  const x = makeTensor(shape, layout, seed, { dtype, requiresGrad: true });
  const tail = shape.slice(shape.length - k);
  const w = affine ? makeTensor(tail, 'contiguous', seed + 1, { dtype, requiresGrad: true }) : null;
  const b = affine ? makeTensor(tail, 'stepped', seed + 2, { dtype, requiresGrad: true }) : null;
  // the upstream gradient as a permuted view, so that the kernel reads a strided g
  const g = makeTensor(shape, layout === 'contiguous' ? 'permuted' : 'contiguous', seed + 3, { dtype });
  const inputs = [x, ...(w && b ? [w, b] : [])];
  const run = (createGraph: boolean) => T.grad(T.layerNorm(x, tail, w, b, 1e-5), inputs, { gradOutputs: g, createGraph }) as T.Tensor[];
  return { fused: run(false), composed: run(true) };
}

describe('CPU fused kernels', () => {
  it('LayerNorm backward matches the composed formula (strided inputs and gradients, with and without weight and bias)', () => {
    fc.assert(
      fc.property(
        shapeArb({ minDims: 1, maxDims: 4, maxSize: 7, maxNumel: 120 }), fc.integer({ min: 1, max: 2 }), layoutArb, seedArb, dtypeArb, fc.boolean(),
        (shape, k, layout, seed, dtype, affine) => {
          const kk = Math.min(k, shape.length);
          const { fused, composed } = layerNormGrads(shape, kk, layout, seed, dtype, affine);
          const tol = dtype === 'float64' ? 1e-12 : 2e-5;
          fused.forEach((f, i) => expectClose(f, composed[i], tol, `gradient ${i} (shape [${shape}], ${dtype}, ${layout})`));
        },
      ),
      runs(60),
    );
  });

  it('LayerNorm forward and backward give the same bits on 1 and 2 threads (rows split over threads)', () => {
    // 600 x 512 elements: past the grain, so both kernels are split; the weight is small and on ordinary memory
    const x = T.randn([600, 512], { requiresGrad: true });
    const w = T.randn([512], { requiresGrad: true });
    const b = T.randn([512], { requiresGrad: true });
    const g = T.randn([600, 512]);
    const run = () => {
      const y = T.layerNorm(x, [512], w, b);
      return [y, ...(T.grad(y, [x, w, b], { gradOutputs: g }) as T.Tensor[])].map((t) => Array.from(t.dataSync()));
    };
    const one = withThreads(1, run);
    const two = withThreads(2, run);
    two.forEach((t, i) => expect(t, `output ${i}`).to.deep.equal(one[i]));
  });

  it("LayerNorm's float32 weight and bias gradients on the SIMD kernel give the bits of the TypeScript loop (row batches, column groups, partial blocks, offsets)", function () {
    requireWasm(this, wasmLayerNormGradAvailable(), 'the SIMD LayerNorm gradients test', 'the gradients use the plain TypeScript loop');
    // [5000, 16]: two batches of rows; [7, 2050]: three groups of columns and a partial block;
    // [300, 193]; [1, 4]; [12, 65] from an offset. The kernel function itself, on the same
    // inputs, SIMD and not; the split over threads is the backend's, tested above.
    for (const [rows, D, offset] of [[5000, 16, 0], [7, 2050, 0], [300, 193, 0], [1, 4, 0], [12, 65, 3]]) {
      const values = (n: number, seed: number) => Float32Array.from(makeTensor([n], 'contiguous', seed, { dtype: 'float32' }).dataSync());
      const stats = (seed: number) => Float32Array.from(values(rows, seed), (v) => Math.abs(v) + 0.5);
      const matrix = (seed: number) => ({ data: values(offset + rows * D, seed), offset, shape: [rows, D], strides: [D, 1] });
      const inputs = { g: matrix(D), x: matrix(D + 1), weight: null, mean: values(rows, D + 2), rstd: stats(D + 3), dx: new Float32Array(0) };
      const run = (simd: boolean) => {
        const sums = { dweight: new Float64Array(D), dbias: new Float64Array(D) };
        layerNormParamGradColumns({ ...inputs, ...sums, simd }, 0, Math.ceil(D / PARAM_GRAD_BLOCK));
        return [...sums.dweight, ...sums.dbias];
      };
      expect(layerNormParamGradFits(inputs), `[${rows}, ${D}] fits the kernel`).to.equal(true);
      expectSameBits(run(true), run(false), `weight and bias gradients of [${rows}, ${D}] from ${offset}`);
    }
  });

  it("LayerNorm's float32 input gradient on the SIMD kernel gives the bits of the TypeScript loop (row batches, odd rows and ranges, gapped and permuted rows, weights strided or none, special values)", function () {
    requireWasm(this, wasmLayerNormBackwardAvailable(), 'the SIMD LayerNorm input gradient test', 'the gradient uses the plain TypeScript loop');
    const specials = [0, -0, 1e-40, -3e-39, 3e38, -2.5e38, 1e-30, 7];
    // [batch dims], D, row layout, weight, rows [begin, end)
    const cases: { shape: number[]; layout: 'contiguous' | 'gapped' | 'permuted'; weight: 'unit' | 'strided' | 'none'; begin?: number; end?: number; cancelling?: boolean }[] = [
      { shape: [700, 192], layout: 'contiguous', weight: 'unit' }, // three batches of rows
      { shape: [9, 4], layout: 'contiguous', weight: 'unit' }, // an odd last row
      { shape: [13, 36], layout: 'gapped', weight: 'strided', begin: 3, end: 12 },
      { shape: [2, 3, 8], layout: 'permuted', weight: 'none' },
      { shape: [5, 20], layout: 'contiguous', weight: 'none', begin: 1 },
      { shape: [6, 6], layout: 'contiguous', weight: 'unit' }, // D not a multiple of 4: the TypeScript loop
      // g constant and each row's true mean and rstd: a = g exactly and b = g mean(xhat), about 1e-17,
      // so dx = -rstd xhat b is float64 rounding noise, which only the same float64 operations
      // in the same order reproduce
      { shape: [64, 48], layout: 'contiguous', weight: 'none', cancelling: true },
    ];
    for (const [n, { shape, layout, weight, begin = 0, end, cancelling = false }] of cases.entries()) {
      const D = shape[shape.length - 1];
      const rows = shape.slice(0, -1).reduce((p, d) => p * d, 1);
      const values = (count: number, seed: number) => {
        const v = Float32Array.from(makeTensor([count], 'contiguous', seed, { dtype: 'float32' }).dataSync());
        specials.forEach((s, i) => (v[(i * 37 + seed) % count] = s));
        return v;
      };
      // rows D + 3 apart (gapped), or a [2, 3] batch walked with its dims swapped (permuted)
      const strides = layout === 'gapped' ? [D + 3, 1] : layout === 'permuted' ? [D, 2 * D, 1] : shape.map((_, d) => shape.slice(d + 1).reduce((p, k) => p * k, 1));
      const span = shape.reduce((s, k, d) => s + (k - 1) * strides[d], 1);
      const matrix = (seed: number) => ({ data: values(span + 2, seed), offset: 2, shape, strides });
      const w = weight === 'none' ? null : { data: values(3 * D, n + 50), offset: 1, stride: weight === 'strided' ? 2 : 1 };
      const mean = Float64Array.from(values(rows, n + 60), (v, i) => (i % 5 === 0 ? v : v / 3));
      const rstd = Float64Array.from(values(rows, n + 70), (v) => Math.abs(v) + 0.25);
      const [g, x] = [matrix(n + 1), matrix(n + 2)];
      if (cancelling) {
        x.data.set(values(x.data.length, n + 80).map((v) => v + 3)); // no specials
        g.data.fill(0.3);
        for (let r = 0; r < rows; r++) {
          const row = [...x.data.subarray(2 + r * D, 2 + (r + 1) * D)];
          mean[r] = row.reduce((s, v) => s + v, 0) / D;
          rstd[r] = 1 / Math.sqrt(row.reduce((s, v) => s + (v - mean[r]) ** 2, 0) / D + 1e-5);
        }
      }
      const run = (simd: boolean) => {
        const dx = new Float32Array(rows * D).fill(NaN);
        layerNormBackwardRows({ g, x, weight: w, mean, rstd, dx, simd }, begin, end ?? rows);
        return dx;
      };
      const expected = run(false);
      if (cancelling) expect(Math.max(...expected.map(Math.abs)), 'dx is rounding noise').to.be.within(1e-30, 1e-12);
      expectSameBits(run(true), expected, `dx of [${shape.join(', ')}], ${layout} rows, weight ${weight}, rows ${begin} to ${end ?? rows}`);
    }
  });

  it('elementwise ops with small broadcast inputs (bias, scalar) give the same bits on 1 and 2 threads', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 700 }), fc.integer({ min: 400, max: 900 }), dtypeArb, seedArb, (rows, cols, dtype, seed) => {
        const x = makeTensor([rows, cols], 'contiguous', seed, { dtype });
        const bias = makeTensor([cols], 'stepped', seed + 1, { dtype });
        const run = () => [T.add(x, bias), T.mul(x, 0.5), T.gelu(T.sub(bias, x))].map((t) => Array.from(t.dataSync()));
        const one = withThreads(1, run);
        const two = withThreads(2, run);
        two.forEach((t, i) => expect(t, `result ${i} of [${rows}, ${cols}] ${dtype}`).to.deep.equal(one[i]));
      }),
      runs(4),
    );
  });

  it('reductions split over kept dims give the same bits on 1 and 2 threads (permuted views, any reduced dims)', () => {
    const dimsArb = fc.subarray([0, 1, 2], { minLength: 1, maxLength: 2 });
    fc.assert(
      fc.property(fc.constantFrom<number[]>([64, 65, 73], [7, 201, 257], [300, 3, 333]), dimsArb, fc.constantFrom<Layout>('contiguous', 'permuted'), dtypeArb, seedArb, fc.boolean(),
        (shape, dims, layout, dtype, seed, max) => {
          const x = makeTensor(shape, layout, seed, { dtype });
          const run = () => Array.from((max ? T.amax(x, dims, true) : T.sum(x, dims, true)).dataSync());
          expect(withThreads(2, run), `${max ? 'amax' : 'sum'} over [${dims}] of [${shape}] ${layout}`).to.deep.equal(withThreads(1, run));
        }),
      runs(12),
    );
  });

  it('sums down the rows (a bias gradient, column-sums.ts) add each column in row order in float64, on 1 and 2 threads, on the SIMD kernel as in TypeScript', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 3 }), dtypeArb, seedArb,
        (rows, n, batch, pad, dtype, seed) => {
          // [batch, rows, n] with `pad` spare columns per row (a narrow view), summed over [0, 1]
          const wide = makeTensor([batch, rows, n + pad], 'contiguous', seed, { dtype });
          const x = wide.narrow(2, 0, n);
          const data = wide.dataSync();
          const expected = Array.from({ length: n }, (_, j) => {
            let s = 0;
            for (let i = 0; i < batch * rows; i++) s += data[i * (n + pad) + j];
            return dtype === 'float32' ? Math.fround(s) : s;
          });
          for (const threads of [1, 2]) {
            expectSameBits(withThreads(threads, () => T.sum(x, [0, 1]).dataSync()), expected, `[${batch}, ${rows}, ${n}] ${dtype}, ${threads} threads`);
          }
        }),
      runs(30),
    );
    // large enough to be split over threads, with a partial last block of columns
    const x = makeTensor([4000, 83], 'contiguous', 5, { dtype: 'float32' });
    const run = () => Array.from(T.sum(x, 0).dataSync());
    expectSameBits(withThreads(2, run), withThreads(1, run), 'sum over dim 0 of [4000, 83]');
    // the SIMD kernel (column-sums-wasm.ts) against the TypeScript loop: rows copied in several
    // batches, groups of columns, narrow views, and subnormal, infinite and NaN terms
    for (const [rows, n, pad] of [[3000, 40, 0], [5, 2050, 0], [700, 1030, 3], [2000, 16, 5], [9, 7, 0]] as const) {
      const wide = makeTensor([rows, n + pad], 'contiguous', rows + n, { dtype: 'float32' });
      const data = wide.dataSync() as Float32Array;
      [1e-45, -1e-39, Infinity, -Infinity, NaN, 3e38, 3e38].forEach((v, i) => (data[(i * 7919) % data.length] = v));
      const view = T.tensor(data, { shape: [rows, n + pad] }).narrow(1, 0, n);
      const sums = () => Array.from(T.sum(view, 0).dataSync());
      const plain = withSimd(false, () => withThreads(1, sums));
      for (const threads of [1, 2]) expectSameBits(withThreads(threads, sums), plain, `sum over dim 0 of [${rows}, ${n}] (of ${n + pad} columns), ${threads} threads`);
    }
  });

  it('sums along unit-stride rows (a weight norm, row-sums.ts) add each row in order in float64, on 1 and 2 threads', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 70 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 3 }), dtypeArb, seedArb,
        (rows, n, pad, rowStep, dtype, seed) => {
          // [rows, n]: every rowStep-th row of a wider matrix (`pad` spare columns), sometimes with special values
          const wide = makeTensor([rows * rowStep, n + pad], 'contiguous', seed, { dtype });
          const data = wide.dataSync();
          if (seed % 3 === 0) [1e-45, -1e-39, Infinity, NaN, 3e38, 3e38].forEach((v, i) => (data[(i * 7919) % data.length] = v));
          const x = T.tensor(data, { shape: wide.shape, dtype }).narrow(1, 0, n).slice(0, 0, null, rowStep);
          const expected = Array.from({ length: rows }, (_, i) => {
            let s = 0;
            for (let j = 0; j < n; j++) s += data[i * rowStep * (n + pad) + j];
            return dtype === 'float32' ? Math.fround(s) : s;
          });
          for (const threads of [1, 2]) {
            expectSameBits(withThreads(threads, () => T.sum(x, 1).dataSync()), expected, `sum over dim 1 of [${rows}, ${n}], every ${rowStep}th row of ${n + pad} columns, ${dtype}, ${threads} threads`);
          }
        }),
      runs(30),
    );
    // large enough to be split over threads, with rows not a multiple of four
    const x = makeTensor([4097, 256], 'contiguous', 6, { dtype: 'float32' });
    const run = () => Array.from(T.sum(x, 1).dataSync());
    expectSameBits(withThreads(2, run), withThreads(1, run), 'sum over dim 1 of [4097, 256]');
  });

  it("the teacher's EMA step (fusedEma_) gives the bits of mul_ then add_ with alpha, on 1 and 2 threads, and declines what its kernel does not take", () => {
    for (const [shape, momentum] of [[[7], 0.996], [[333, 65], 0.5], [[4, 1 << 17], 0.9995], [[1000], 1], [[3, 5], 0]] as const) {
      for (const threads of [1, 2]) {
        const source = makeTensor([...shape], 'contiguous', 3, { dtype: 'float32' });
        const fused = makeTensor([...shape], 'contiguous', 4, { dtype: 'float32' });
        const composed = fused.clone();
        const version = fused.storage.version;
        expect(T.noGrad(() => withThreads(threads, () => T.fusedEma_(fused, source, momentum))), `[${shape}]`).to.equal(true);
        expect(fused.storage.version, 'the in-place write bumps the version').to.be.greaterThan(version);
        T.noGrad(() => composed.mul_(momentum).add_(source, 1 - momentum));
        expectSameBits(fused.dataSync(), composed.dataSync(), `EMA of [${shape}] with momentum ${momentum}, ${threads} thread(s)`);
      }
    }
    // float64, a strided target and a recording pass are left to the composed update
    const f64 = makeTensor([5, 6], 'contiguous', 1, { dtype: 'float64' });
    expect(T.noGrad(() => T.fusedEma_(f64, f64.clone(), 0.9))).to.equal(false);
    const strided = makeTensor([6, 5], 'contiguous', 1, { dtype: 'float32' }).mT;
    expect(T.noGrad(() => T.fusedEma_(strided, makeTensor([5, 6], 'contiguous', 2, { dtype: 'float32' }), 0.9))).to.equal(false);
    const plain = makeTensor([5, 6], 'contiguous', 1, { dtype: 'float32' });
    expect(T.fusedEma_(plain, plain.clone(), 0.9)).to.equal(false);
  });

  // Sizes around the thread pool's grain and the sum chunks: empty, tiny (on ordinary memory),
  // one chunk, two chunks and more (on shared memory, split over threads), and a view from an offset.
  const FOREACH_SIZES = [[0], [1], [7], [192], [5, 999], [4096], [65536], [2 * SUM_CHUNK], [3, SUM_CHUNK + 5], [333, 65]] as const;
  const foreachList = (dtype: 'float32' | 'float64', seed: number) => {
    const list = FOREACH_SIZES.map((shape, i) => makeTensor([...shape], 'contiguous', seed + i, { dtype }));
    list.push(makeTensor([3 * SUM_CHUNK + 11], 'contiguous', seed + 99, { dtype }).narrow(0, 11, 3 * SUM_CHUNK));
    return list;
  };

  it("the teacher's EMA over many pairs (fusedEmaForeach_) gives each pair the bits of mul_ then add_ with alpha in one call, on 1, 2 and 3 threads, or declines and changes nothing", () => {
    for (const threads of [1, 2, 3]) {
      for (const momentum of [0.996, 0.5]) {
        const sources = foreachList('float32', 10);
        const targets = foreachList('float32', 40);
        // mul_ then add_ with alpha: fusedEma_'s bits, where it takes the pair
        const expected = targets.map((t, i) => T.noGrad(() => t.clone().mul_(momentum).add_(sources[i], 1 - momentum)).dataSync());
        const versions = targets.map((t) => t.storage.version);
        expect(T.noGrad(() => withThreads(threads, () => T.fusedEmaForeach_(targets, sources, momentum)))).to.equal(true);
        targets.forEach((t, i) => {
          expectSameBits(t.dataSync(), expected[i], `EMA of [${t.shape}], momentum ${momentum}, ${threads} thread(s)`);
          if (t.numel > 0) expect(t.storage.version, 'the in-place write bumps the version').to.be.greaterThan(versions[i]);
        });
      }
    }
    // declined as a whole (float64, a strided target, a recording pass): nothing is written
    const sources = foreachList('float32', 1);
    for (const targets of [foreachList('float64', 2), [...foreachList('float32', 3), makeTensor([6, 5], 'contiguous', 4, { dtype: 'float32' }).mT]]) {
      const before = targets.map((t) => Array.from(t.dataSync()));
      const pairedSources = targets.map((t, i) => sources[i] ?? makeTensor([...t.shape], 'contiguous', 5, { dtype: 'float32' }));
      expect(T.noGrad(() => T.fusedEmaForeach_(targets, pairedSources, 0.9))).to.equal(false);
      targets.forEach((t, i) => expectSameBits(t.dataSync(), before[i], `declined target ${i} is unchanged`));
    }
    expect(T.fusedEmaForeach_(foreachList('float32', 3), sources, 0.9)).to.equal(false);
    expect(() => T.fusedEmaForeach_(sources, sources.slice(1), 0.9)).to.throw(/fusedEmaForeach_: 11 targets but 10 sources/);
  });

  it('foreachNorm gives each tensor the bits of its own norm(2), on 1, 2 and 3 threads and without SIMD; a list that records takes norm(), gradient included', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const list = [...foreachList(dtype, 7), makeTensor([9, 4], 'contiguous', 8, { dtype, range: { low: 1e18, high: 1e19 } })];
      const expected = list.map((t) => t.norm(2).item());
      for (const simd of [true, false]) {
        for (const threads of [1, 2, 3]) {
          const norms = withSimd(simd, () => withThreads(threads, () => T.foreachNorm(list)));
          norms.forEach((n) => expect(n.shape).to.deep.equal([]));
          expectSameBits(norms.map((n) => n.item()), expected, `foreachNorm of ${list.length} ${dtype} tensors, ${threads} thread(s), simd ${simd}`);
        }
      }
      // a strided tensor in the list: norm() for each, the same values
      const strided = [...list, makeTensor([4, 6], 'permuted', 9, { dtype })];
      expectSameBits(T.foreachNorm(strided).map((n) => n.item()), strided.map((t) => t.norm(2).item()), `foreachNorm with a permuted ${dtype} tensor`);
    }
    expect(T.foreachNorm([])).to.deep.equal([]);
    const x = makeTensor([3, 4], 'contiguous', 1, { requiresGrad: true });
    const [n] = T.foreachNorm([x]);
    n.backward();
    expectSameBits(x.grad!.dataSync(), T.div(x, x.norm(2)).dataSync(), 'the gradient of a recorded foreachNorm, x / ||x||');
    expect(() => T.foreachNorm([T.tensor([1, 2], { dtype: 'int32' })])).to.throw(/foreachNorm: expected a floating point tensor, got dtype int32/);
  });


  it('a full sum (and a 2-norm) of a large contiguous tensor, summed in fixed chunks over threads, gives the same bits on 1 and 2 threads, and the float64 sum', () => {
    for (const n of [2 * 65536, 3 * 65536 + 7, 1000003]) {
      for (const dtype of ['float32', 'float64'] as const) {
        const x = makeTensor([n], 'contiguous', n, { dtype });
        const run = () => Array.from(T.sum(x).dataSync());
        const [one] = withThreads(1, run);
        expectSameBits(withThreads(2, run), [one], `sum of ${n} ${dtype}`);
        // the 2-norm's fused sum of squares gives the bits of the multiply and the sum it replaces
        const norm = () => Array.from(x.norm(2).dataSync());
        const composed = Array.from(T.sqrt(T.sum(T.mul(x, x))).dataSync());
        for (const threads of [1, 2]) expectSameBits(withThreads(threads, norm), composed, `norm of ${n} ${dtype}, ${threads} threads`);
        let exact = 0;
        for (const v of x.dataSync()) exact += v;
        expect(Math.abs(one - exact), `sum of ${n} ${dtype}`).to.be.at.most(dtype === 'float32' ? Math.abs(exact) * 2 ** -23 + 1e-3 : 1e-9);
      }
    }
  });

  it('float32 chunk sums and sums of squares on the SIMD kernel give the bits of the TypeScript loops (any length and offset, subnormals, overflow, infinities, NaN)', function () {
    requireWasm(this, wasmSumChunksAvailable(), 'the SIMD chunk sums test', 'sums use the plain TypeScript loops');
    const special = [0, -0, 1e-45, -3e-39, 1e-20, 2e19, -3e38, Infinity, -Infinity, NaN];
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 7 }), seedArb, fc.boolean(), (n, offset, seed, withSpecial) => {
        const gen = new T.Generator(seed);
        const data = new Float32Array(offset + n + 3);
        for (let i = 0; i < data.length; i++) {
          const u = gen.random();
          data[i] = withSpecial && u < 0.2 ? special[Math.floor(gen.random() * special.length)] : (2 * u - 1) * 10 ** Math.floor(gen.random() * 12 - 6);
        }
        for (const kernel of [sumChunks, sumOfSquaresChunks]) {
          const run = (simd: boolean) => {
            const partials = new Float64Array(1);
            kernel({ data, offset, n, partials, simd }, 0, 1);
            return [partials[0]];
          };
          expectSameBits(run(true), run(false), `${kernel.name} of ${n} values from ${offset}`);
        }
      }),
      runs(200),
    );
    // whole chunks, and a last chunk of each length mod 4, through the backend, split over threads
    for (const n of [2 * SUM_CHUNK, 3 * SUM_CHUNK + 1, 3 * SUM_CHUNK + 2, 2 * SUM_CHUNK + 3]) {
      const x = makeTensor([n + 5], 'contiguous', n, { dtype: 'float32' }).narrow(0, 5, n);
      const results = () => [...T.sum(x).dataSync(), ...x.norm(2).dataSync()];
      const plain = withSimd(false, () => withThreads(1, results));
      for (const threads of [1, 2]) expectSameBits(withThreads(threads, results), plain, `sum and norm of ${n} float32 from offset 5, ${threads} threads`);
    }
  });

  it('softmax and logSoftmax backward match the composed formulas (any dim, strided inputs and gradients)', () => {
    fc.assert(
      fc.property(shapeArb({ minDims: 1, maxDims: 4, maxSize: 7, maxNumel: 120 }), fc.nat(), layoutArb, layoutArb, seedArb, dtypeArb, fc.boolean(),
        (shape, dimSeed, lx, lg, seed, dtype, log) => {
          const dim = dimSeed % shape.length;
          const x = makeTensor(shape, lx, seed, { dtype, requiresGrad: true });
          const g = makeTensor(shape, lg, seed + 1, { dtype });
          const run = (createGraph: boolean) => T.grad((log ? T.logSoftmax : T.softmax)(x, dim), [x], { gradOutputs: g, createGraph })[0]!;
          expectClose(run(false), run(true), dtype === 'float64' ? 1e-12 : 2e-6, `${log ? 'logSoftmax' : 'softmax'} dim ${dim} of [${shape}] ${dtype}`);
        }),
      runs(60),
    );
  });

  it('softmax backward gives the same bits on 1 and 2 threads', () => {
    const x = T.randn([32, 3, 65, 65], { requiresGrad: true });
    const g = T.randn([32, 3, 65, 65]).transpose(2, 3);
    const run = () => Array.from(T.grad(T.softmax(x, -1), [x], { gradOutputs: g })[0]!.dataSync());
    expect(withThreads(2, run)).to.deep.equal(withThreads(1, run));
  });

  const simdOps = [['add', T.add], ['sub', T.sub], ['mul', T.mul], ['div', T.div]] as const;

  it('float32 add/sub/mul/div on the SIMD kernels give the bits of the TypeScript loops (broadcasting, views)', () => {
    fc.assert(
      fc.property(broadcastPairArb({ maxDims: 4, maxSize: 9, maxNumel: 400 }), layoutArb, layoutArb, seedArb, fc.nat(3), ({ a, b }, la, lb, seed, k) => {
        const [name, f] = simdOps[k];
        const x = makeTensor(a, la, seed, { dtype: 'float32' });
        const y = makeTensor(b, lb, seed + 1, { dtype: 'float32', range: { awayFromZero: 0.1 } });
        expectSameBits(withSimd(true, () => f(x, y).dataSync()), withSimd(false, () => f(x, y).dataSync()), `${name} [${a}] [${b}] ${la}/${lb}`);
      }),
      runs(150),
    );
  });

  it('SIMD kernels handle rows spanning blocks, long and short rows, columns, scalars, in-place updates and 2 threads', () => {
    const cases: [string, () => T.Tensor][] = [];
    for (const [rows, n] of [[37, 300], [5, 4095], [3, 4097], [1, 9001], [700, 769], [3000, 3], [5, 2]]) {
      const x = T.randn([rows, n]);
      const bias = T.randn([n]);
      const col = T.randn([rows, 1]);
      for (const [name, f] of simdOps) {
        cases.push([`${name} [${rows}, ${n}] + row`, () => f(x, bias)]);
        cases.push([`${name} row + [${rows}, ${n}]`, () => f(bias, x)]);
        cases.push([`${name} [${rows}, ${n}] + column`, () => f(x, col)]);
        cases.push([`${name} [${rows}, ${n}] + scalar`, () => f(x, 0.37)]);
        cases.push([`${name} [${rows}, ${n}] + itself`, () => f(x, x)]);
      }
      cases.push([`add_ [${rows}, ${n}]`, () => x.clone().add_(bias, 0.5)]);
      cases.push([`add_ transposed`, () => x.clone().mT.add_(x.mT, -2)]);
    }
    for (const [what, f] of cases) {
      const plain = withSimd(false, () => f().dataSync());
      for (const threads of [1, 2]) expectSameBits(withThreads(threads, () => withSimd(true, () => f().dataSync())), plain, `${what}, ${threads} threads`);
    }
  });
});
