// RandomResizedCrop (Szegedy et al. 2015's "Inception" crop; torchvision semantics).
//
// Up to 10 tries: area A = H*W * U(scale), aspect r = exp(U(log ratio)), crop width
// w = round(sqrt(A r)), height h = round(sqrt(A / r)) (Python's round: halves to even);
// the first (h, w) that fits is placed uniformly at random. If none fits, a centre crop of
// the whole image with its aspect ratio clamped to `ratio`. The crop is then resized to
// size x size with PIL's bicubic filter (see resize.ts).

import type { Generator, Tensor } from '@dinots/tensor';
import { imageSize, type Transform, uniform } from './image.js';
import { resize } from './resize.js';

export interface CropBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

/** Python 3's round(): to the nearest integer, halves to the even neighbour. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** torchvision's RandomResizedCrop.get_params for an image of height x width. */
export function randomResizedCropParams(
  height: number,
  width: number,
  scale: readonly [number, number],
  ratio: readonly [number, number],
  generator: Generator,
): CropBox {
  const area = height * width;
  const logRatio = [Math.log(ratio[0]), Math.log(ratio[1])];
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * uniform(generator, scale[0], scale[1]);
    const aspect = Math.exp(uniform(generator, logRatio[0], logRatio[1]));
    const w = roundHalfEven(Math.sqrt(targetArea * aspect));
    const h = roundHalfEven(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const top = generator.randint(0, height - h + 1);
      const left = generator.randint(0, width - w + 1);
      return { top, left, height: h, width: w };
    }
  }
  return centerCropFallback(height, width, ratio);
}

/** The crop used when no random try fits: the whole image, aspect clamped to `ratio`, centred. */
export function centerCropFallback(height: number, width: number, ratio: readonly [number, number]): CropBox {
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < Math.min(...ratio)) h = roundHalfEven(w / Math.min(...ratio));
  else if (inRatio > Math.max(...ratio)) w = roundHalfEven(h * Math.max(...ratio));
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
}

/** The pixels inside `box`, resized to size x size. */
export function resizedCrop(image: Tensor, box: CropBox, size: number): Tensor {
  const { height, width } = imageSize('resizedCrop', image);
  if (box.top < 0 || box.left < 0 || box.top + box.height > height || box.left + box.width > width) {
    throw new Error(`resizedCrop: box ${JSON.stringify(box)} is outside the ${height}x${width} image`);
  }
  const crop = image.narrow(1, box.top, box.height).narrow(2, box.left, box.width);
  return resize(crop, size, size);
}

export interface RandomResizedCropOptions {
  scale?: readonly [number, number];
  ratio?: readonly [number, number];
}

export class RandomResizedCrop implements Transform {
  readonly size: number;
  readonly scale: readonly [number, number];
  readonly ratio: readonly [number, number];

  constructor(size: number, options: RandomResizedCropOptions = {}) {
    const { scale = [0.08, 1], ratio = [3 / 4, 4 / 3] } = options;
    if (!Number.isInteger(size) || size < 1) throw new Error(`RandomResizedCrop: size must be a positive integer, got ${size}`);
    if (!(scale[0] > 0 && scale[0] <= scale[1])) throw new Error(`RandomResizedCrop: scale must be (min, max) with 0 < min <= max, got [${scale}]`);
    if (!(ratio[0] > 0 && ratio[0] <= ratio[1])) throw new Error(`RandomResizedCrop: ratio must be (min, max) with 0 < min <= max, got [${ratio}]`);
    this.size = size;
    this.scale = scale;
    this.ratio = ratio;
  }

  forward(image: Tensor, generator: Generator): Tensor {
    const { height, width } = imageSize('RandomResizedCrop', image);
    return resizedCrop(image, randomResizedCropParams(height, width, this.scale, this.ratio, generator), this.size);
  }
}
