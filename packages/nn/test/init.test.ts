import { expect } from 'chai';
import { Generator, zeros } from '@dinots/tensor';
import { init, vitTiny } from '../src/index.js';

const values = (t: { dataSync(): ArrayLike<number> }) => Array.from(t.dataSync());

describe('init', () => {
  it('computes fan in/out of Linear and Conv2d weights', () => {
    expect(init.calculateFanInAndFanOut(zeros([4, 3]))).to.deep.equal([3, 4]);
    expect(init.calculateFanInAndFanOut(zeros([8, 3, 5, 5]))).to.deep.equal([75, 200]);
    expect(() => init.calculateFanInAndFanOut(zeros([4]))).to.throw('calculateFanInAndFanOut: fan in and fan out need at least 2 dimensions, got shape [4]');
  });

  it('kaimingUniform_ draws within gain * sqrt(3 / fan) and fills the range', () => {
    const w = init.kaimingUniform_(zeros([200, 50], { dtype: 'float64' }), { generator: new Generator(3) });
    const bound = Math.sqrt(2) * Math.sqrt(3 / 50);
    const v = values(w);
    expect(v.every((x) => Math.abs(x) <= bound)).to.equal(true);
    expect(v.reduce((m, x) => Math.max(m, Math.abs(x)), 0)).to.be.above(0.99 * bound);
    const fanOut = values(init.kaimingUniform_(zeros([200, 50]), { mode: 'fanOut', a: Math.sqrt(5) }));
    expect(fanOut.every((x) => Math.abs(x) <= 1 / Math.sqrt(200) + 1e-7)).to.equal(true);
  });

  it('truncNormal_ respects absolute bounds and is reproducible with a generator', () => {
    const a = init.truncNormal_(zeros([1000], { dtype: 'float64' }), { std: 1, a: -0.5, b: 1, generator: new Generator(1) });
    expect(values(a).every((x) => x >= -0.5 && x <= 1)).to.equal(true);
    const b = init.truncNormal_(zeros([1000], { dtype: 'float64' }), { std: 1, a: -0.5, b: 1, generator: new Generator(1) });
    expect(values(b)).to.deep.equal(values(a));
  });

  it('uniform_, constant_, zeros_ and ones_ fill in place, also on tensors that require grad', () => {
    const t = zeros([3], { dtype: 'float64', requiresGrad: true });
    expect(init.ones_(t)).to.equal(t);
    expect(values(t)).to.deep.equal([1, 1, 1]);
    expect(values(init.constant_(t, 2.5))).to.deep.equal([2.5, 2.5, 2.5]);
    expect(values(init.zeros_(t))).to.deep.equal([0, 0, 0]);
    expect(values(init.uniform_(t, 4, 5)).every((x) => x >= 4 && x < 5)).to.equal(true);
  });

  it('skipInit builds without initialising or drawing random numbers', () => {
    const generator = new Generator(4);
    const vit = init.skipInit(() => vitTiny({ generator }));
    expect(generator.random()).to.equal(new Generator(4).random());
    const sd = vit.stateDict();
    expect(values(sd['blocks.0.attn.qkv.weight']).every((x) => x === 0)).to.equal(true);
    expect(values(sd['norm.weight']).every((x) => x === 1)).to.equal(true);
    expect(values(init.ones_(zeros([2])))).to.deep.equal([1, 1]);
  });
});
