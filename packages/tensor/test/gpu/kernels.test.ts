// The GPU kernels' fast paths: dim coalescing in the generated index arithmetic (map
// kernels, softmax's normalisation), the 2x2-blocked matmul of the GL modes, the tiled WGSL
// matmul of webgpu mode (with the bias of linear), its fused AdamW update, the one-kernel
// EMA step, and the merge of a view into a storage never written. The sources are checked as text where the point is
// which path a kernel takes, and every path runs on each target against the CPU backend.

import { expect } from 'chai';
import * as T from '../../src/index.js';
import { coalesce, contiguousView } from '../../src/backends/gpu/codegen.js';
import { mapSource } from '../../src/backends/gpu/elementwise.js';
import { blockCount, blockedMatmulSource, packAlongKSource, packedLength, unblockSource } from '../../src/backends/gpu/matmul.js';
import { normalizeExpression, rowStatView } from '../../src/backends/gpu/softmax.js';
import { matmulTiling, matmulWorkgroups, wgslMatmulSource } from '../../src/backends/gpu/wgsl-matmul.js';
import { describeTargets } from './targets.js';
import { FLOAT32, expectClose, place, sample } from './helpers.js';

describe('gpu codegen: coalescing dims', () => {
  it('reads a contiguous tensor as one dim at the flat index', () => {
    const { shape, views } = coalesce([2, 3, 4], [contiguousView([2, 3, 4])]);
    expect(shape).to.deep.equal([24]);
    expect(views[0].strides).to.deep.equal([1]);
    const source = mapSource('Math.exp(x)', [2, 3, 4], [contiguousView([2, 3, 4])], 0, 'float32');
    expect(source).to.not.include('Math.floor');
    expect(source).to.include('a0[0.0 + c0 * 1.0]');
  });

  it('keeps dims that a view does not step through as one', () => {
    const transposed = { shape: [3, 2], strides: [1, 3], offset: 0 };
    expect(coalesce([3, 2], [transposed]).shape).to.deep.equal([3, 2]);
    expect(mapSource('x', [3, 2], [transposed], 0, 'float32')).to.include('Math.floor');
  });

  it('merges broadcast (stride 0) pairs, drops size-1 dims and keeps offsets and steps', () => {
    const x = contiguousView([2, 3, 4]);
    const y = { shape: [2, 3, 4], strides: [0, 0, 1], offset: 0 };
    const merged = coalesce([2, 3, 4], [x, y]);
    expect(merged.shape).to.deep.equal([6, 4]);
    expect(merged.views.map((v) => v.strides)).to.deep.equal([[4, 1], [0, 1]]);
    expect(coalesce([1, 5, 1], [{ shape: [1, 5, 1], strides: [5, 1, 1], offset: 0 }]).shape).to.deep.equal([5]);
    const everyOther = coalesce([3, 4], [{ shape: [3, 4], strides: [8, 2], offset: 7 }]);
    expect(everyOther.shape).to.deep.equal([12]);
    expect(everyOther.views[0]).to.deep.include({ strides: [2], offset: 7 });
  });

  it('softmax normalises rows with one division per element, its statistics read with stride 0 along the dim', () => {
    expect(rowStatView([2, 3, 4], 1).strides).to.deep.equal([4, 0, 1]);
    const shape = [4, 3, 5];
    const stat = rowStatView(shape, 2);
    const source = mapSource(normalizeExpression(false), shape, [contiguousView(shape), stat, stat], 0, 'float32');
    expect(source.match(/Math\.floor/g)).to.have.length(1);
  });

  it('the blocked matmul covers odd sizes with one texel per 2x2 block', () => {
    expect(blockCount(2, 5, 3)).to.equal(2 * 3 * 2);
    const source = blockedMatmulSource(1, 5, 4, 3);
    expect(source).to.include('Math.min(i0 + 1.0, 4.0)');
    expect(source).to.include('Math.min(j0 + 1.0, 2.0)');
    expect(unblockSource(1, 5, 3)).to.include('v[3]');
  });

  it('packs the blocked matmul\'s operands four k to a texel, zeros past K', () => {
    expect(packedLength(6)).to.equal(2);
    const a = packAlongKSource(contiguousView([1, 5, 6]), 2);
    expect(a).to.include('(k0 + 3.0) < 6.0 ?');
    expect(a).to.include('(k0 + 1.0) * 1.0');
    const b = packAlongKSource(contiguousView([1, 8, 3]), 1);
    expect(b).to.include('(k0 + 2.0) * 3.0');
    expect(packAlongKSource(contiguousView([1, 8, 4]), 1)).to.not.include('?');
  });
});

