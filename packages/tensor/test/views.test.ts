// Views share storage (no copies), writes through a view reach the base, and every view
// op reads the elements a plain index computation says it should.

import { expect } from 'chai';
import fc from 'fast-check';
import * as T from '../src/index.js';
import { smallIntegerArray } from '../src/shape.js';
import { at, expectElements, layoutArb, makeTensor, numel, runs, seedArb, shapeArb } from './helpers/cases.js';

const withDim = shapeArb({ minDims: 1 }).chain((shape) =>
  fc.record({ shape: fc.constant(shape), dim: fc.integer({ min: 0, max: shape.length - 1 }), layout: layoutArb, seed: seedArb }),
);

describe('views', () => {
  it('transpose, permute, narrow, slice, select, expand, squeeze, unsqueeze, T, mT share storage', () => {
    const x = T.arange(24, undefined, 1, { dtype: 'float32' }).reshape(2, 3, 4);
    const views = [
      x.transpose(0, 2), x.permute(2, 0, 1), x.narrow(1, 1, 2), x.slice(2, 0, null, 2), x.select(0, 1),
      x.narrow(0, 0, 1).expand(5, 3, 4), x.unsqueeze(1), x.unsqueeze(1).squeeze(1), x.T, x.mT, x.view(6, 4), x.flatten(), x.unflatten(2, [2, 2]),
    ];
    for (const v of views) expect(v.storage).to.equal(x.storage);
  });

  it('a tensor keeps its own copy of the shape and strides it was made with', () => {
    const x = T.zeros([2, 3]);
    const shape = [3, 2];
    const strides = [1, 3];
    const y = new T.Tensor(x.storage, shape, strides);
    shape[0] = 6;
    strides[1] = 7;
    expect(y.shape).to.deep.equal([3, 2]);
    expect(y.strides).to.deep.equal([1, 3]);
    // sizes past the int32 range keep their values (they stay out of the packed small-integer form)
    expect(smallIntegerArray([2 ** 31, 4, 2 ** 40, -(2 ** 31)])).to.deep.equal([2 ** 31, 4, 2 ** 40, -(2 ** 31)]);
  });

  it('writes through a view are seen by the base', () => {
    const x = T.zeros([3, 4]);
    x.transpose(0, 1).select(0, 2).fill_(7); // column 2
    x.slice(1, 0, null, 3).narrow(0, 1, 1).fill_(5); // row 1, columns 0 and 3
    expect(x.toArray()).to.deep.equal([[0, 0, 7, 0], [5, 0, 7, 5], [0, 0, 7, 0]]);
  });

  it('reshape is a view when strides allow and copies otherwise (like PyTorch)', () => {
    const x = T.arange(12).reshape(3, 4);
    expect(x.reshape(2, 6).storage).to.equal(x.storage);
    const t = x.T; // [4, 3], not viewable as [12]
    const flat = t.reshape(12);
    expect(flat.storage).to.not.equal(x.storage);
    expect(flat.toArray()).to.deep.equal([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
    expect(() => t.view(12)).to.throw(/view: cannot view a tensor of shape \[4, 3\] and strides \[1, 4\] as \[12\]/);
    expect(t.contiguous().view(12).toArray()).to.deep.equal(flat.toArray());
    // a view that splits a transposed dim is still possible
    expect(x.T.reshape(2, 2, 3).storage).to.equal(x.storage);
  });

  it('isContiguous / contiguous()', () => {
    const x = T.ones([2, 3]);
    expect(x.isContiguous()).to.equal(true);
    expect(x.T.isContiguous()).to.equal(false);
    expect(x.contiguous()).to.equal(x);
    expect(x.T.contiguous().isContiguous()).to.equal(true);
  });

  it('transpose and permute move elements as index arithmetic says', () => {
    fc.assert(
      fc.property(withDim, fc.nat(), ({ shape, dim, layout, seed }, k) => {
        const x = makeTensor(shape, layout, seed);
        const d1 = k % shape.length;
        const y = x.transpose(dim, d1);
        expectElements(y, (i) => {
          const j = [...i];
          [j[dim], j[d1]] = [j[d1], j[dim]];
          return at(x, j);
        });
        const order = shape.map((_, i) => (i + k) % shape.length);
        expectElements(x.permute(order), (i) => {
          const j = new Array<number>(shape.length);
          order.forEach((d, p) => (j[d] = i[p]));
          return at(x, j);
        });
      }),
      runs(100),
    );
  });

  it('slice (negative bounds, steps), narrow and select pick the right elements', () => {
    fc.assert(
      fc.property(withDim, fc.integer({ min: -7, max: 7 }), fc.integer({ min: -7, max: 7 }), fc.integer({ min: 1, max: 3 }), ({ shape, dim, layout, seed }, s, e, step) => {
        const x = makeTensor(shape, layout, seed);
        const n = shape[dim];
        const norm = (v: number) => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
        const start = norm(s);
        const y = x.slice(dim, s, e, step);
        expect(y.shape[dim]).to.equal(Math.max(0, Math.ceil((Math.max(start, norm(e)) - start) / step)));
        expectElements(y, (i) => at(x, i.map((v, d) => (d === dim ? start + v * step : v))));
        const sel = (seed % n);
        expectElements(x.select(dim, sel - n), (i) => at(x, [...i.slice(0, dim), sel, ...i.slice(dim)]));
      }),
      runs(100),
    );
  });

  it('expand repeats with stride 0, and unsqueeze/squeeze/flatten/unflatten keep row-major order', () => {
    fc.assert(
      fc.property(shapeArb(), layoutArb, seedArb, (shape, layout, seed) => {
        const x = makeTensor(shape, layout, seed);
        const target = [2, ...shape.map((d) => (d === 1 ? 3 : d))];
        const e = x.expand(target);
        expectElements(e, (i) => at(x, i.slice(1).map((v, d) => (shape[d] === 1 ? 0 : v))));
        const flat = Array.from(x.dataSync());
        expect(Array.from(x.unsqueeze(0).squeeze(0).dataSync())).to.deep.equal(flat);
        expect(Array.from(x.flatten().dataSync())).to.deep.equal(flat);
        expect(x.flatten().shape).to.deep.equal([numel(shape)]);
        expect(Array.from(x.reshape(-1).unflatten(0, [numel(shape)]).dataSync())).to.deep.equal(flat);
      }),
      runs(100),
    );
  });
});
