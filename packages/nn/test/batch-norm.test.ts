// BatchNorm1d in float64: batch statistics against a direct formula, running statistics
// (momentum and cumulative), eval mode, PyTorch's state-dict keys, clear errors, and
// gradcheck over random shapes and non-contiguous inputs (fast-check). Values against
// PyTorch itself are in test/golden-bn.test.ts.

import { expect } from 'chai';
import fc from 'fast-check';
import { Generator, gradcheck, gradgradcheck, randn } from '@dinots/tensor';
import { BatchNorm1d } from '../src/index.js';

const input = (shape: number[], seed = 1) => randn(shape, { dtype: 'float64', generator: new Generator(seed) }).mul(2).add(1);

/** Per-channel biased mean and variance of x [N, C] or [N, C, L], computed with plain loops. */
function channelStats(x: number[][] | number[][][], c: number): { mean: number; variance: number; count: number } {
  const values = (x as (number[] | number[][])[]).flatMap((row) => (Array.isArray(row[c]) ? (row[c] as number[]) : [row[c] as number]));
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return { mean, variance: values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length, count: values.length };
}

describe('BatchNorm1d', () => {
  it('normalises each channel over the batch (and length) with the biased variance, and updates the running statistics', () => {
    for (const shape of [[5, 3], [4, 3, 6]]) {
      const bn = new BatchNorm1d(3, { dtype: 'float64' });
      const x = input(shape);
      const y = bn.forward(x);
      const xs = x.toArray() as number[][];
      const ys = y.toArray() as number[][];
      const runningMean = bn.runningMean!.dataSync();
      const runningVar = bn.runningVar!.dataSync();
      for (let c = 0; c < 3; c++) {
        const { mean, variance, count } = channelStats(xs, c);
        const got = channelStats(ys, c);
        expect(got.mean).to.be.closeTo(0, 1e-14);
        expect(got.variance).to.be.closeTo(variance / (variance + 1e-5), 1e-13);
        expect(runningMean[c]).to.be.closeTo(0.1 * mean, 1e-15);
        expect(runningVar[c]).to.be.closeTo(0.9 + 0.1 * variance * (count / (count - 1)), 1e-14);
      }
      expect(bn.numBatchesTracked!.item()).to.equal(1);
    }
  });

  it('uses the running statistics in eval mode, and batch statistics without trackRunningStats', () => {
    const bn = new BatchNorm1d(2, { dtype: 'float64' });
    bn.runningMean!.copy_(input([2], 3));
    bn.runningVar!.copy_(input([2], 4).abs());
    bn.weight!.detach().copy_(input([2], 5));
    bn.bias!.detach().copy_(input([2], 6));
    bn.eval();
    const x = input([3, 2]);
    const [m, v, w, b] = [bn.runningMean!, bn.runningVar!, bn.weight!, bn.bias!].map((t) => t.dataSync());
    const expected = (x.toArray() as number[][]).map((row) => row.map((xi, c) => ((xi - m[c]) / Math.sqrt(v[c] + 1e-5)) * w[c] + b[c]));
    (bn.forward(x).toArray() as number[][]).flat().forEach((yi, i) => expect(yi).to.be.closeTo(expected.flat()[i], 1e-14));
    expect(bn.numBatchesTracked!.item()).to.equal(0);
    const batchOnly = new BatchNorm1d(2, { trackRunningStats: false, dtype: 'float64' }).eval();
    expect(batchOnly.runningMean).to.equal(null);
    const y = batchOnly.forward(x);
    expect(channelStats(y.toArray() as number[][], 0).mean).to.be.closeTo(0, 1e-14);
  });

  it('momentum null keeps a cumulative average of the batch statistics', () => {
    const bn = new BatchNorm1d(2, { momentum: null, dtype: 'float64' });
    const a = input([4, 2], 1);
    const b = input([4, 2], 2);
    bn.forward(a);
    bn.forward(b);
    const meanA = a.mean(0).dataSync();
    const meanB = b.mean(0).dataSync();
    const rm = bn.runningMean!.dataSync();
    for (let c = 0; c < 2; c++) expect(rm[c]).to.be.closeTo((meanA[c] + meanB[c]) / 2, 1e-15);
    expect(bn.numBatchesTracked!.item()).to.equal(2);
  });

  it("has PyTorch's state-dict keys and repr", () => {
    const bn = new BatchNorm1d(4);
    expect(Object.keys(bn.stateDict())).to.deep.equal(['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
    expect([...bn.namedParameters()].map(([k]) => k)).to.deep.equal(['weight', 'bias']);
    expect(bn.extraRepr()).to.equal('4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True');
    expect(Object.keys(new BatchNorm1d(4, { affine: false }).stateDict())).to.deep.equal(['running_mean', 'running_var', 'num_batches_tracked']);
  });

  it('refuses wrong shapes, a single value per channel in training, and bad options, naming them', () => {
    const bn = new BatchNorm1d(3);
    expect(() => bn.forward(randn([2, 4]))).to.throw('BatchNorm1d(3): expected input [N, 3] or [N, 3, L], got [2, 4]');
    expect(() => bn.forward(randn([3]))).to.throw('got [3]');
    expect(() => bn.forward(randn([1, 3]))).to.throw('BatchNorm1d(3): expected more than 1 value per channel when training, got input [1, 3]');
    expect(bn.eval().forward(randn([1, 3])).shape).to.deep.equal([1, 3]);
    expect(() => new BatchNorm1d(0)).to.throw('BatchNorm1d: numFeatures must be a positive integer, got 0');
    expect(() => new BatchNorm1d(3, { momentum: 2 })).to.throw('BatchNorm1d: momentum must be in [0, 1] or null, got 2');
    expect(() => new BatchNorm1d(3, { eps: 0 })).to.throw('BatchNorm1d: eps must be positive, got 0');
  });

  it('passes gradcheck in train and eval mode over random shapes and non-contiguous inputs (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 4 }), fc.integer({ min: 1, max: 3 }), fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
        fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: 1000 }),
        (n, c, l, training, transposed, seed) => {
          const bn = new BatchNorm1d(c, { dtype: 'float64' });
          bn.weight!.detach().copy_(input([c], seed + 1));
          bn.bias!.detach().copy_(input([c], seed + 2));
          bn.runningVar!.copy_(input([c], seed + 3).abs().add(0.5));
          bn.train(training);
          const shape = l === undefined ? [n, c] : [n, c, l];
          // A non-contiguous view: the transpose of a tensor laid out the other way round.
          const x = transposed ? input([...shape].reverse(), seed).permute([...shape.keys()].reverse()) : input(shape, seed);
          // gradcheck perturbs its inputs in place, the module's own parameters included.
          return gradcheck((t) => bn.forward(t), [x.detach().requiresGrad_(true), ...bn.parameters()]);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('its gradient has a gradient (gradgradcheck, train mode)', () => {
    const bn = new BatchNorm1d(2, { dtype: 'float64' });
    expect(gradgradcheck((x) => bn.forward(x).pow(3), [input([4, 2]).requiresGrad_(true)])).to.equal(true);
  });
});
