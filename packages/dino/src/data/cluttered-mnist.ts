// Cluttered digits, after the cluttered MNIST of the Spatial Transformer Networks paper
// (Jaderberg et al. 2015, section 4.1): one MNIST digit, scaled and placed at a random
// position on a larger black canvas, over a fixed number of random fragments cropped from
// other digits. Generated in code from the embedded MNIST digits (nothing is downloaded).
//
// Image i is drawn from its own seeded Generator (seed, i), so any index can be read in any
// order and always gives the same pixels:
//   1. the digit: source image i mod |source|, resized (PIL bicubic) to s x s pixels,
//      s uniform in digitSize, placed uniformly so that it lies inside the canvas;
//   2. the clutter: exactly `fragments` crops of f x f pixels (f uniform in fragmentSize),
//      each from a different random source digit (never the digit of step 1), taken from the
//      central 20 x 20 region of its 28 x 28 image (where MNIST puts the ink) and redrawn until
//      it holds at least f ink pixels (> maskThreshold), placed uniformly anywhere on the canvas;
//   3. the canvas is the pixel-wise max of the digit layer and the clutter layer.
// The ground-truth mask is the digit layer's pixels above maskThreshold, whatever the clutter
// drew there: it is the object a segmentation should find (DINO paper section 4.2.1 scores
// attention masks against object masks). Every image gets the same clutter recipe, so the
// clutter carries no information about the label or the digit's place.

import { Generator, type Tensor, tensor } from '@dinots/tensor';
import { resize } from '../augment/resize.js';
import { checkIndex, type Dataset, type LabeledImage } from './dataset.js';

export interface ClutteredDigitsOptions {
  /** Side of the square canvas in pixels (default 48). */
  canvasSize?: number;
  /** Inclusive range of the side the 28 x 28 digit image is resized to (default [24, 36]). */
  digitSize?: readonly [number, number];
  /** Clutter fragments per image (default 6). */
  fragments?: number;
  /** Inclusive range of the fragments' side (default [6, 9]). */
  fragmentSize?: readonly [number, number];
  /** A pixel is ink (and, in the digit layer, in the mask) above this value (default 0.5). */
  maskThreshold?: number;
  /** Number of images (default: the source's length, each source digit once). */
  length?: number;
  seed?: number;
}

/** One image with its parts: the two layers the canvas is the max of, the mask and the digit's box. */
export interface ClutteredSample extends LabeledImage {
  /** The digit layer [H * W], row-major. */
  digit: Float32Array;
  /** The clutter layer [H * W]. */
  clutter: Float32Array;
  /** 1 where the digit layer is above maskThreshold [H * W]. */
  mask: Uint8Array;
  /** The digit's placed square: top, left, side. */
  box: { top: number; left: number; size: number };
  /** The source indices of the clutter fragments. */
  fragmentSources: number[];
}

const SOURCE_SIZE = 28;
/** MNIST centres each digit in a 20 x 20 box inside the 28 x 28 image. */
const INK_BOX = { start: 4, size: 20 };
const MAX_FRAGMENT_TRIES = 1000;

export class ClutteredDigits implements Dataset<LabeledImage> {
  readonly canvasSize: number;
  readonly digitSize: readonly [number, number];
  readonly fragments: number;
  readonly fragmentSize: readonly [number, number];
  readonly maskThreshold: number;
  readonly seed: number;
  readonly length: number;

  constructor(readonly source: Dataset<LabeledImage>, options: ClutteredDigitsOptions = {}) {
    const { canvasSize = 48, digitSize = [24, 36], fragments = 6, fragmentSize = [6, 9], maskThreshold = 0.5, seed = 0 } = options;
    if (source.length < 2) throw new Error(`ClutteredDigits: the source needs at least 2 digits, got ${source.length}`);
    if (!(digitSize[0] >= 1 && digitSize[0] <= digitSize[1] && digitSize[1] <= canvasSize)) {
      throw new Error(`ClutteredDigits: digitSize [${digitSize}] must be a range inside [1, canvasSize ${canvasSize}]`);
    }
    if (!(fragmentSize[0] >= 1 && fragmentSize[0] <= fragmentSize[1] && fragmentSize[1] <= Math.min(INK_BOX.size, canvasSize))) {
      throw new Error(`ClutteredDigits: fragmentSize [${fragmentSize}] must be a range inside [1, ${Math.min(INK_BOX.size, canvasSize)}]`);
    }
    if (!Number.isInteger(fragments) || fragments < 0) throw new Error(`ClutteredDigits: fragments must be a non-negative integer, got ${fragments}`);
    this.canvasSize = canvasSize;
    this.digitSize = digitSize;
    this.fragments = fragments;
    this.fragmentSize = fragmentSize;
    this.maskThreshold = maskThreshold;
    this.seed = seed;
    this.length = options.length ?? source.length;
  }

