// Grayscale with as many channels as the input (torchvision's RandomGrayscale): every
// channel becomes the luma 0.299 R + 0.587 G + 0.114 B. A 1-channel image is unchanged.
// RandomGrayscale converts when a uniform draw is < p.

import type { Generator, Tensor } from '@dinots/tensor';
import { imageFrom, imageSize, luma, pixelsOf, type Transform } from './image.js';

export function rgbToGrayscale(image: Tensor): Tensor {
  const size = imageSize('rgbToGrayscale', image);
  if (size.channels === 1) return image;
  const gray = luma(pixelsOf(image), size);
  const out = new Float64Array(3 * gray.length);
  for (let c = 0; c < 3; c++) out.set(gray, c * gray.length);
  return imageFrom(out, size, image.dtype);
}

export class RandomGrayscale implements Transform {
  constructor(readonly p = 0.1) {}

  forward(image: Tensor, generator: Generator): Tensor {
    return generator.random() < this.p ? rgbToGrayscale(image) : image;
  }
}
