import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Generator, tensor } from '@dinots/tensor';
import { type Compose, GaussianBlur, MNIST, MultiCropAugmentation, RandomHorizontalFlip, Subset, buildDinoNetworks, decodeImage } from '../src/index.js';
import { bestPatchJaccard, headJaccards, jaccard, patchMaskToPixels, summarizeJaccard } from '../src/attention-jaccard.js';
import { ClutteredDigits } from '../src/data/cluttered-mnist.js';
import { type EmergingData, evaluateEmerging, loadBackbone, pixelStats, saveBackbone } from '../src/experiments/emerging.js';
import { buildBackbone } from '../src/model.js';
import { crossEntropy, trainSupervised } from '../src/supervised.js';

const mnist = new MNIST();
/** 60 digits from every class (the embedded set is ordered by class). */
const source = new Subset(mnist, Array.from({ length: 60 }, (_, i) => (i % 10) * 1000 + Math.floor(i / 10)));

describe('cluttered digits', () => {
  const data = new ClutteredDigits(source, { seed: 3 });

  it('gives the same image, mask and label for an index whatever the reading order, and other pixels for another seed', () => {
    const again = new ClutteredDigits(source, { seed: 3 });
    const a = [5, 0, 17].map((i) => data.sample(i));
    const b = [17, 0, 5].map((i) => again.sample(i)).reverse();
    a.forEach((s, k) => {
      expect(Array.from(s.image.dataSync())).to.deep.equal(Array.from(b[k].image.dataSync()));
      expect(Array.from(s.mask)).to.deep.equal(Array.from(b[k].mask));
      expect(s.label).to.equal(b[k].label);
    });
    const other = new ClutteredDigits(source, { seed: 4 }).sample(5);
    expect(Array.from(other.image.dataSync())).to.not.deep.equal(Array.from(a[0].image.dataSync()));
    expect(other.label).to.equal(a[0].label); // same source digit, new placement and clutter
  });

  it('draws the canvas as max(digit, clutter) and the mask from the digit layer alone, inside its box', () => {
    let clutterOnlyInk = 0;
    let clutterOverMask = 0;
    for (let i = 0; i < 20; i++) {
      const s = data.sample(i);
      const S = data.canvasSize;
      expect(s.image.shape).to.deep.equal([1, S, S]);
      expect(s.label).to.equal(source.get(i).label);
      const canvas = s.image.dataSync();
      let maskPixels = 0;
      let wrong = 0;
      for (let p = 0; p < S * S; p++) {
        if (canvas[p] !== Math.max(s.digit[p], s.clutter[p])) wrong++;
        if (s.mask[p] !== (s.digit[p] > data.maskThreshold ? 1 : 0)) wrong++;
        const y = Math.floor(p / S);
        const x = p % S;
        const inBox = y >= s.box.top && y < s.box.top + s.box.size && x >= s.box.left && x < s.box.left + s.box.size;
        if (!inBox && s.digit[p] !== 0) wrong++;
        maskPixels += s.mask[p];
        if (s.clutter[p] > data.maskThreshold && s.mask[p] === 0) clutterOnlyInk++;
        if (s.clutter[p] > data.maskThreshold && s.mask[p] === 1) clutterOverMask++;
      }
      expect(wrong, `image ${i}: pixels breaking the rules`).to.equal(0);
      expect(maskPixels).to.be.greaterThan(30);
      expect(s.box.size).to.be.within(data.digitSize[0], data.digitSize[1]);
    }
    // Clutter ink outside the digit is what the mask must not include; it exists in quantity.
    expect(clutterOnlyInk).to.be.greaterThan(20 * 6 * 6);
    expect(clutterOverMask).to.be.lessThan(clutterOnlyInk);
  });

  it('gives every image the same clutter recipe: the same number of inked fragments, none from its own digit', () => {
    for (let i = 0; i < 20; i++) {
      const s = data.sample(i);
      expect(s.fragmentSources).to.have.length(data.fragments);
      expect(s.fragmentSources).to.not.include(i % source.length);
      let ink = 0;
      for (const v of s.clutter) if (v > data.maskThreshold) ink++;
      // Each fragment holds at least its side in ink pixels; overlaps can hide some.
      expect(ink).to.be.at.least(data.fragmentSize[0]);
      expect(ink).to.be.at.most(data.fragments * data.fragmentSize[1] ** 2);
    }
  });

  it('computes the pixel mean and std of its images', () => {
    const small = new ClutteredDigits(source, { seed: 3, length: 4 });
    const stats = pixelStats(small, 4);
    const all = Array.from({ length: 4 }, (_, i) => Array.from(small.get(i).image.dataSync())).flat();
    const mean = all.reduce((a, b) => a + b, 0) / all.length;
    expect(stats.mean[0]).to.be.closeTo(mean, 1e-12);
    expect(stats.std[0]).to.be.closeTo(Math.sqrt(all.reduce((a, v) => a + (v - mean) ** 2, 0) / all.length), 1e-9);
  });
});

