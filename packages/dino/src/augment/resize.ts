// Bicubic resizing as PIL's Image.resize(size, BICUBIC), which DINO's RandomResizedCrop runs
// (torchvision on PIL images). Separable: each axis is a convolution with the cubic kernel
//   k(x) = (a+2)|x|^3 - (a+3)|x|^2 + 1   for |x| < 1,
//          a|x|^3 - 5a|x|^2 + 8a|x| - 4a for 1 <= |x| < 2,   a = -0.5 (PIL; PyTorch uses -0.75)
// centred on the source coordinate (o + 0.5) * scale, scale = in/out. When shrinking, the
// kernel is stretched by the scale (support 2 * scale), which low-passes the image
// (antialiasing); taps outside the image are dropped and the weights renormalised. PIL clips
// to the pixel range after each pass; here pixels are floats in [0, 1], not 8-bit.

import type { Generator, Tensor } from '@dinots/tensor';
import { imageFrom, imageSize, pixelsOf, type Transform } from './image.js';

const A = -0.5;

function cubic(x: number): number {
  const ax = Math.abs(x);
  if (ax < 1) return ((A + 2) * ax - (A + 3)) * ax * ax + 1;
  if (ax < 2) return (((ax - 5) * ax + 8) * ax - 4) * A;
  return 0;
}

interface Taps {
  start: Int32Array;
  count: Int32Array;
  weights: Float64Array[];
}

/** For each output index, the first input index, the number of taps and their weights. */
function taps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 2 * filterScale;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights: Float64Array[] = [];
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const hi = Math.min(Math.trunc(center + support + 0.5), inSize);
    const w = new Float64Array(hi - lo);
    let total = 0;
    for (let i = lo; i < hi; i++) total += w[i - lo] = cubic((i - center + 0.5) / filterScale);
    if (total !== 0) for (let i = 0; i < w.length; i++) w[i] /= total;
    start[o] = lo;
    count[o] = hi - lo;
    weights.push(w);
  }
  return { start, count, weights };
}

/** Resamples the middle axis of [outer, inSize, inner] pixels to [outer, outSize, inner]. */
function resampleAxis(src: Float64Array, outer: number, inSize: number, inner: number, outSize: number): Float64Array {
  const t = taps(inSize, outSize);
  const out = new Float64Array(outer * outSize * inner);
  for (let a = 0; a < outer; a++) {
    for (let o = 0; o < outSize; o++) {
      const w = t.weights[o];
      for (let b = 0; b < inner; b++) {
        let acc = 0;
        for (let k = 0; k < t.count[o]; k++) acc += w[k] * src[(a * inSize + t.start[o] + k) * inner + b];
        out[(a * outSize + o) * inner + b] = Math.min(Math.max(acc, 0), 1);
      }
    }
  }
  return out;
}

/** The image resized to [height, width] with PIL's bicubic filter (horizontal pass, then vertical). */
export function resize(image: Tensor, height: number, width: number): Tensor {
  const size = imageSize('resize', image);
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
    throw new Error(`resize: output size must be positive integers, got [${height}, ${width}] for an image of shape [${image.shape}]`);
  }
  const { channels: C, height: H, width: W } = size;
  let pixels = pixelsOf(image);
  if (W !== width) pixels = resampleAxis(pixels, C * H, W, 1, width);
  if (H !== height) pixels = resampleAxis(pixels, C, H, width, height);
  return imageFrom(pixels, { channels: C, height, width }, image.dtype);
}

/** The (height, width) torchvision's Resize(size) gives: the shorter side becomes `size`, the longer keeps the aspect ratio (truncated). */
export function shorterSideSize(height: number, width: number, size: number): [number, number] {
  if (height <= width) return [size, Math.trunc((size * width) / height)];
  return [Math.trunc((size * height) / width), size];
}

/** Resize(size): scales the image so that its shorter side is `size` (DINO's k-NN evaluation uses 256). */
export class Resize implements Transform {
  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`Resize: size must be a positive integer, got ${size}`);
  }

  forward(image: Tensor, _generator?: Generator): Tensor {
    const { height, width } = imageSize('Resize', image);
    const [h, w] = shorterSideSize(height, width, this.size);
    return h === height && w === width ? image : resize(image, h, w);
  }
}
