// Images in @dinots/dino are [C, H, W] float tensors with values in [0, 1] (torchvision's
// ToTensor layout), C = 1 (grayscale, e.g. MNIST) or 3 (RGB). Augmentations work on the
// pixels as plain arrays: they are data preparation, not part of any autograd graph.

import { type Generator, type Tensor, tensor } from '@dinots/tensor';

/** A random image transform (torchvision's `transforms.*` objects). */
export interface Transform {
  forward(image: Tensor, generator: Generator): Tensor;
}

export interface ImageSize {
  channels: number;
  height: number;
  width: number;
}

/** The [C, H, W] size of an image tensor; throws, naming `op`, for anything else. */
export function imageSize(op: string, image: Tensor): ImageSize {
  const [channels, height, width] = image.shape;
  if (image.ndim !== 3 || (channels !== 1 && channels !== 3) || height < 1 || width < 1) {
    throw new Error(`${op}: expected a [C, H, W] image with C = 1 or 3, got shape [${image.shape}]`);
  }
  if (image.dtype !== 'float32' && image.dtype !== 'float64') throw new Error(`${op}: expected a float32 or float64 image, got ${image.dtype}`);
  return { channels, height, width };
}

/** The pixels in [C, H, W] row-major order, as float64 (a copy). */
export function pixelsOf(image: Tensor): Float64Array {
  return new Float64Array(image.contiguous().dataSync());
}

/** An image tensor of `dtype` from row-major [C, H, W] pixels. */
export function imageFrom(pixels: Float64Array, size: ImageSize, dtype: Tensor['dtype']): Tensor {
  return tensor(pixels, { shape: [size.channels, size.height, size.width], dtype });
}

/** Luma (ITU-R 601-2, PIL's convert("L")): 0.299 R + 0.587 G + 0.114 B, per pixel; a grayscale image is its own luma. */
export function luma(pixels: Float64Array, size: ImageSize): Float64Array {
  const n = size.height * size.width;
  if (size.channels === 1) return pixels.slice(0, n);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = 0.299 * pixels[i] + 0.587 * pixels[n + i] + 0.114 * pixels[2 * n + i];
  return out;
}

/** A uniform draw in [low, high) (torch's `empty(1).uniform_(low, high)`). */
export function uniform(generator: Generator, low: number, high: number): number {
  return low + (high - low) * generator.random();
}
