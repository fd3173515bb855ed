// Per-channel standardisation (torchvision's Normalize): out[c] = (in[c] - mean[c]) / std[c].
// DINO uses the ImageNet statistics below.

import type { Generator, Tensor } from '@dinots/tensor';
import { imageFrom, imageSize, pixelsOf, type Transform } from './image.js';

export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

export function normalize(image: Tensor, mean: readonly number[], std: readonly number[]): Tensor {
  const size = imageSize('normalize', image);
  if (mean.length !== size.channels || std.length !== size.channels) {
    throw new Error(`normalize: ${mean.length} means and ${std.length} stds for an image with ${size.channels} channels (shape [${image.shape}])`);
  }
  if (std.some((s) => !(s > 0))) throw new Error(`normalize: std must be positive, got [${std}]`);
  const pixels = pixelsOf(image);
  const n = size.height * size.width;
  for (let c = 0; c < size.channels; c++) {
    for (let i = c * n; i < (c + 1) * n; i++) pixels[i] = (pixels[i] - mean[c]) / std[c];
  }
  return imageFrom(pixels, size, image.dtype);
}

export class Normalize implements Transform {
  constructor(readonly mean: readonly number[], readonly std: readonly number[]) {}

  forward(image: Tensor, _generator: Generator): Tensor {
    return normalize(image, this.mean, this.std);
  }
}
