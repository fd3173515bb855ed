// Gaussian blur as PIL's ImageFilter.GaussianBlur(radius), which DINO applies: PIL's
// `radius` is the standard deviation sigma, and the Gaussian is approximated by 3 passes of
// an "extended box" filter per axis (Gwosdek et al. 2011): with sigma^2 / 3 per pass,
//   L = sqrt(12 sigma^2/3 + 1),  l = floor((L - 1) / 2),
//   r = l + (2l+1)(l(l+1) - 3 sigma^2/3) / (6 (sigma^2/3 - (l+1)^2)),
// each pass averages the 2l+1 pixels around x plus the two next ones weighted by r - l,
// divided by 2r + 1. Pixels beyond the border repeat the edge pixel. All passes run along
// rows first, then along columns. DINO draws sigma ~ U[0.1, 2] and blurs with probability p.

import type { Generator, Tensor } from '@dinots/tensor';
import { imageFrom, imageSize, pixelsOf, type Transform, uniform } from './image.js';

const PASSES = 3;

/** The extended-box radius whose `passes` repetitions have variance sigma^2 (PIL's _gaussian_blur_radius). */
export function boxBlurRadius(sigma: number, passes = PASSES): number {
  const sigma2 = (sigma * sigma) / passes;
  const L = Math.sqrt(12 * sigma2 + 1);
  const l = Math.floor((L - 1) / 2);
  const a = ((2 * l + 1) * (l * (l + 1) - 3 * sigma2)) / (6 * (sigma2 - (l + 1) * (l + 1)));
  return l + a;
}

/** One extended-box pass along the middle axis of [outer, n, inner] pixels, in place via `tmp`. */
function boxPass(pixels: Float64Array, tmp: Float64Array, outer: number, n: number, inner: number, radius: number): void {
  const r = Math.floor(radius);
  const edge = radius - r;
  const norm = 1 / (2 * radius + 1);
  const at = (base: number, i: number) => pixels[base + Math.min(Math.max(i, 0), n - 1) * inner];
  for (let a = 0; a < outer; a++) {
    for (let b = 0; b < inner; b++) {
      const base = a * n * inner + b;
      for (let x = 0; x < n; x++) {
        let acc = edge * (at(base, x - r - 1) + at(base, x + r + 1));
        for (let k = -r; k <= r; k++) acc += at(base, x + k);
        tmp[base + x * inner] = acc * norm;
      }
    }
  }
  pixels.set(tmp);
}

export function gaussianBlur(image: Tensor, sigma: number): Tensor {
  const size = imageSize('gaussianBlur', image);
  if (!(sigma >= 0)) throw new Error(`gaussianBlur: sigma must be non-negative, got ${sigma}`);
  if (sigma === 0) return image;
  const pixels = pixelsOf(image);
  const radius = boxBlurRadius(sigma);
  const tmp = new Float64Array(pixels.length);
  const { channels: C, height: H, width: W } = size;
  for (let p = 0; p < PASSES; p++) boxPass(pixels, tmp, C * H, W, 1, radius);
  for (let p = 0; p < PASSES; p++) boxPass(pixels, tmp, C, H, W, radius);
  return imageFrom(pixels, size, image.dtype);
}

/** DINO's GaussianBlur(p, radiusMin, radiusMax): blurs when a uniform draw is <= p, sigma ~ U[radiusMin, radiusMax]. */
export class GaussianBlur implements Transform {
  constructor(readonly p = 0.5, readonly radiusMin = 0.1, readonly radiusMax = 2) {}

  forward(image: Tensor, generator: Generator): Tensor {
    if (!(generator.random() <= this.p)) return image;
    return gaussianBlur(image, uniform(generator, this.radiusMin, this.radiusMax));
  }
}
