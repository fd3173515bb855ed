// 28x28 grayscale digits held as bytes (one byte per pixel, one label per image): the
// dataset behind MNIST (mnist.ts reads the `mnist` package's files under Node) and behind
// the same digits fetched by a page (web/), where there is no file system.

import { tensor } from '@dinots/tensor';
import { checkIndex, type Dataset, type LabeledImage } from './dataset.js';

export const MNIST_SIZE = 28;
/** Mean and std of MNIST pixels in [0, 1] (the usual torchvision values). */
export const MNIST_MEAN = [0.1307] as const;
export const MNIST_STD = [0.3081] as const;

/** Digits as [1, 28, 28] float32 images in [0, 1] (byte / 255) with their labels. */
export class DigitImages implements Dataset<LabeledImage> {
  /** `pixels`: image after image, row-major, 28 * 28 bytes each; `labels`: one per image. */
  constructor(
    readonly pixels: Uint8Array,
    readonly labels: Uint8Array,
  ) {
    const area = MNIST_SIZE * MNIST_SIZE;
    if (pixels.length !== labels.length * area) {
      throw new Error(`DigitImages: ${pixels.length} pixel bytes do not hold ${labels.length} images of ${MNIST_SIZE}x${MNIST_SIZE}`);
    }
  }

  get length(): number {
    return this.labels.length;
  }

  get(index: number): LabeledImage {
    checkIndex(this.constructor.name, index, this.length); // MNIST or DigitImages
    const area = MNIST_SIZE * MNIST_SIZE;
    const pixels = new Float32Array(area);
    for (let i = 0; i < area; i++) pixels[i] = this.pixels[index * area + i] / 255;
    return { image: tensor(pixels, { shape: [1, MNIST_SIZE, MNIST_SIZE] }), label: this.labels[index] };
  }
}
