// Autograd semantics: accumulation, retainGrad, detach, grad modes, functional grad with
// createGraph, deep graphs, freed graphs, version counters, and gradcheck's own reporting.

import { expect } from 'chai';
import * as T from '../src/index.js';
import type { Tensor } from '../src/index.js';

const f64 = (data: T.NestedArray, requiresGrad = false) => T.tensor(data, { dtype: 'float64', requiresGrad });

describe('autograd engine', () => {
  it('accumulates gradients of a value used twice, and across backward calls', () => {
    const x = f64([1, 2, 3], true);
    const y = x.mul(x).add(x).sum(); // dy/dx = 2x + 1
    y.backward();
    expect(x.grad!.toArray()).to.deep.equal([3, 5, 7]);
    x.mul(2).sum().backward();
    expect(x.grad!.toArray()).to.deep.equal([5, 7, 9]);
  });

  it('only leaves get .grad unless retainGrad() is called', () => {
    const x = f64([1, 2], true);
    const h = x.mul(3);
    const k = x.mul(4).retainGrad();
    h.mul(k).sum().backward();
    expect(h.grad).to.equal(null);
    expect(k.grad!.toArray()).to.deep.equal([3, 6]); // d/dk (h k) = h
    expect(x.isLeaf).to.equal(true);
    expect(h.isLeaf).to.equal(false);
    expect(h.gradFn!.name).to.equal('MulBackward');
  });

  it('detach() shares storage and stops gradients', () => {
    const x = f64([1, 2], true);
    const d = x.detach();
    expect(d.storage).to.equal(x.storage);
    expect(d.requiresGrad).to.equal(false);
    x.mul(d).sum().backward();
    expect(x.grad!.toArray()).to.deep.equal([1, 2]);
  });

  it('noGrad records nothing, also across await; enableGrad re-enables inside', async () => {
    const x = f64([1], true);
    expect(T.noGrad(() => x.mul(2)).requiresGrad).to.equal(false);
    const y = await T.noGrad(async () => {
      await new Promise((r) => setTimeout(r, 1));
      expect(T.isGradEnabled()).to.equal(false);
      return x.mul(2);
    });
    expect(y.requiresGrad).to.equal(false);
    expect(T.isGradEnabled()).to.equal(true);
    expect(T.noGrad(() => T.enableGrad(() => x.mul(2))).requiresGrad).to.equal(true);
  });

  it('concurrent async tasks do not see each other\'s grad mode', async () => {
    const x = f64([1], true);
    let inside = true;
    const a = T.noGrad(async () => {
      await new Promise((r) => setTimeout(r, 5));
      inside = T.isGradEnabled();
    });
    const b = (async () => {
      await new Promise((r) => setTimeout(r, 1));
      return x.mul(2).requiresGrad;
    })();
    const [, recorded] = await Promise.all([a, b]);
    expect(recorded).to.equal(true);
    expect(inside).to.equal(false);
  });

  it('grad() returns gradients without touching .grad, and createGraph gives second derivatives', () => {
    const x = f64([0.5, -1, 2], true);
    const y = x.pow(3).sum();
    const [g] = T.grad(y, [x], { createGraph: true });
    expect(x.grad).to.equal(null);
    expect(g!.toArray()).to.deep.equal([0.75, 3, 12]); // 3x^2
    const [gg] = T.grad(g!.sum(), [x]);
    expect(gg!.toArray()).to.deep.equal([3, -6, 12]); // 6x
  });

  it('grad() with respect to a non-leaf, and allowUnused', () => {
    const x = f64([1, 2], true);
    const h = x.mul(2);
    const unused = f64([5], true);
    const y = h.mul(h).sum();
    const [gh, gu] = T.grad(y, [h, unused], { allowUnused: true });
    expect(gh!.toArray()).to.deep.equal([4, 8]);
    expect(gu).to.equal(null);
    expect(() => T.grad(x.mul(2).sum(), [unused])).to.throw(/not used/);
  });

  it('a 10,000-op chain runs backward without overflowing the stack', () => {
    const x = f64([1], true);
    let y: Tensor = x;
    for (let i = 0; i < 10000; i++) y = y.mul(1.0001);
    y.sum().backward();
    expect(x.grad!.item()).to.be.closeTo(1.0001 ** 10000, 1e-9);
  });

  it('a second backward through a freed graph fails clearly; retainGraph allows it', () => {
    const x = f64([1, 2], true);
    const y = x.exp().sum();
    y.backward();
    expect(() => y.backward()).to.throw(/backward through the graph a second time/);
    const z = x.exp().sum();
    z.backward(undefined, { retainGraph: true });
    z.backward();
    expect((x.grad!.toArray() as number[])[0]).to.be.closeTo(Math.E * 3, 1e-12);
  });

  it('backward fails if a saved tensor was modified in place, naming the op and versions', () => {
    const w = f64([1, 2], true);
    const a = f64([3, 4]);
    const y = w.mul(a).sum();
    a.add_(1);
    expect(() => y.backward()).to.throw(/MulBackward: .*modified by an in-place operation.*version 1; expected version 0/);
  });

  it('in-place writes through any view bump the shared version counter', () => {
    const base = f64([[1, 2], [3, 4]]);
    const w = f64([1, 1], true);
    const y = w.mul(base.select(0, 1)).sum();
    base.select(0, 0).mul_(2);
    expect(base.storage.version).to.equal(1);
    expect(() => y.backward()).to.throw(/modified by an in-place operation/);
  });

  it('backward on a non-scalar needs a gradient of the output\'s shape', () => {
    const x = f64([1, 2], true);
    expect(() => x.mul(2).backward()).to.throw(/implicitly created only for scalar outputs; this output has shape \[2\]/);
    expect(() => x.mul(2).backward(f64([1, 1, 1]))).to.throw(/gradient has shape \[3\] but the output has shape \[2\]/);
    x.mul(2).backward(f64([1, 10]));
    expect(x.grad!.toArray()).to.deep.equal([2, 20]);
  });

  it('requiresGrad is only settable on floating-point leaves', () => {
    expect(() => T.tensor([1, 2], { dtype: 'int32', requiresGrad: true })).to.throw(/only floating point tensors can require gradients/);
    const x = f64([1], true);
    expect(() => x.mul(2).requiresGrad_(false)).to.throw(/only change the requiresGrad flag of leaf tensors/);
  });

  it("views' gradients added in place (select, unbind, overlapping slices) equal the scattered sums that createGraph computes, and never write into a gradient another node holds", () => {
    const weights = (shape: number[], seed: number) => T.tensor(Array.from({ length: shape.reduce((p, d) => p * d, 1) }, (_, i) => Math.sin(seed * 7.1 + i * 1.3)), { shape, dtype: 'float64' });
    const cases: [string, (x: Tensor) => Tensor][] = [
      // q, k, v from one tensor, as attention selects them
      ['unbind', (x) => T.unbind(x, 0).reduce((s, part, i) => T.add(s, T.sum(T.mul(part, weights([4, 5], i)))), T.tensor(0, { dtype: 'float64' }))],
      // slices that overlap, and a select of one of them: each in-place add lands on what the others wrote
      ['overlapping slices', (x) => {
        const a = T.slice(x, 1, 0, 3);
        const b = T.slice(x, 1, 1, 4);
        return T.add(T.add(T.sum(T.mul(a, weights([3, 3, 5], 1))), T.sum(T.mul(b, weights([3, 3, 5], 2)))), T.sum(T.mul(T.select(b, 2, 4), weights([3, 3], 3))));
      }],
      // the first gradient of x comes from an op (not a view), the next ones from selects
      ['an op, then selects', (x) => T.add(T.sum(T.mul(x, weights([3, 4, 5], 4))), T.sum(T.mul(T.select(x, 1, 2), weights([3, 5], 5))))],
      // o = a + b is used twice, so its gradient is a sum the pass made, and add's backward hands
      // that one tensor to both a and b; b has another use. In some orders of the three terms
      // the select of a runs after o's node and before b's last use: it must not add into
      // the tensor b's gradient still is
      ...[[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]].map((order): [string, (x: Tensor) => Tensor] => [`a gradient handed to two inputs, terms in order ${order.join('')}`, (x) => {
        const [a, b] = [T.mul(x, 2), T.mul(x, 3)];
        const o = T.add(a, b);
        const terms = [
          T.add(T.sum(T.mul(o, weights([3, 4, 5], 6))), T.sum(T.mul(o, weights([3, 4, 5], 7)))),
          T.sum(T.mul(T.select(a, 0, 1), weights([4, 5], 8))),
          T.sum(T.mul(b, weights([3, 4, 5], 10))),
        ];
        return T.add(T.add(terms[order[0]], terms[order[1]]), terms[order[2]]);
      }]),
    ];
    for (const [name, loss] of cases) {
      const x = weights([3, 4, 5], 9).requiresGrad_(true);
      const [inPlace] = T.grad(loss(x), [x]) as Tensor[];
      const [scattered] = T.grad(loss(x), [x], { createGraph: true }) as Tensor[];
      const [a, e] = [inPlace.dataSync(), scattered.dataSync()];
      for (let i = 0; i < e.length; i++) if (a[i] !== e[i]) throw new Error(`${name}: element ${i} of the gradient is ${a[i]}, expected ${e[i]}`);
    }
  });

  it('.grad of a leaf is its own memory (clipping one gradient cannot change another)', () => {
    const a = f64([1, 2], true);
    const b = f64([3, 4], true);
    a.add(b).sum().backward();
    T.noGrad(() => a.grad!.mul_(0));
    expect(b.grad!.toArray()).to.deep.equal([1, 1]);
  });
});

