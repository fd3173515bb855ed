// The tiny DINO run that the training tests share: digits spread over MNIST, a one-block ViT
// (patch 7, dim 16) with a small head, two 14x14 local crops, lr 0.05, no progress output.
// Each test adds its own batch size, epochs, seed and whatever else it varies.

import { type LabeledImage, MNIST, MNIST_MEAN, MNIST_STD, Subset, type TrainDinoConfig } from '../src/index.js';

export const mnist = new MNIST();

/** `n` digits spread over the whole of MNIST (every 409th, wrapping around). */
export function spreadDigits(n: number): Subset<LabeledImage> {
  return new Subset(mnist, Array.from({ length: n }, (_, i) => (i * 409) % mnist.length));
}

/** The shared run on `dataset` with a head of output dim `outDim`, then `settings`. */
export function tinyMnistRun(dataset: TrainDinoConfig['dataset'], outDim: number, settings: Partial<TrainDinoConfig>): TrainDinoConfig {
  return {
    dataset,
    model: { imgSize: 28, patchSize: 7, inChans: 1, embedDim: 16, depth: 1, numHeads: 2, outDim, headHiddenDim: 16, headBottleneckDim: 8, dropPathRate: 0.1 },
    augmentation: { globalCropSize: 28, localCropSize: 14, localCropsNumber: 2, mean: MNIST_MEAN, std: MNIST_STD },
    batchSize: 8,
    epochs: 1,
    lr: 0.05,
    progress: false,
    ...settings,
  };
}
