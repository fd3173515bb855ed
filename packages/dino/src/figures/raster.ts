// A small RGB raster for the figures the demo and the experiments write as PNG: filled
// rectangles, lines (Bresenham, with a width), and text in a 5x7 bitmap font scaled by an
// integer factor. Colours are [r, g, b] in [0, 1]; the pixels are a [3, H, W] plane layout,
// the layout encodePng takes.

import { tensor, type Tensor } from '@dinots/tensor';
import { GLYPH_HEIGHT, GLYPH_WIDTH, glyph } from './bitmap-font.js';

export type Rgb = readonly [number, number, number];

export class Raster {
  readonly pixels: Float64Array;

  constructor(readonly width: number, readonly height: number, background: Rgb = [1, 1, 1]) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      throw new Error(`Raster: width and height must be positive integers, got ${width}x${height}`);
    }
    this.pixels = new Float64Array(3 * width * height);
    this.fillRect(0, 0, width, height, background);
  }

  /** Sets one pixel; coordinates outside the raster are ignored (shapes are clipped). */
  set(x: number, y: number, color: Rgb): void {
    const px = Math.round(x);
    const py = Math.round(y);
    if (px < 0 || py < 0 || px >= this.width || py >= this.height) return;
    const plane = this.width * this.height;
    const i = py * this.width + px;
    this.pixels[i] = color[0];
    this.pixels[plane + i] = color[1];
    this.pixels[2 * plane + i] = color[2];
  }

  fillRect(x: number, y: number, w: number, h: number, color: Rgb): void {
    for (let yy = Math.max(0, Math.round(y)); yy < Math.min(this.height, Math.round(y + h)); yy++) {
      for (let xx = Math.max(0, Math.round(x)); xx < Math.min(this.width, Math.round(x + w)); xx++) this.set(xx, yy, color);
    }
  }

  /** A line from (x0, y0) to (x1, y1), `width` pixels thick, dashed when `dash` > 0 (pixels on, pixels off). */
  line(x0: number, y0: number, x1: number, y1: number, color: Rgb, width = 1, dash = 0): void {
    const steps = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    const half = (width - 1) / 2;
    for (let s = 0; s <= steps; s++) {
      if (dash > 0 && Math.floor(s / dash) % 2 === 1) continue;
      const x = x0 + ((x1 - x0) * s) / steps;
      const y = y0 + ((y1 - y0) * s) / steps;
      this.fillRect(x - half, y - half, width, width, color);
    }
  }

  /** Draws `text` with its top-left corner at (x, y); returns the width it took. */
  text(x: number, y: number, text: string, color: Rgb, scale = 1): number {
    let cx = x;
    for (const ch of text) {
      const rows = glyph(ch);
      for (let r = 0; r < GLYPH_HEIGHT; r++) {
        for (let c = 0; c < GLYPH_WIDTH; c++) {
          if ((rows[r] >> (GLYPH_WIDTH - 1 - c)) & 1) this.fillRect(cx + c * scale, y + r * scale, scale, scale, color);
        }
      }
      cx += (GLYPH_WIDTH + 1) * scale;
    }
    return cx - x;
  }

  /** The width `text` takes at `scale`. */
  static textWidth(text: string, scale = 1): number {
    return [...text].length * (GLYPH_WIDTH + 1) * scale;
  }

  /** Copies an RGB image [3, h, w] in [0, 1] (or gray [1, h, w]) with its top-left corner at (x, y). */
  drawImage(x: number, y: number, image: Tensor): void {
    const [c, h, w] = image.shape;
    const data = image.contiguous().dataSync();
    const plane = h * w;
    for (let yy = 0; yy < h; yy++) {
      for (let xx = 0; xx < w; xx++) {
        const i = yy * w + xx;
        this.set(x + xx, y + yy, c === 1 ? [data[i], data[i], data[i]] : [data[i], data[plane + i], data[2 * plane + i]]);
      }
    }
  }

  /** The raster as an image tensor [3, H, W] (float64, in [0, 1]) for encodePng. */
  toImage(): Tensor {
    return tensor(this.pixels, { shape: [3, this.height, this.width], dtype: 'float64' });
  }
}
