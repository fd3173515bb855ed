// Horizontal flip: out[c, y, x] = in[c, y, W-1-x]. RandomHorizontalFlip flips when a
// uniform draw is < p (torchvision).

import type { Generator, Tensor } from '@dinots/tensor';
import { imageSize, type Transform } from './image.js';

export function hflip(image: Tensor): Tensor {
  imageSize('hflip', image);
  return image.flip(-1);
}

export class RandomHorizontalFlip implements Transform {
  constructor(readonly p = 0.5) {}

  forward(image: Tensor, generator: Generator): Tensor {
    return generator.random() < this.p ? hflip(image) : image;
  }
}