describe('gpu codegen: the tiled WGSL matmul (webgpu mode)', () => {
  it('tiles large products 64 x 64 (4 x 4 outputs an invocation) and small ones 16 x 16', () => {
    expect(matmulTiling(64, 48)).to.deep.equal({ wg: 16, tm: 4, tn: 4, bk: 16 });
    expect(matmulTiling(17, 200)).to.deep.equal({ wg: 16, tm: 1, tn: 1, bk: 16 });
    expect(matmulWorkgroups(3, 130, 65, matmulTiling(130, 65))).to.deep.equal([2, 3, 3]);
    expect(matmulWorkgroups(2, 17, 17, matmulTiling(17, 17))).to.deep.equal([2, 2, 2]);
  });

  it('stages k-slices of both operands in workgroup memory, loads along the unit-stride dim, and guards the edges', () => {
    const t = matmulTiling(64, 64);
    const rowMajor = wgslMatmulSource(contiguousView([1, 70, 37]), contiguousView([1, 37, 130]), t);
    expect(rowMajor).to.include('var<workgroup> tileA : array<f32, 1024>;');
    expect(rowMajor).to.include('workgroupBarrier();');
    expect(rowMajor).to.include('let tk = (li + 0u) % 16u;'); // a is unit-stride along k: k fastest
    expect(rowMajor).to.include('let tk = (li + 0u) / 64u;'); // b is unit-stride along n: columns fastest
    expect(rowMajor).to.include('if (gk < 37u && gc < 70u)');
    expect(rowMajor).to.include('if (i < 70u && j < 130u)');
    expect(rowMajor).to.not.include('bias');
    // a^T: a [1, 70, 37] view of a [37, 70] matrix, unit stride along rows
    const transposed = wgslMatmulSource({ shape: [1, 70, 37], strides: [0, 1, 70], offset: 3 }, contiguousView([1, 37, 130]), t, { shape: [130], strides: [2], offset: 1 });
    expect(transposed).to.include('let tk = (li + 0u) / 64u;\n      let tc = (li + 0u) % 64u;');
    expect(transposed).to.include('a[3u + gc + gk * 70u]');
    expect(transposed).to.include(' + bias[1u + j * 2u]');
    // q of a [2, 9, 3, 3, 8] qkv as [B, heads, N, d]: the batch index splits into (b, head)
    const q = { shape: [2, 3, 9, 8], strides: [648, 8, 72, 1], offset: 0 };
    const k = { shape: [2, 3, 8, 9], strides: [648, 8, 1, 72], offset: 24 };
    const scores = wgslMatmulSource(q, k, matmulTiling(9, 9));
    expect(scores).to.include('a[0u + ((batch / 3u) % 2u) * 648u + (batch % 3u) * 8u + gc * 72u + gk]');
    expect(scores).to.include('b[24u + ((batch / 3u) % 2u) * 648u + (batch % 3u) * 8u + gk + gc * 72u]');
  });
});