  get(index: number): LabeledImage {
    const { image, label } = this.sample(index);
    return { image, label };
  }

  /** The ground-truth mask of image `index` [H * W] (1 = the digit's ink). */
  mask(index: number): Uint8Array {
    return this.sample(index).mask;
  }

  /** Image `index` with its layers, mask and box. */
  sample(index: number): ClutteredSample {
    checkIndex('ClutteredDigits', index, this.length);
    const S = this.canvasSize;
    // One generator per image: seed and index mixed into one safe integer.
    const generator = new Generator(this.seed * 2 ** 24 + index);
    const sourceIndex = index % this.source.length;
    const { image: source, label } = this.source.get(sourceIndex);
    if (source.shape.join() !== `1,${SOURCE_SIZE},${SOURCE_SIZE}`) {
      throw new Error(`ClutteredDigits: expected [1, ${SOURCE_SIZE}, ${SOURCE_SIZE}] source digits, got shape [${source.shape}]`);
    }

    // 1. the digit
    const size = generator.randint(this.digitSize[0], this.digitSize[1] + 1);
    const top = generator.randint(0, S - size + 1);
    const left = generator.randint(0, S - size + 1);
    const scaled = resize(source, size, size).dataSync();
    const digit = new Float32Array(S * S);
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) digit[(top + y) * S + left + x] = scaled[y * size + x];

    // 2. the clutter
    const clutter = new Float32Array(S * S);
    const fragmentSources: number[] = [];
    for (let f = 0; f < this.fragments; f++) {
      const side = generator.randint(this.fragmentSize[0], this.fragmentSize[1] + 1);
      const { pixels, sourceIndex: from } = this.fragment(generator, sourceIndex, side);
      fragmentSources.push(from);
      const y0 = generator.randint(0, S - side + 1);
      const x0 = generator.randint(0, S - side + 1);
      for (let y = 0; y < side; y++) {
        for (let x = 0; x < side; x++) {
          const i = (y0 + y) * S + x0 + x;
          clutter[i] = Math.max(clutter[i], pixels[y * side + x]);
        }
      }
    }

    // 3. the canvas and the mask
    const canvas = new Float32Array(S * S);
    const mask = new Uint8Array(S * S);
    for (let i = 0; i < S * S; i++) {
      canvas[i] = Math.max(digit[i], clutter[i]);
      mask[i] = digit[i] > this.maskThreshold ? 1 : 0;
    }
    return {
      image: tensor(canvas, { shape: [1, S, S] }), label, digit, clutter, mask, box: { top, left, size }, fragmentSources,
    };
  }

  /** A side x side crop with at least `side` ink pixels from a random source digit other than `exclude`. */
  private fragment(generator: Generator, exclude: number, side: number): { pixels: Float32Array; sourceIndex: number } {
    for (let attempt = 0; attempt < MAX_FRAGMENT_TRIES; attempt++) {
      let from = generator.randint(0, this.source.length - 1);
      if (from >= exclude) from++; // uniform over the other digits
      const y0 = INK_BOX.start + generator.randint(0, INK_BOX.size - side + 1);
      const x0 = INK_BOX.start + generator.randint(0, INK_BOX.size - side + 1);
      const src = this.source.get(from).image.dataSync();
      const pixels = new Float32Array(side * side);
      let ink = 0;
      for (let y = 0; y < side; y++) {
        for (let x = 0; x < side; x++) {
          const v = src[(y0 + y) * SOURCE_SIZE + x0 + x];
          pixels[y * side + x] = v;
          if (v > this.maskThreshold) ink++;
        }
      }
      if (ink >= side) return { pixels, sourceIndex: from };
    }
    throw new Error(`ClutteredDigits: found no ${side}x${side} fragment with ${side} ink pixels in ${MAX_FRAGMENT_TRIES} tries`);
  }
}
