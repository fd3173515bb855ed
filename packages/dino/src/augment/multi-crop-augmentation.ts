// DINO's multi-crop augmentation (paper section 3.1 and appendix; DataAugmentationDINO in the
// official main_dino.py). One image gives V = 2 + nLocal views:
//   global 1: RandomResizedCrop(globalSize, globalScale) -> flip + jitter + gray -> blur (p 1.0)
//   global 2: RandomResizedCrop(globalSize, globalScale) -> flip + jitter + gray -> blur (p 0.1) -> solarize (p 0.2)
//   local i:  RandomResizedCrop(localSize, localScale)   -> flip + jitter + gray -> blur (p 0.5)
// each followed by Normalize, where flip + jitter + gray = RandomHorizontalFlip(0.5),
// RandomApply(ColorJitter(0.4, 0.4, 0.2, 0.1), p 0.8), RandomGrayscale(0.2).
// Defaults are the official ones (224/96 px, scales (0.4, 1) and (0.05, 0.4), 8 local crops,
// ImageNet mean/std); small images (MNIST: 28 px, 1 channel) set their own sizes and stats.
// This makes the crops of one image; the model side, which runs the backbone and head over
// a batch of such crops, is MultiCropWrapper (../multi-crop-wrapper.ts).

import type { Generator, Tensor } from '@dinots/tensor';
import { ColorJitter, type ColorJitterOptions } from './color-jitter.js';
import { Compose, RandomApply } from './compose.js';
import { RandomHorizontalFlip } from './flip.js';
import { GaussianBlur } from './gaussian-blur.js';
import { RandomGrayscale } from './grayscale.js';
import type { Transform } from './image.js';
import { IMAGENET_MEAN, IMAGENET_STD, Normalize } from './normalize.js';
import { RandomResizedCrop } from './random-resized-crop.js';
import { Solarization } from './solarize.js';

export interface MultiCropOptions {
  globalCropSize?: number;
  localCropSize?: number;
  globalCropsScale?: readonly [number, number];
  localCropsScale?: readonly [number, number];
  localCropsNumber?: number;
  /** Probability of a horizontal flip (0.5; digits are better left unflipped). */
  flipP?: number;
  colorJitter?: ColorJitterOptions;
  /** Probability of applying the color jitter. */
  colorJitterP?: number;
  grayscaleP?: number;
  /** Blur probabilities of global view 1, global view 2 and each local view. */
  blurP?: readonly [number, number, number];
  /** The blur's sigma range in pixels (DINO's radius_min, radius_max: 0.1, 2). */
  blurSigma?: readonly [number, number];
  /** Solarization probability of global view 2. */
  solarizeP?: number;
  mean?: readonly number[];
  std?: readonly number[];
}

export class MultiCropAugmentation {
  readonly global1: Transform;
  readonly global2: Transform;
  readonly local: Transform;
  readonly localCropsNumber: number;

  constructor(options: MultiCropOptions = {}) {
    const {
      globalCropSize = 224,
      localCropSize = 96,
      globalCropsScale = [0.4, 1],
      localCropsScale = [0.05, 0.4],
      localCropsNumber = 8,
      flipP = 0.5,
      colorJitter = { brightness: 0.4, contrast: 0.4, saturation: 0.2, hue: 0.1 },
      colorJitterP = 0.8,
      grayscaleP = 0.2,
      blurP = [1, 0.1, 0.5],
      blurSigma = [0.1, 2],
      solarizeP = 0.2,
      mean = IMAGENET_MEAN,
      std = IMAGENET_STD,
    } = options;
    if (!Number.isInteger(localCropsNumber) || localCropsNumber < 0) {
      throw new Error(`MultiCropAugmentation: localCropsNumber must be a non-negative integer, got ${localCropsNumber}`);
    }
    const flipAndColorJitter = [new RandomHorizontalFlip(flipP), new RandomApply(new ColorJitter(colorJitter), colorJitterP), new RandomGrayscale(grayscaleP)];
    const normalize = new Normalize(mean, std);
    const blur = (p: number) => new GaussianBlur(p, blurSigma[0], blurSigma[1]);
    this.global1 = new Compose([new RandomResizedCrop(globalCropSize, { scale: globalCropsScale }), ...flipAndColorJitter, blur(blurP[0]), normalize]);
    this.global2 = new Compose([
      new RandomResizedCrop(globalCropSize, { scale: globalCropsScale }),
      ...flipAndColorJitter,
      blur(blurP[1]),
      new Solarization(solarizeP),
      normalize,
    ]);
    this.local = new Compose([new RandomResizedCrop(localCropSize, { scale: localCropsScale }), ...flipAndColorJitter, blur(blurP[2]), normalize]);
    this.localCropsNumber = localCropsNumber;
  }

  /** The number of views per image, V = 2 + localCropsNumber. */
  get ncrops(): number {
    return 2 + this.localCropsNumber;
  }

  /** The V views of one [C, H, W] image in [0, 1]: [global1, global2, local1, ...]. */
  forward(image: Tensor, generator: Generator): Tensor[] {
    const crops = [this.global1.forward(image, generator), this.global2.forward(image, generator)];
    for (let i = 0; i < this.localCropsNumber; i++) crops.push(this.local.forward(image, generator));
    return crops;
  }
}
