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

/**
 * One extended-box pass along the middle axis of [outer, n, inner] pixels, in place. Each
 * line is copied with r + 1 edge pixels repeated on both sides, then a running sum slides
 * the 2r+1 window: O(n) per line whatever the radius.
 */
function boxPass(pixels: Float64Array, outer: number, n: number, inner: number, radius: number): void {
  const r = Math.floor(radius);
  const edge = radius - r;
  const norm = 1 / (2 * radius + 1);
  const pad = r + 1;
  const ext = new Float64Array(n + 2 * pad);
  for (let a = 0; a < outer; a++) {
    for (let b = 0; b < inner; b++) {
      const base = a * n * inner + b;
      for (let j = 0; j < ext.length; j++) ext[j] = pixels[base + Math.min(Math.max(j - pad, 0), n - 1) * inner];
      let window = 0; // ext[x+1 .. x+2r+1], the 2r+1 pixels centred on x
      for (let j = 1; j <= 2 * r + 1; j++) window += ext[j];
      for (let x = 0; x < n; x++) {
        pixels[base + x * inner] = (window + edge * (ext[x] + ext[x + 2 * r + 2])) * norm;
        window += ext[x + 2 * r + 2] - ext[x + 1];
      }
    }
  }
}

export function gaussianBlur(image: Tensor, sigma: number): Tensor {
  const size = imageSize('gaussianBlur', image);
  if (!(sigma >= 0)) throw new Error(`gaussianBlur: sigma must be non-negative, got ${sigma}`);
  if (sigma === 0) return image;
  const pixels = pixelsOf(image);
  const radius = boxBlurRadius(sigma);
  const { channels: C, height: H, width: W } = size;
  for (let p = 0; p < PASSES; p++) boxPass(pixels, C * H, W, 1, radius);
  for (let p = 0; p < PASSES; p++) boxPass(pixels, C, H, W, radius);
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