describe('attention Jaccard', () => {
  it('is intersection over union on hand-made masks', () => {
    expect(jaccard([1, 1, 0, 0], [1, 1, 0, 0])).to.equal(1);
    expect(jaccard([1, 0, 0, 0], [0, 1, 0, 0])).to.equal(0);
    expect(jaccard([1, 1, 0, 0], [0, 1, 1, 0])).to.be.closeTo(1 / 3, 1e-15);
    expect(jaccard([0, 0], [0, 0])).to.equal(1);
    expect(() => jaccard([1], [1, 0])).to.throw(/lengths 1 and 2/);
  });

  it('upsamples a patch mask to pixels by nearest repetition', () => {
    // 2x2 grid, patch 2, in a 5x5 image (the last row and column are outside the grid).
    expect(Array.from(patchMaskToPixels([1, 0, 0, 1], 2, 2, 2, 5, 5))).to.deep.equal([
      1, 1, 0, 0, 0,
      1, 1, 0, 0, 0,
      0, 0, 1, 1, 0,
      0, 0, 1, 1, 0,
      0, 0, 0, 0, 0,
    ]);
  });

  it('scores each head of a hand-made attention map against the mask', () => {
    // A 4x4 image, patch 2: 4 patches. Target: the top-left patch.
    const target = patchMaskToPixels([1, 0, 0, 0], 2, 2, 2);
    // Head 0 puts 0.7 of its mass on patch 0 (alone above 60 %); head 1 is uniform, so its
    // 60 % mask keeps 3 of the 4 patches (ties broken by index: patches 1, 2, 3).
    const attention = tensor([[0.7, 0.1, 0.1, 0.1], [0.25, 0.25, 0.25, 0.25]], { dtype: 'float64' });
    const scores = headJaccards(attention, target, 2, 4, 4);
    expect(scores[0]).to.equal(1);
    expect(scores[1]).to.equal(0);
    // Patches 0 and 2 hold 0.65 of the mass, the smallest top set above 60 %: 4 / 8 pixels.
    expect(headJaccards(tensor([[0.35, 0.3, 0.3, 0.05]], { dtype: 'float64' }), target, 2, 4, 4)[0]).to.equal(0.5);
  });

  it('summarises per-head means, the best head and the mean over heads', () => {
    const s = summarizeJaccard([[0.1, 0.5], [0.3, 0.7]]);
    expect(s.perHead[0]).to.be.closeTo(0.2, 1e-15);
    expect(s.perHead[1]).to.be.closeTo(0.6, 1e-15);
    expect(s.bestHead).to.equal(1);
    expect(s.best).to.be.closeTo(0.6, 1e-15);
    expect(s.mean).to.be.closeTo(0.4, 1e-15);
  });

  it('finds the best whole-patch Jaccard (the ceiling of any attention mask)', () => {
    expect(bestPatchJaccard(patchMaskToPixels([0, 1, 0, 0], 2, 2, 2), 4, 4, 2)).to.equal(1);
    // One pixel: the best set is its patch, 1 / 4.
    const pixel = new Uint8Array(16);
    pixel[5] = 1;
    expect(bestPatchJaccard(pixel, 4, 4, 2)).to.equal(0.25);
    // 3 pixels in patch 0 and 1 in patch 1: patch 0 alone gives 3/5; both give 4/8.
    const split = new Uint8Array(16);
    for (const p of [0, 1, 4, 2]) split[p] = 1;
    expect(bestPatchJaccard(split, 4, 4, 2)).to.be.closeTo(3 / 5, 1e-15);
  });
});

describe('supervised ViT', () => {
  const architecture = { imgSize: 16, patchSize: 8, inChans: 1, embedDim: 16, depth: 1, numHeads: 2 };

  it('starts from the same backbone as a DINO student built with the same seed', () => {
    const a = buildBackbone(architecture, new Generator(7)).stateDict();
    const b = buildDinoNetworks({ ...architecture, outDim: 8, headHiddenDim: 8, headBottleneckDim: 4 }, new Generator(7)).student.backbone.stateDict();
    expect(Object.keys(a)).to.deep.equal(Object.keys(b));
    for (const k of Object.keys(a)) expect(Array.from(a[k].dataSync())).to.deep.equal(Array.from(b[k].dataSync()));
  });

  it('computes cross-entropy as torch.nn.functional.cross_entropy', () => {
    const logits = tensor([[0, 0], [2, 0]], { dtype: 'float64' });
    // mean(log 2, log(1 + e^2)) for labels [0, 1]
    expect(crossEntropy(logits, [0, 1]).item()).to.be.closeTo((Math.log(2) + Math.log(1 + Math.exp(2))) / 2, 1e-12);
  });

  it('fits a small labelled set, reproducibly from its seed', () => {
    const small = new ClutteredDigits(new Subset(mnist, [0, 1000, 2000, 3000]), { canvasSize: 16, digitSize: [14, 16], fragments: 0, seed: 1 });
    const run = () => trainSupervised({ dataset: small, model: architecture, numClasses: 10, iterations: 40, batchSize: 4, lr: 3e-3, warmupIterations: 2, mean: [0.1], std: [0.3], progress: false });
    const first = run();
    expect(first.history.at(-1)!.loss).to.be.below(first.history[0].loss / 4);
    const second = run();
    expect(second.history.map((m) => m.loss)).to.deep.equal(first.history.map((m) => m.loss));
  });
});

