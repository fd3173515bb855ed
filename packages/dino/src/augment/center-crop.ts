// CenterCrop(size) (torchvision): the size x size window in the middle of the image, its
// top-left corner at round((H - size) / 2), round((W - size) / 2) with Python's rounding.
// DINO's k-NN and linear evaluations use Resize(256) then CenterCrop(224).

import type { Generator, Tensor } from '@dinots/tensor';
import { imageSize, type Transform } from './image.js';
import { roundHalfEven } from './random-resized-crop.js';

export function centerCrop(image: Tensor, size: number): Tensor {
  const { height, width } = imageSize('centerCrop', image);
  if (!Number.isInteger(size) || size < 1 || size > height || size > width) {
    throw new Error(`centerCrop: cannot cut a ${size}x${size} window from an image of shape [${image.shape}]`);
  }
  const top = roundHalfEven((height - size) / 2);
  const left = roundHalfEven((width - size) / 2);
  return image.narrow(1, top, size).narrow(2, left, size).contiguous();
}

export class CenterCrop implements Transform {
  constructor(readonly size: number) {}

  forward(image: Tensor, _generator?: Generator): Tensor {
    return centerCrop(image, this.size);
  }
}
