// profile() files every kernel call under its phase and op family, and leaves the backend as it was.

import { expect } from 'chai';
import * as T from '../src/index.js';

const cell = (report: T.ProfileReport, phase: string, family: string) => report.rows.find((r) => r.phase === phase && r.family === family);

describe('profile', () => {
  it('files kernels by family: a Linear-style GEMM, attention-style batched GEMM, softmax, LayerNorm, GELU', () => {
    const x = T.randn([4, 5, 8]);
    const w = T.randn([6, 8]);
    const { report } = T.profile(() => {
      const h = x.matmul(w.mT); // [4,5,8] x [8,6]: the weight is shared by the batch (stride 0)
      const scores = x.matmul(x.mT); // [4,5,8] x [4,8,5]: a batch of independent products
      T.layerNorm(scores.softmax(-1), [5]).add(1);
      T.gelu(h);
    });
    expect(cell(report, 'forward', 'GEMM')?.calls).to.equal(1);
    expect(cell(report, 'forward', 'batched GEMM')?.calls).to.equal(1);
    for (const family of ['softmax', 'LayerNorm', 'GELU', 'elementwise', 'allocation']) expect(cell(report, 'forward', family), family).to.not.equal(undefined);
    expect(report.totalMs).to.be.greaterThan(0);
    const kernels = report.rows.reduce((s, r) => s + r.ms, 0);
    expect(kernels).to.be.at.most(report.totalMs);
  });

  it('files backward() under the backward phase and recordFunction ranges under their names, innermost first', () => {
    const w = T.randn([3, 3], { requiresGrad: true });
    const { report } = T.profile(() => {
      w.matmul(w).sum().backward();
      T.recordFunction('outer', () => T.recordFunction('inner', () => T.noGrad(() => w.mul_(2))));
    });
    expect(cell(report, 'forward', 'GEMM')?.calls).to.equal(1);
    expect(cell(report, 'backward', 'GEMM')?.calls).to.equal(2); // dA = g B^T and dB = A^T g
    expect(cell(report, 'inner', 'elementwise')?.calls).to.be.greaterThan(0);
    expect(cell(report, 'outer', 'elementwise')).to.equal(undefined);
    expect(report.ranges.map((r) => r.name).sort()).to.deep.equal(['backward', 'inner', 'outer']);
  });

  it('puts the backend back, also when the function throws, and refuses to nest', () => {
    const before = T.getBackend('cpu');
    expect(() => T.profile(() => T.profile(() => 0))).to.throw(/already running/);
    expect(() => T.profile(() => {
      throw new Error('boom');
    })).to.throw('boom');
    expect(T.getBackend('cpu')).to.equal(before);
    expect(T.recordFunction('idle', () => 7)).to.equal(7);
  });
});
