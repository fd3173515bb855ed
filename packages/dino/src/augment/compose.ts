// Chaining transforms (torchvision's Compose and RandomApply). Every random draw comes from
// the one Generator passed down, in application order, so a seed fixes the whole pipeline.

import type { Generator, Tensor } from '@dinots/tensor';
import type { Transform } from './image.js';

export class Compose implements Transform {
  constructor(readonly transforms: readonly Transform[]) {}

  forward(image: Tensor, generator: Generator): Tensor {
    return this.transforms.reduce((img, t) => t.forward(img, generator), image);
  }
}

/** Applies `transform` when a uniform draw is <= p (torchvision skips it when p < draw). */
export class RandomApply implements Transform {
  constructor(readonly transform: Transform, readonly p: number) {}

  forward(image: Tensor, generator: Generator): Tensor {
    return generator.random() <= this.p ? this.transform.forward(image, generator) : image;
  }
}
