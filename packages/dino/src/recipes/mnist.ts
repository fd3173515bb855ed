// The small-scale DINO recipe for the embedded MNIST digits, found by experiment
// (docs/small-scale-dino.md has every run): a ViT with 16 tokens per 28 px digit, a DINO head
// with BatchNorm in its MLP (the official use_bn_in_head; without it the tiny teacher either
// goes uniform or collapses onto a few prototypes), K 1024, a sharp constant teacher
// temperature, and crops and jitter mild enough that a crop still shows part of the digit.
// The split is the one the demo and every figure use: 8,000 training and 2,000 held-out
// digits drawn by randomSplit with Generator(0).

import { Generator } from '@dinots/tensor';
import { MNIST } from '../data/mnist.js';
import { MNIST_MEAN, MNIST_STD } from '../data/digits.js';
import { type Dataset, type LabeledImage, randomSplit } from '../data/dataset.js';
import type { TrainDinoConfig } from '../train.js';

/** The demo's disjoint split of the 10,000 embedded digits: 8,000 to train on, 2,000 held out. */
export function mnistSplit(): { train: Dataset<LabeledImage>; test: Dataset<LabeledImage> } {
  const [train, test] = randomSplit(new MNIST(), [8000, 2000], new Generator(0));
  return { train, test };
}

export type DinoRecipe = Omit<TrainDinoConfig, 'dataset' | 'outputDir' | 'progress' | 'onIteration' | 'evaluation' | 'resume'>;

/** The recipe for `epochs` epochs of the 8,000 training digits at batch 128 (62 iterations each). */
export function mnistRecipe(epochs: number): DinoRecipe {
  return {
    model: {
      imgSize: 28, patchSize: 7, inChans: 1, embedDim: 64, depth: 2, numHeads: 4, mlpRatio: 4, dropPathRate: 0,
      outDim: 1024, headHiddenDim: 256, headBottleneckDim: 64, headNlayers: 3, headUseBn: true,
    },
    augmentation: {
      globalCropSize: 28, localCropSize: 14, localCropsNumber: 4, globalCropsScale: [0.5, 1], localCropsScale: [0.2, 0.5],
      flipP: 0, colorJitter: { brightness: 0.4, contrast: 0.4, saturation: 0, hue: 0 }, colorJitterP: 0.8, grayscaleP: 0,
      blurP: [1, 0.1, 0.5], blurSigma: [0.1, 0.5], solarizeP: 0, mean: MNIST_MEAN, std: MNIST_STD,
    },
    batchSize: 128,
    epochs,
    // lr is per 256 images: 0.004 * 128 / 256 = 2e-3, warmed up over the first 10 % of the run.
    lr: 0.004,
    minLr: 1e-6,
    warmupEpochs: Math.max(1, Math.round(epochs / 10)),
    weightDecay: 0.04,
    weightDecayEnd: 0.4,
    momentumTeacher: 0.99,
    clipGrad: 3,
    freezeLastLayer: 0,
    warmupTeacherTemp: 0.02,
    teacherTemp: 0.02,
    warmupTeacherTempEpochs: 0,
    seed: 0,
  };
}