describeTargets('gpu kernel paths against the CPU backend', (device) => {
  it('map kernels over contiguous, broadcast and strided inputs', async () => {
    const x = sample([3, 4, 5], 1);
    const y = sample([4, 1], 2);
    for (const layout of ['contiguous', 'transposed', 'strided', 'offset'] as const) {
      const got = place(x, device, layout).mul(y.to(device)).add(1);
      await expectClose(got, x.double().mul(y.double()).add(1), FLOAT32, `map (${layout})`);
    }
  });

  it('matmul of odd sizes, long k, broadcast batches and transposed operands', async () => {
    // blocked in GL modes: the first three (odd M and N, a broadcast batch); plain: M or N of 1
    // webgpu's tiled kernel: the last two take 64 x 64 tiles, over three k-slices, with ragged edges
    const cases: [number[], number[]][] = [
      [[17, 33], [33, 19]], [[2, 5, 6], [6, 4]], [[3, 2, 1], [3, 1, 7]], [[3, 1, 64], [64, 7]], [[2, 9, 5], [1, 5, 1]], [[1, 1], [1, 6]],
      [[2, 70, 37], [37, 130]], [[65, 48], [2, 48, 64]],
    ];
    for (const [sa, sb] of cases) {
      const a = sample(sa, sa.length);
      const b = sample(sb, 7);
      for (const [la, lb] of [['contiguous', 'contiguous'], ['transposed', 'strided'], ['offset', 'transposed']] as const) {
        await expectClose(place(a, device, la).matmul(place(b, device, lb)), a.double().matmul(b.double()), { atol: 1e-5, rtol: 1e-4 }, `matmul [${sa}] x [${sb}] (${la}, ${lb})`);
      }
    }
  });

  it('matmul over batch dims that do not merge (attention heads sliced from one qkv), and selfAttention forward and backward', async () => {
    const qkv = sample([2, 9, 3, 3, 8], 4); // [B, N, 3, heads, d]
    const heads = (t: T.Tensor) => t.permute([2, 0, 3, 1, 4]); // [3, B, heads, N, d]
    const [q, k] = [0, 1].map((i) => heads(qkv.double()).select(0, i));
    const onDevice = qkv.to(device);
    const [qd, kd] = [0, 1].map((i) => heads(onDevice).select(0, i));
    await expectClose(qd.matmul(kd.transpose(-1, -2)), q.matmul(k.transpose(-1, -2)), { atol: 1e-5, rtol: 1e-4 }, 'q k^T on [2, 3] views');
    const g = sample([2, 3, 9, 8], 5);
    const reference = qkv.double().requiresGrad_();
    T.selfAttention(reference, 0.35).mul(g.double()).sum().backward();
    const x = qkv.to(device).requiresGrad_();
    const y = T.selfAttention(x, 0.35);
    await expectClose(y, T.noGrad(() => T.selfAttention(qkv.double(), 0.35)), { atol: 1e-5, rtol: 1e-4 }, 'selfAttention');
    y.mul(g.to(device)).sum().backward();
    await expectClose(x.grad!, reference.grad!, { atol: 1e-5, rtol: 1e-4 }, 'selfAttention: the gradient of qkv');
  });

  it('fused AdamW (one WGSL kernel in webgpu mode; GL modes decline it) and the EMA step update as on the CPU', async () => {
    const hyper = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.04, step: 3 };
    // [5, 7] parameters stored from row 1 of [6, 7] storages: contiguous views at an offset
    const host = [1, 2, 3, 4].map((seed) => sample([6, 7], seed));
    host[3] = host[3].square(); // v >= 0
    const reference = host.map((t) => t.slice(0, 1, 6).clone());
    T.noGrad(() => T.fusedAdamW_(reference[0], reference[1], reference[2], reference[3], hyper));
    const onDevice = host.map((t) => t.to(device).slice(0, 1, 6));
    const fused = T.noGrad(() => T.fusedAdamW_(onDevice[0], onDevice[1], onDevice[2], onDevice[3], hyper));
    const expectFused = device === 'cpu' || T.backendInfo().mode === 'webgpu';
    expect(fused, 'fused here').to.equal(expectFused);
    if (fused) {
      for (const [i, name] of [[0, 'p'], [2, 'exp_avg'], [3, 'exp_avg_sq']] as const) {
        await expectClose(onDevice[i], reference[i].double(), { atol: 1e-6, rtol: 1e-5 }, `AdamW ${name}`);
      }
    }
    const target = sample([6, 7], 8);
    const source = sample([6, 7], 9);
    const expected = target.double().mul(0.99).add(source.double().mul(0.01));
    const onGpu = target.to(device);
    expect(T.noGrad(() => T.fusedEma_(onGpu, source.to(device), 0.99)), 'one kernel').to.equal(true);
    await expectClose(onGpu, expected, { atol: 1e-6, rtol: 1e-5 }, 'EMA step');
  });

  it('matmul and linear over an empty k (K = 0): zeros, and the bias', async () => {
    await expectClose(T.zeros([3, 0]).to(device).matmul(T.zeros([2, 0, 4]).to(device)), T.zeros([2, 3, 4], { dtype: 'float64' }), FLOAT32, 'K = 0');
    const bias = sample([3], 1);
    await expectClose(T.linear(T.zeros([2, 0]).to(device), T.zeros([3, 0]).to(device), bias.to(device)), bias.double().expand([2, 3]), FLOAT32, 'linear, K = 0');
  });

  it('linear (x W^T + b) with a strided bias, in the product where the backend adds it (webgpu)', async () => {
    for (const [rows, inF, outF] of [[5, 7, 3], [70, 40, 66]]) {
      const x = sample([rows, inF], 1);
      const w = sample([outF, inF], 2);
      const bias = sample([outF * 2], 3); // every other element: a bias of stride 2
      const expected = T.linear(x.double(), w.double(), bias.double().slice(0, 0, outF * 2, 2));
      await expectClose(T.linear(x.to(device), w.to(device), bias.to(device).slice(0, 0, outF * 2, 2)), expected, { atol: 1e-5, rtol: 1e-4 }, `linear [${rows}, ${inF}] -> ${outF}`);
    }
  });

  it('softmax over masked (-Infinity) entries, fully masked rows and large logits', async () => {
    const values = Float32Array.from(sample([4, 6], 3).mul(3).dataSync());
    for (const i of [0, 1, 3, 8, 14]) values[i] = -Infinity; // row 0 starts masked, rows 1 and 2 have one masked entry
    for (let j = 0; j < 6; j++) values[18 + j] = -Infinity; // row 3 fully masked: NaN, as on the CPU
    const x = T.tensor(values, { shape: [4, 6] });
    const big = sample([3, 8], 4).mul(40).add(500);
    for (const dim of [1, 0]) {
      for (const log of [false, true]) {
        const f = (t: T.Tensor) => (log ? t.logSoftmax(dim) : t.softmax(dim));
        await expectClose(f(x.to(device)), f(x.double()), FLOAT32, `${log ? 'logSoftmax' : 'softmax'} masked, dim ${dim}`);
        await expectClose(f(place(big, device, 'transposed')), f(big.double()), FLOAT32, `${log ? 'logSoftmax' : 'softmax'} large, dim ${dim}`);
      }
    }
  });

  it('writes through a view into a storage never written (zeros) and into one written', async () => {
    const y = sample([4, 3], 5);
    const run = (dev: T.Device, dtype: 'float32' | 'float64') => {
      const fresh = T.zeros([4, 6], { device: dev, dtype });
      fresh.narrow(1, 2, 3).copy_(y.to(dtype).to(dev));
      const written = T.ones([4, 6], { device: dev, dtype });
      written.slice(1, 0, null, 2).copy_(y.to(dtype).to(dev));
      return T.cat([fresh, written], 0);
    };
    await expectClose(run(device, 'float32'), run('cpu', 'float64'), FLOAT32, 'view writes');
  });
});