describe('gradcheck itself', () => {
  /** exp with a wrong derivative (2 e^x instead of e^x), built with the same record() ops use. */
  function brokenExp(x: Tensor): Tensor {
    const y = T.noGrad(() => T.exp(x));
    return T.record('BrokenExpBackward', y, [x], [], [(g) => g.mul(y).mul(2)]);
  }

  it('reports the input, the index and both values on a mismatch', () => {
    const x = T.tensor([0.1, 0.2, 0.3], { dtype: 'float64', requiresGrad: true });
    expect(() => T.gradcheck(brokenExp, [x])).to.throw(/with respect to input 0 at index \[0\].*numerical 1\.10517.*analytical 2\.2103/);
    expect(() => T.gradcheck(brokenExp, [x], { fastMode: true })).to.throw(/fast mode/);
    expect(() => T.gradgradcheck((t) => brokenExp(t).mul(t), [x])).to.throw(/Jacobian mismatch/);
  });

  it('refuses float32 inputs and inputs whose elements share memory', () => {
    const x32 = T.tensor([1, 2], { requiresGrad: true });
    expect(() => T.gradcheck(T.exp, [x32])).to.throw(/dtype float32; use float64/);
    const shared = T.tensor([1], { dtype: 'float64' }).expand([3]).detach().requiresGrad_(true);
    expect(() => T.gradcheck(T.exp, [shared])).to.throw(/sharing memory; expand inside fn/);
  });
});
