// Creation functions, the seeded generator, truncated normals, and printing.

import { expect } from 'chai';
import * as T from '../src/index.js';
import { erfinv } from '../src/math/erf.js';

describe('creation', () => {
  it('tensor() from nested arrays, numbers, booleans and typed arrays (+ shape)', () => {
    expect(T.tensor(3).shape).to.deep.equal([]);
    expect(T.tensor(3).item()).to.equal(3);
    expect(T.tensor([[true, false]]).dtype).to.equal('bool');
    expect(T.tensor([[true, false]]).toArray()).to.deep.equal([[true, false]]);
    const data = new Float64Array([1, 2, 3, 4, 5, 6]);
    const t = T.tensor(data, { shape: [2, 3] });
    expect(t.dtype).to.equal('float64');
    expect((t.storage as T.CpuStorage).data).to.equal(data); // no copy for a matching typed array
    expect(T.tensor(data, { shape: [3, 2], dtype: 'int32' }).toArray()).to.deep.equal([[1, 2], [3, 4], [5, 6]]);
    expect(T.tensor([[1, 2], [3, 4]], { requiresGrad: true }).requiresGrad).to.equal(true);
  });

  it('zeros, ones, full, *Like, arange, linspace, eye', () => {
    expect(T.full([2], 7, { dtype: 'int32' }).toArray()).to.deep.equal([7, 7]);
    expect(T.zerosLike(T.ones([2, 1], { dtype: 'float64' })).dtype).to.equal('float64');
    expect(T.onesLike(T.zeros([3])).toArray()).to.deep.equal([1, 1, 1]);
    expect(T.arange(5).toArray()).to.deep.equal([0, 1, 2, 3, 4]);
    expect(T.arange(5).dtype).to.equal('int32');
    expect(T.arange(1, 2, 0.25).toArray()).to.deep.equal([1, 1.25, 1.5, 1.75]);
    expect(T.arange(3, 0, -1).toArray()).to.deep.equal([3, 2, 1]);
    expect(T.linspace(0, 1, 5, { dtype: 'float64' }).toArray()).to.deep.equal([0, 0.25, 0.5, 0.75, 1]);
    expect(T.linspace(0.04, 0.07, 30, { dtype: 'float64' }).toArray()).to.have.length(30);
    expect((T.linspace(0.04, 0.07, 30, { dtype: 'float64' }).toArray() as number[])[29]).to.equal(0.07);
    expect(T.eye(2, 3).toArray()).to.deep.equal([[1, 0, 0], [0, 1, 0]]);
  });
});

describe('random numbers', () => {
  it('are reproducible bit for bit from a seed, through manualSeed or a Generator', () => {
    T.manualSeed(42);
    const a = T.randn([100]).dataSync();
    T.manualSeed(42);
    const b = T.randn([100]).dataSync();
    expect(Array.from(a)).to.deep.equal(Array.from(b));
    const g1 = new T.Generator(7);
    const g2 = new T.Generator(7);
    expect(Array.from(T.rand([10], { generator: g1 }).dataSync())).to.deep.equal(Array.from(T.rand([10], { generator: g2 }).dataSync()));
    expect(Array.from(T.rand([10], { generator: new T.Generator(8) }).dataSync())).to.not.deep.equal(Array.from(T.rand([10], { generator: new T.Generator(7) }).dataSync()));
  });

  it('getState / setState resume a stream exactly', () => {
    const g = new T.Generator(123);
    g.random();
    const state = JSON.parse(JSON.stringify(g.getState()));
    const next = [g.random(), g.random(), g.nextUint32()];
    const h = new T.Generator(0).setState(state);
    expect([h.random(), h.random(), h.nextUint32()]).to.deep.equal(next);
  });

  it('have the right moments and ranges', () => {
    const g = new T.Generator(1);
    const u = T.rand([20000], { generator: g, dtype: 'float64' });
    expect(u.mean().item()).to.be.closeTo(0.5, 0.01);
    expect(u.min().item()).to.be.at.least(0);
    expect(u.max().item()).to.be.below(1);
    const n = T.randn([20000], { generator: g, dtype: 'float64' });
    expect(n.mean().item()).to.be.closeTo(0, 0.03);
    expect(n.std().item()).to.be.closeTo(1, 0.03);
    const r = T.randint(-3, 4, [5000], { generator: g });
    expect(r.min().item()).to.equal(-3);
    expect(r.max().item()).to.equal(3);
    const p = T.randperm(50, { generator: g }).toArray() as number[];
    expect([...p].sort((x, y) => x - y)).to.deep.equal(Array.from({ length: 50 }, (_, i) => i));
  });

  it('truncNormal samples as PyTorch trunc_normal_ (absolute bounds) and stays inside them', () => {
    const g = new T.Generator(3);
    const t = T.truncNormal([20000], { std: 1, a: -0.5, b: 1.5, generator: g, dtype: 'float64' });
    expect(t.min().item()).to.be.at.least(-0.5);
    expect(t.max().item()).to.be.at.most(1.5);
    // std 0.02 with bounds +-2 is effectively an untruncated N(0, 0.02^2)
    const w = T.truncNormal([20000], { std: 0.02, generator: g, dtype: 'float64' });
    expect(w.std().item()).to.be.closeTo(0.02, 0.0005);
  });

  it('erfinv inverts erf to float64 accuracy', () => {
    for (const y of [-0.999999, -0.9, -0.3, 0, 1e-9, 0.5, 0.97, 0.9999999]) {
      expect(T.erf(T.tensor([erfinv(y)], { dtype: 'float64' })).item()).to.be.closeTo(y, 1e-15);
    }
  });
});

describe('toString', () => {
  it('prints like PyTorch', () => {
    expect(T.tensor([[1, 2], [3, 4]]).toString()).to.equal('tensor([[1., 2.],\n        [3., 4.]])');
    expect(T.tensor([0.5, -1.25], { dtype: 'float64' }).toString()).to.equal('tensor([ 0.5000, -1.2500], dtype=float64)');
    expect(T.tensor([1e-5, 1]).toString()).to.equal('tensor([1.0000e-05, 1.0000e+00])');
    expect(T.tensor([1, 2], { dtype: 'int32' }).toString()).to.equal('tensor([1, 2], dtype=int32)');
    expect(T.tensor([true, false]).toString()).to.equal('tensor([ True, False])');
    expect(T.tensor(3.5).toString()).to.equal('tensor(3.5000)');
    expect(T.tensor([1, 2], { requiresGrad: true }).toString()).to.equal('tensor([1., 2.], requiresGrad=true)');
    expect(T.tensor([1, 2], { requiresGrad: true }).mul(2).toString()).to.equal('tensor([2., 4.], gradFn=<MulBackward>)');
    expect(T.tensor([NaN, Infinity, 1.5]).toString()).to.equal('tensor([   nan,    inf, 1.5000])');
    const big = T.arange(2000, undefined, 1, { dtype: 'float32' }).toString();
    // 6 entries of width 10 (+ ', ') fit in 80 columns after 'tensor(', as in PyTorch
    expect(big).to.equal('tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n        1.9990e+03])');
    expect(T.arange(1200, undefined, 1, { dtype: 'float32' }).add(100).toString()).to.equal('tensor([ 100.,  101.,  102.,  ..., 1297., 1298., 1299.])');
  });
});
