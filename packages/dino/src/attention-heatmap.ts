// Pictures of [CLS] attention (as visualize_attention.py draws them): each head's map over
// the (H/p) x (W/p) patch grid is scaled to [0, 1] by its min and max, upsampled to pixels
// by repeating each patch value p x p times (nearest), coloured with viridis and blended
// over the input image, out = alpha * colour + (1 - alpha) * image. Mask pictures keep the
// image where the mask is 1 and darken it elsewhere. The image is cropped to a multiple
// of p first, as the ViT ignores the remainder.

// Writing them as PNG files is attention-pngs.ts (Node); this file also runs in browsers.

import { type Tensor, tensor } from '@dinots/tensor';
import { imageSize } from './augment/image.js';
import { viridis } from './colormap.js';

/** The patch grid (rows, cols) of an image for patch size p, checked against N attention values. */
export function patchGrid(op: string, image: Tensor, n: number, patchSize: number): [number, number] {
  const { height, width } = imageSize(op, image);
  const rows = Math.floor(height / patchSize);
  const cols = Math.floor(width / patchSize);
  if (rows * cols !== n) {
    throw new Error(`${op}: ${n} attention values do not fit the ${rows}x${cols} patch grid of a ${height}x${width} image with patch size ${patchSize}`);
  }
  return [rows, cols];
}

/** RGB pixels [3, rows*p, cols*p] of the image's top-left patch-aligned region (gray -> RGB). */
export function croppedRgb(image: Tensor, rows: number, cols: number, p: number): Float64Array {
  const { channels, width } = imageSize('croppedRgb', image);
  const src = image.contiguous().dataSync();
  const H = rows * p;
  const W = cols * p;
  const plane = image.shape[1] * width;
  const out = new Float64Array(3 * H * W);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) out[(c * H + y) * W + x] = src[(channels === 1 ? 0 : c) * plane + y * width + x];
  }
  return out;
}

/** The attention of one head [N] blended over the image as a viridis heat-map, [3, rows*p, cols*p]. */
export function attentionHeatmap(image: Tensor, attention: Tensor, patchSize: number, alpha = 0.6): Tensor {
  const values = attention.contiguous().dataSync();
  const [rows, cols] = patchGrid('attentionHeatmap', image, values.length, patchSize);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const H = rows * patchSize;
  const W = cols * patchSize;
  const out = croppedRgb(image, rows, cols, patchSize);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const v = values[Math.floor(y / patchSize) * cols + Math.floor(x / patchSize)];
      const colour = viridis(hi > lo ? (v - lo) / (hi - lo) : 0);
      for (let c = 0; c < 3; c++) {
        const i = (c * H + y) * W + x;
        out[i] = alpha * colour[c] + (1 - alpha) * Math.min(Math.max(out[i], 0), 1);
      }
    }
  }
  return tensor(out, { shape: [3, H, W], dtype: 'float64' });
}

/** The image with the patches outside a 0/1 mask [N] darkened to `dim` of their brightness. */
export function maskOverlay(image: Tensor, mask: Tensor, patchSize: number, dim = 0.25): Tensor {
  const keep = mask.contiguous().dataSync();
  const [rows, cols] = patchGrid('maskOverlay', image, keep.length, patchSize);
  const H = rows * patchSize;
  const W = cols * patchSize;
  const out = croppedRgb(image, rows, cols, patchSize);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const i = (c * H + y) * W + x;
        const v = Math.min(Math.max(out[i], 0), 1);
        out[i] = keep[Math.floor(y / patchSize) * cols + Math.floor(x / patchSize)] ? v : dim * v;
      }
    }
  }
  return tensor(out, { shape: [3, H, W], dtype: 'float64' });
}
