// One PNG comparing the last layer's [CLS] attention of several backbones on the same images,
// laid out like the DINO paper's Figure 1 (each head's attention over the image) with the
// masks of section 4.2.1 beside it. One row per image; the columns are
//   image | ground-truth mask (red, when masks are given) |
//   for each backbone: one heat-map per head (attentionHeatmap: viridis, min-max scaled per
//   head, blended over the image) | the `threshold`-mass mask of one head (its patches
//   tinted blue; the ground truth in red on top).
// Panels are upsampled by repeating pixels (nearest), so each patch stays a visible square.
// A header names the backbones and the columns (figures/raster.ts, its 5x7 font).

import { writeFileSync } from 'node:fs';
import type { Tensor } from '@dinots/tensor';
import type { VisionTransformer } from '@dinots/nn';
import { imageSize } from './augment/image.js';
import { attentionHeatmap } from './attention-heatmap.js';
import { lastClsAttention } from './attention-jaccard.js';
import { attentionMassMask } from './attention-maps.js';
import { GLYPH_HEIGHT } from './figures/bitmap-font.js';
import { Raster } from './figures/raster.js';
import { encodePng } from './data/image-codec.js';

export interface FigureModel {
  name: string;
  backbone: VisionTransformer;
  /** The head whose mass mask is shown (e.g. the best head by Jaccard; default 0). */
  highlightHead?: number;
}

export interface AttentionFigureOptions {
  normalization: { mean: readonly number[]; std: readonly number[] };
  /** Ground-truth masks [H * W] per image, drawn in red. */
  masks?: readonly ArrayLike<number>[];
  /** Attention mass the mask keeps (the paper's 0.6). */
  threshold?: number;
  /** Pixels per image pixel (default: the smallest making panels at least 120 px wide). */
  scale?: number;
  alpha?: number;
}

const GAP = 6;
const FONT_SCALE = 2;
const LINE = (GLYPH_HEIGHT + 2) * FONT_SCALE;
const RED: readonly [number, number, number] = [0.9, 0.1, 0.1];
const BLUE: readonly [number, number, number] = [0.15, 0.45, 1];

/** A [3, h, w] picture (values in [0, 1]) as planar RGB pixels, with its size. */
function rgbOf(picture: Tensor): { pixels: Float64Array; height: number; width: number } {
  const { channels, height, width } = imageSize('writeAttentionFigure', picture);
  const src = picture.contiguous().dataSync();
  const pixels = new Float64Array(3 * height * width);
  for (let c = 0; c < 3; c++) for (let i = 0; i < height * width; i++) pixels[c * height * width + i] = Math.min(Math.max(src[(channels === 1 ? 0 : c) * height * width + i], 0), 1);
  return { pixels, height, width };
}

/** Pixels where `mask` (row-major, maskWidth wide, one entry per `cell` x `cell` pixels) is 1, blended towards `colour`. */
function tintMask(rgb: { pixels: Float64Array; height: number; width: number }, mask: ArrayLike<number>, maskWidth: number, colour: readonly [number, number, number], weight: number, cell = 1): void {
  const { pixels, height, width } = rgb;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const mx = Math.floor(x / cell);
      const at = Math.floor(y / cell) * maskWidth + mx;
      // Pixels beyond the mask's grid (an image not a multiple of the patch size) are left alone.
      if (mx >= maskWidth || at >= mask.length || mask[at] === 0) continue;
      for (let c = 0; c < 3; c++) pixels[(c * height + y) * width + x] = (1 - weight) * pixels[(c * height + y) * width + x] + weight * colour[c];
    }
  }
}

