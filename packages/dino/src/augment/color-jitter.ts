// ColorJitter (torchvision): random brightness, contrast, saturation and hue, applied in a
// random order. Each adjustment is a blend out = clamp(f * img + (1 - f) * degenerate, 0, 1):
//   brightness: degenerate = black                    (f ~ U[1 - b, 1 + b])
//   contrast:   degenerate = mean luma of the image   (f ~ U[1 - c, 1 + c])
//   saturation: degenerate = the luma image           (f ~ U[1 - s, 1 + s])
// hue rotates the hue circle: RGB -> HSV, h <- (h + f) mod 1, HSV -> RGB (f ~ U[-h, h]).
// Saturation and hue leave 1-channel images unchanged, as torchvision does. These are
// torchvision's float formulas; on PIL images (the official pipeline) the results differ
// only by 8-bit rounding (PIL also rounds the contrast mean to a whole level).
// Draw order as torchvision: a permutation of the 4 ops, then the 4 factors.

import { type Generator, type Tensor, randperm } from '@dinots/tensor';
import { imageFrom, type ImageSize, imageSize, luma, pixelsOf, type Transform, uniform } from './image.js';

/** clamp(f * pixels + (1 - f) * degenerate, 0, 1); `degenerate` is a constant or a [H, W] plane shared by the channels. */
function blend(pixels: Float64Array, degenerate: number | Float64Array, factor: number): Float64Array {
  const out = new Float64Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) {
    const d = typeof degenerate === 'number' ? degenerate : degenerate[i % degenerate.length];
    out[i] = Math.min(Math.max(factor * pixels[i] + (1 - factor) * d, 0), 1);
  }
  return out;
}

function adjust(op: string, image: Tensor, factor: number, f: (pixels: Float64Array, size: ImageSize) => Float64Array): Tensor {
  const size = imageSize(op, image);
  if (!(factor >= 0)) throw new Error(`${op}: factor must be non-negative, got ${factor}`);
  return imageFrom(f(pixelsOf(image), size), size, image.dtype);
}

export function adjustBrightness(image: Tensor, factor: number): Tensor {
  return adjust('adjustBrightness', image, factor, (p) => blend(p, 0, factor));
}

export function adjustContrast(image: Tensor, factor: number): Tensor {
  return adjust('adjustContrast', image, factor, (p, size) => {
    const gray = luma(p, size);
    const mean = gray.reduce((a, b) => a + b, 0) / gray.length;
    return blend(p, mean, factor);
  });
}

export function adjustSaturation(image: Tensor, factor: number): Tensor {
  return adjust('adjustSaturation', image, factor, (p, size) => {
    if (size.channels === 1) return p;
    return blend(p, luma(p, size), factor);
  });
}

/** Rotates every pixel's hue by `hueFactor` turns, hueFactor in [-0.5, 0.5] (torchvision's float formulas). */
export function adjustHue(image: Tensor, hueFactor: number): Tensor {
  const size = imageSize('adjustHue', image);
  if (!(hueFactor >= -0.5 && hueFactor <= 0.5)) throw new Error(`adjustHue: hueFactor must be in [-0.5, 0.5], got ${hueFactor}`);
  const p = pixelsOf(image);
  if (size.channels === 1) return image;
  const n = size.height * size.width;
  const out = new Float64Array(3 * n);
  for (let i = 0; i < n; i++) {
    const [h, s, v] = rgbToHsv(p[i], p[n + i], p[2 * n + i]);
    const [r, g, b] = hsvToRgb((((h + hueFactor) % 1) + 1) % 1, s, v);
    out[i] = r;
    out[n + i] = g;
    out[2 * n + i] = b;
  }
  return imageFrom(out, size, image.dtype);
}

/** HSV in [0, 1]^3; hue 0 for gray pixels (torchvision's _rgb2hsv). */
export function rgbToHsv(r: number, g: number, b: number): [number, number, number] {
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const chroma = max - min;
  if (chroma === 0) return [0, 0, max];
  const s = chroma / max;
  const rc = (max - r) / chroma;
  const gc = (max - g) / chroma;
  const bc = (max - b) / chroma;
  const h = max === r ? bc - gc : max === g ? 2 + rc - bc : 4 + gc - rc;
  return [(h / 6 + 1) % 1, s, max];
}

/** The inverse of rgbToHsv (torchvision's _hsv2rgb). */
export function hsvToRgb(h: number, s: number, v: number): [number, number, number] {
  const sector = Math.floor(h * 6);
  const f = h * 6 - sector;
  const clamp01 = (x: number) => Math.min(Math.max(x, 0), 1);
  const p = clamp01(v * (1 - s));
  const q = clamp01(v * (1 - s * f));
  const t = clamp01(v * (1 - s * (1 - f)));
  switch (((sector % 6) + 6) % 6) {
    case 0: return [v, t, p];
    case 1: return [q, v, p];
    case 2: return [p, v, t];
    case 3: return [p, q, v];
    case 4: return [t, p, v];
    default: return [v, p, q];
  }
}

export interface ColorJitterOptions {
  brightness?: number;
  contrast?: number;
  saturation?: number;
  hue?: number;
}

export class ColorJitter implements Transform {
  readonly brightness: number;
  readonly contrast: number;
  readonly saturation: number;
  readonly hue: number;

  constructor(options: ColorJitterOptions = {}) {
    const { brightness = 0, contrast = 0, saturation = 0, hue = 0 } = options;
    for (const [name, value] of Object.entries({ brightness, contrast, saturation })) {
      if (!(value >= 0)) throw new Error(`ColorJitter: ${name} must be non-negative, got ${value}`);
    }
    if (!(hue >= 0 && hue <= 0.5)) throw new Error(`ColorJitter: hue must be in [0, 0.5], got ${hue}`);
    this.brightness = brightness;
    this.contrast = contrast;
    this.saturation = saturation;
    this.hue = hue;
  }

  forward(image: Tensor, generator: Generator): Tensor {
    const order = randperm(4, { generator }).dataSync();
    // torchvision draws a factor only for the enabled ops, in this fixed order; the
    // multiplicative factors' ranges are clipped at 0 (hue's center is 0 and it never is).
    const draw = (spread: number, center: number) => (spread > 0 ? uniform(generator, Math.max(center - spread, 0), center + spread) : null);
    const factors = [
      draw(this.brightness, 1),
      draw(this.contrast, 1),
      draw(this.saturation, 1),
      draw(this.hue, 0),
    ];
    const ops = [adjustBrightness, adjustContrast, adjustSaturation, adjustHue];
    let out = image;
    for (const i of order) {
      const factor = factors[i];
      if (factor !== null) out = ops[i](out, factor);
    }
    return out;
  }
}
