import { expect } from 'chai';
import { expand, grad, matmul, randn, sum } from '../../../../src/index.js';

describe('matmul weight gradient (2-D weight shared by a batch)', () => {
  it('equals the per-item gradient summed over the batch', () => {
    const a = randn([4, 5, 6], { dtype: 'float64', requiresGrad: true });
    const w = randn([6, 3], { dtype: 'float64', requiresGrad: true });
    const g = randn([4, 5, 3], { dtype: 'float64' });
    // stacked-rows path: w is 2-D
    const [dw] = grad(sum(matmul(a, w).mul(g)), [w]);
    // per-item path: the same weight expanded to a batch, summed back by sumTo
    const wBatch = expand(w, [4, 6, 3]);
    const [dwBatch] = grad(sum(matmul(a, wBatch).mul(g)), [w]);
    const x = dw!.dataSync();
    const y = dwBatch!.dataSync();
    expect(x.length).to.equal(18);
    for (let i = 0; i < x.length; i++) expect(Math.abs(x[i] - y[i])).to.be.below(1e-12);
  });
});