/** Writes the figure for `images` [N, C, H, W] in [0, 1] to `path` (PNG); returns its size. */
export function writeAttentionFigure(path: string, models: readonly FigureModel[], images: Tensor, options: AttentionFigureOptions): { width: number; height: number } {
  if (images.ndim !== 4) throw new Error(`writeAttentionFigure: expected images [N, C, H, W], got shape [${images.shape}]`);
  if (models.length === 0) throw new Error('writeAttentionFigure: no models');
  const [n, , H, W] = images.shape;
  const { masks, threshold = 0.6, alpha = 0.6 } = options;
  if (masks !== undefined && masks.length !== n) throw new Error(`writeAttentionFigure: ${masks.length} masks for ${n} images`);
  const scale = options.scale ?? Math.max(1, Math.ceil(120 / W));
  const panel = { height: H * scale, width: W * scale };

  // Columns: their header texts and, per image, their pictures.
  const groups: { title: string; columns: string[] }[] = [{ title: '', columns: masks === undefined ? ['image'] : ['image', 'digit mask'] }];
  const pictures: ReturnType<typeof rgbOf>[][] = [];
  const attentions = models.map((m) => lastClsAttention(m.backbone, images, options.normalization));
  for (let i = 0; i < n; i++) pictures.push([]);
  images.unbind(0).forEach((image, i) => {
    pictures[i].push(rgbOf(image));
    if (masks !== undefined) {
      const tinted = rgbOf(image);
      tintMask(tinted, masks[i], W, RED, 0.6);
      pictures[i].push(tinted);
    }
  });
  models.forEach((model, m) => {
    const heads = attentions[m][0].shape[0];
    const highlight = model.highlightHead ?? 0;
    if (!(Number.isInteger(highlight) && highlight >= 0 && highlight < heads)) throw new Error(`writeAttentionFigure: ${model.name} has no head ${highlight}`);
    groups.push({ title: model.name, columns: [...Array.from({ length: heads }, (_, h) => `head ${h}`), `${Math.round(threshold * 100)}% h${highlight}`] });
    images.unbind(0).forEach((image, i) => {
      const attention = attentions[m][i];
      for (let h = 0; h < heads; h++) pictures[i].push(rgbOf(attentionHeatmap(image, attention.select(0, h), model.backbone.patchSize, alpha)));
      const p = model.backbone.patchSize;
      const kept = rgbOf(image);
      tintMask(kept, attentionMassMask(attention.select(0, highlight), threshold).dataSync(), Math.floor(W / p), BLUE, 0.5, p);
      if (masks !== undefined) tintMask(kept, masks[i], W, RED, 0.6);
      pictures[i].push(kept);
    });
  });

  // Layout: a gap between columns, a wider one between groups, two header lines.
  const columnX: number[] = [];
  const groupX: { title: string; x: number; right: number }[] = [];
  let x = GAP;
  for (const group of groups) {
    const start = x;
    for (let c = 0; c < group.columns.length; c++) {
      columnX.push(x);
      x += panel.width + GAP;
    }
    groupX.push({ title: group.title, x: start, right: x - GAP });
    x += 2 * GAP;
  }
  const width = x - 2 * GAP;
  const top = GAP + 2 * LINE + GAP;
  const height = top + n * (panel.height + GAP);
  const raster = new Raster(width, height);
  const rgb = raster.pixels;
  for (const g of groupX) {
    raster.text(g.x + Math.max(0, Math.floor((g.right - g.x - Raster.textWidth(g.title, FONT_SCALE)) / 2)), GAP, g.title, [0, 0, 0], FONT_SCALE);
  }
  groups.flatMap((g) => g.columns).forEach((label, c) => raster.text(columnX[c], GAP + LINE, label, [0.2, 0.2, 0.2], FONT_SCALE));
  pictures.forEach((row, i) => {
    const y0 = top + i * (panel.height + GAP);
    row.forEach((picture, c) => {
      for (let y = 0; y < panel.height; y++) {
        for (let px = 0; px < panel.width; px++) {
          const sy = Math.floor(y / scale);
          const sx = Math.floor(px / scale);
          // Pictures cover the patch grid; pixels beyond it (an image not a multiple of p) stay white.
          if (sy >= picture.height || sx >= picture.width) continue;
          for (let ch = 0; ch < 3; ch++) {
            rgb[(ch * height + y0 + y) * width + columnX[c] + px] = picture.pixels[(ch * picture.height + sy) * picture.width + sx];
          }
        }
      }
    });
  });
  writeFileSync(path, encodePng(raster.toImage()));
  return { width, height };
}
