// GPU memory: tensors own their textures; dispose(), `using`, scope() (also across await)
// free them, and a training loop run in scopes keeps memory() flat.

import { expect } from 'chai';
import * as T from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { useBestGpu } from './targets.js';
import { gpuTrainingLoop, heldStorages as held } from './helpers.js';

describe('gpu memory', () => {
  before(async () => {
    await useBestGpu();
  });

  it('dispose() frees the storage and later use fails naming the op', () => {
    const before = held();
    const x = T.ones([3, 4], { device: 'gpu' });
    expect(held()).to.equal(before + 1);
    expect(T.memory().elements).to.be.at.least(12);
    const live = T.memory().storages;
    x.dispose();
    expect(held()).to.equal(before);
    expect(T.memory().storages).to.be.at.most(live - 1);
    x.dispose();
    expect(held()).to.equal(before);
    expect(() => x.exp()).to.throw(/exp: a GPU tensor used here was disposed/);
  });

  it('`using` disposes at the end of the block', () => {
    const before = held();
    {
      using y = T.full([5], 2, { device: 'gpu' });
      expect(y.sum().item()).to.equal(10);
    }
    // the sum's 0-d result is not `using`-bound: it stays alive
    expect(held()).to.equal(before + 1);
  });

  it('scope() disposes intermediates and keeps what it returns', () => {
    const x = T.randn([4, 4]).to('gpu');
    const before = held();
    const [y, z] = T.scope(() => {
      const h = x.matmul(x).relu().add(1);
      return [h.softmax(-1), h.sum()];
    });
    expect(held()).to.equal(before + 2);
    expect(y.sum().item()).to.be.closeTo(4, 1e-5);
    expect(z.item()).to.be.greaterThan(0);
  });

  it('scope() spans await, and concurrent scopes free only their own tensors', async () => {
    const before = held();
    const pause = () => new Promise((resolve) => setTimeout(resolve, 5));
    const work = (seed: number) =>
      T.scope(async () => {
        let h: Tensor = T.randn([8], { generator: new T.Generator(seed) }).to('gpu');
        for (let i = 0; i < 3; i++) {
          await pause();
          h = h.mul(2).tanh();
        }
        const values = await h.data();
        return { h, values };
      });
    const [a, b] = await Promise.all([work(1), work(2)]);
    expect(held()).to.equal(before + 2);
    expect(Array.from(await a.h.data())).to.deep.equal(Array.from(a.values));
    expect(Array.from(await b.h.data())).to.deep.equal(Array.from(b.values));
    a.h.dispose();
    b.h.dispose();
    expect(held()).to.equal(before);
  });

  it('keep() saves a tensor from the scope, and a throwing scope still frees', () => {
    const before = held();
    let kept: Tensor | null = null;
    expect(() =>
      T.scope(() => {
        kept = T.keep(T.ones([2], { device: 'gpu' }).mul(3));
        T.zeros([9], { device: 'gpu' }).add(1);
        throw new Error('boom');
      }),
    ).to.throw('boom');
    expect(held()).to.equal(before + 1);
    expect(Array.from(kept!.dataSync())).to.deep.equal([3, 3]);
    kept!.dispose();
  });

  it('a training step in a loop does not grow memory()', async () => {
    const { losses, counts } = await gpuTrainingLoop((loss) => loss.item());
    expect(losses[11]).to.be.lessThan(losses[0]);
    expect(new Set(counts.slice(2)).size, `live storages per step: ${counts.join(', ')}`).to.equal(1);
  });
});

describe('gpu limits and errors', () => {
  before(async () => {
    await useBestGpu();
  });

  it('refuses float64 and oversized tensors with the op and the limit in the message', () => {
    expect(() => T.ones([3], { dtype: 'float64' }).to('gpu')).to.throw(/float64 tensors cannot live on the GPU/);
    expect(() => T.zeros([2 ** 24 + 1], { device: 'gpu' })).to.throw(RangeError, /exceeds the backend's limit of 16777216/);
  });

  it('rejects mixing devices and names both', () => {
    expect(() => T.ones([2]).add(T.ones([2], { device: 'gpu' }))).to.throw(/'cpu' and 'gpu'/);
  });

  it('moves tensors both ways and reads with await data()', async () => {
    const x = T.arange(0, 6).reshape([2, 3]).float();
    const g = x.to('gpu');
    expect(g.device).to.equal('gpu');
    expect(Array.from(await g.T.data())).to.deep.equal([0, 3, 1, 4, 2, 5]);
    expect(g.to('cpu').toArray()).to.deep.equal(x.toArray());
    const empty = T.zeros([0, 3], { device: 'gpu' });
    expect(Array.from(await empty.exp().data())).to.deep.equal([]);
  });
});
