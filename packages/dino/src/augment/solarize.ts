// Solarization (BYOL's augmentation; PIL's ImageOps.solarize with threshold 128 on 8-bit
// pixels): every value >= threshold is inverted, v -> 1 - v. On [0, 1] pixels the default
// threshold 0.5 = 127.5/255 sits between the 8-bit levels 127 and 128, so 8-bit images get
// exactly PIL's result, even after float32 rounding. Solarization(p) applies it when a
// uniform draw is < p.

import type { Generator, Tensor } from '@dinots/tensor';
import { imageFrom, imageSize, pixelsOf, type Transform } from './image.js';

export function solarize(image: Tensor, threshold = 0.5): Tensor {
  const size = imageSize('solarize', image);
  const pixels = pixelsOf(image);
  for (let i = 0; i < pixels.length; i++) if (pixels[i] >= threshold) pixels[i] = 1 - pixels[i];
  return imageFrom(pixels, size, image.dtype);
}

export class Solarization implements Transform {
  constructor(readonly p: number) {}

  forward(image: Tensor, generator: Generator): Tensor {
    return generator.random() < this.p ? solarize(image) : image;
  }
}
