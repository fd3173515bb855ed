import { expect } from 'chai';
import fc from 'fast-check';
import { Generator, tensor } from '@dinots/tensor';
import { MNIST, collateImages, knnClassifier, randomSplit, topkIndices } from '../src/index.js';
import { golden, maxAbsDiff } from './golden.js';

describe('knnClassifier', () => {
  const trainLabels = () => golden('knn/train_labels').dataSync();
  const testLabels = () => golden('knn/test_labels').dataSync();

  it('reproduces the golden weighted 20-NN scores, predictions and accuracy, in any chunking', () => {
    for (const chunkSize of [7, 100, 256]) {
      const r = knnClassifier(golden('knn/train_features'), trainLabels(), golden('knn/test_features'), testLabels(), { k: 20, temperature: 0.07, chunkSize });
      const scores = tensor(r.scores, { shape: [100, r.numClasses], dtype: 'float64' });
      const want = golden('knn/scores_k20_T0.07');
      // scores reach exp(1/0.07) ~ 1.6e6: compare relative to the largest.
      expect(maxAbsDiff(scores, want) / want.amax().item()).to.be.below(1e-12);
      expect(Array.from(r.predictions)).to.deep.equal(Array.from(golden('knn/pred_top1').dataSync()));
      expect(r.top1).to.be.closeTo(golden('knn/top1_accuracy').item(), 1e-12);
      expect(r.top5).to.be.at.least(r.top1);
    }
  });

  it('works with fewer than 100 test images (where the official script divides by zero)', () => {
    const train = tensor([[1, 0], [0, 1], [1, 0.1]]);
    const r = knnClassifier(train, [0, 1, 0], tensor([[2, 0.1]]), [0], { k: 20 });
    expect(r.top1).to.equal(100);
    expect(r.scores[0]).to.be.closeTo(Math.exp(Math.cos(Math.atan(0.05)) / 0.07) + Math.exp(Math.cos(Math.atan(0.1) - Math.atan(0.05)) / 0.07), 1e-6 * Math.exp(1 / 0.07));
  });
});

describe('topkIndices', () => {
  it('returns the indices of the k largest values in descending order', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: true, min: -1e6, max: 1e6 }), { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 70 }), (values, k) => {
        const got = Array.from(topkIndices(values, k)).map((i) => values[i]);
        const want = [...values].sort((a, b) => b - a).slice(0, k);
        expect(got).to.deep.equal(want);
      }),
    );
  });
});

describe('k-NN on the embedded MNIST digits', () => {
  it('raw pixels are a strong baseline (the small-scale notes measured 95.5 % with 8,000 / 2,000)', () => {
    const mnist = new MNIST();
    const [train, test] = randomSplit(mnist, [2000, 500, mnist.length - 2500], new Generator(0));
    const features = (ds: typeof train) => {
      const batch = collateImages(Array.from({ length: ds.length }, (_, i) => ds.get(i)));
      return { x: batch.images.flatten(1), y: batch.labels };
    };
    const tr = features(train);
    const te = features(test);
    const r = knnClassifier(tr.x, tr.y, te.x, te.y, { k: 20, temperature: 0.07, numClasses: 10 });
    expect(r.top1).to.be.within(85, 100);
    expect(r.top5).to.be.at.least(r.top1);
  });
});