describe('emerging experiment (eval-only path on a tiny model)', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'dinots-emerging-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('saves and reloads backbones, then writes results.json and the figure from the checkpoints', () => {
    const architecture = { imgSize: 24, patchSize: 8, inChans: 1, embedDim: 16, depth: 1, numHeads: 2 };
    const options = { canvasSize: 24, digitSize: [14, 20] as const, fragments: 3, fragmentSize: [4, 6] as const };
    const data: EmergingData = {
      train: new ClutteredDigits(source, { ...options, seed: 1, length: 40 }),
      test: new ClutteredDigits(new Subset(mnist, Array.from({ length: 10 }, (_, i) => i * 1000 + 500)), { ...options, seed: 2 }),
      normalization: { mean: [0.1], std: [0.3] },
    };
    const dino = buildBackbone(architecture, new Generator(11));
    const paths = { dino: join(dir, 'dino.safetensors'), supervised: join(dir, 'supervised.safetensors') };
    saveBackbone(paths.dino, dino, architecture, { method: 'test' });
    saveBackbone(paths.supervised, buildBackbone(architecture, new Generator(12)), architecture, { method: 'test' });
    const loaded = loadBackbone(paths.dino);
    expect(loaded.architecture).to.deep.equal(architecture);
    expect(loaded.facts).to.deep.equal({ method: 'test' });
    expect(Array.from(loaded.backbone.stateDict()['blocks.0.attn.qkv.weight'].dataSync())).to.deep.equal(Array.from(dino.stateDict()['blocks.0.attn.qkv.weight'].dataSync()));

    const resultsPath = join(dir, 'results.json');
    const figurePath = join(dir, 'attention.png');
    const results = evaluateEmerging({ dinoCheckpoint: paths.dino, supervisedCheckpoint: paths.supervised, data, validationImages: 10, figureImages: 3, resultsPath, figurePath });
    const written = JSON.parse(readFileSync(resultsPath, 'utf8')) as typeof results;
    expect(Object.keys(written.knn).sort()).to.deep.equal(['dino', 'randomInit', 'rawPixels', 'supervised']);
    for (const key of ['jaccard', 'jaccardMean', 'bestHead'] as const) expect(Object.keys(written[key]).sort()).to.deep.equal(['dino', 'randomInit', 'supervised']);
    for (const v of Object.values(written.knn)) expect(v).to.be.within(0, 100);
    for (const k of ['randomInit', 'supervised', 'dino'] as const) {
      expect(written.jaccard[k]).to.be.within(0, 1);
      expect(written.jaccardMean[k]).to.be.at.most(Math.max(...written.jaccardPerHead[k]));
      expect(written.jaccardPerHead[k]).to.have.length(2);
      expect(written.jaccardPerHead[k][written.bestHead[k]]).to.equal(written.jaccard[k]);
    }
    expect(written.jaccardCeiling).to.be.within(Math.max(...Object.values(written.jaccard)), 1);
    expect(written).to.deep.equal(JSON.parse(JSON.stringify(results)));
    expect(existsSync(figurePath)).to.equal(true);
    const figure = decodeImage(readFileSync(figurePath));
    // 3 rows of 3 x 24 px panels below a header; 2 + 3 x (2 heads + 1 mask) columns.
    expect(figure.shape[1]).to.be.greaterThan(3 * 120);
    expect(figure.shape[2]).to.be.greaterThan(11 * 120);
  });
});

describe('MultiCropAugmentation blurSigma and flipP', () => {
  it('passes the sigma range to every blur and the probability to every flip (defaults: the official 0.1-2 and 0.5)', () => {
    const parts = (aug: MultiCropAugmentation) => [aug.global1, aug.global2, aug.local].flatMap((t) => (t as Compose).transforms);
    const custom = parts(new MultiCropAugmentation({ blurSigma: [0.1, 0.5], flipP: 0 }));
    const blurs = custom.filter((t): t is GaussianBlur => t instanceof GaussianBlur);
    const flips = custom.filter((t): t is RandomHorizontalFlip => t instanceof RandomHorizontalFlip);
    expect(blurs).to.have.length(3);
    expect(flips).to.have.length(3);
    for (const b of blurs) expect([b.radiusMin, b.radiusMax]).to.deep.equal([0.1, 0.5]);
    for (const f of flips) expect(f.p).to.equal(0);
    const official = parts(new MultiCropAugmentation());
    for (const b of official.filter((t): t is GaussianBlur => t instanceof GaussianBlur)) expect([b.radiusMin, b.radiusMax]).to.deep.equal([0.1, 2]);
    for (const f of official.filter((t): t is RandomHorizontalFlip => t instanceof RandomHorizontalFlip)) expect(f.p).to.equal(0.5);
  });
});
