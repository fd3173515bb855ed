// Edge cases where dinots once differed from PyTorch 1.13 (values checked against torch).

import { expect } from 'chai';
import * as T from '../src/index.js';

describe('PyTorch semantics at the edges', () => {
  it('clamp with min > max gives max everywhere, and a zero gradient (torch.clamp)', () => {
    const x = T.tensor([-1, 0.5, 2, NaN], { dtype: 'float64', requiresGrad: true });
    const y = T.clamp(x, 1, 0);
    expect(y.toArray()).to.deep.equal([0, 0, 0, NaN]);
    y.sum().backward();
    expect(x.grad!.toArray()).to.deep.equal([0, 0, 0, 0]);
    const z = T.tensor([-1, 0.5, 2]);
    z.clamp_(1, 0);
    expect(z.toArray()).to.deep.equal([0, 0, 0]);
    expect(T.clamp(T.tensor([-1, 0.5, 2]), 0, 1).toArray()).to.deep.equal([0, 0.5, 1]);
  });

  it('logsumexp over an empty dim is -inf (log of an empty sum), with keepdim and a gradient', () => {
    const x = T.zeros([2, 0], { dtype: 'float64', requiresGrad: true });
    expect(T.logsumexp(x, 1).toArray()).to.deep.equal([-Infinity, -Infinity]);
    expect(T.logsumexp(x, 1, true).shape).to.deep.equal([2, 1]);
    expect(T.logsumexp(T.zeros([0]), 0).item()).to.equal(-Infinity);
    const y = T.logsumexp(x, [0, 1]);
    y.backward();
    expect(x.grad!.shape).to.deep.equal([2, 0]);
  });

  it('matmul refuses operands of different dtypes instead of promoting (torch.matmul)', () => {
    const i = T.tensor([[1, 2]], { dtype: 'int32' });
    const f = T.tensor([[1], [2]]);
    expect(() => T.matmul(i, f)).to.throw(TypeError, /^matmul: expected both operands to have the same dtype, got int32 and float32; convert one with \.to\(\)$/);
    expect(() => T.matmul(f.T, f.double())).to.throw(TypeError, /got float32 and float64/);
    expect(T.matmul(i.float(), f).toArray()).to.deep.equal([[5]]);
  });
});
