// Attention pictures as PNG files (Node): the input image, each head's heat-map and, with a
// threshold, each head's mass mask, as the official visualize_attention.py writes them.
// The pictures themselves are attention-heatmap.ts.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Tensor, tensor } from '@dinots/tensor';
import { attentionHeatmap, croppedRgb, maskOverlay, patchGrid } from './attention-heatmap.js';
import { attentionMassMask } from './attention-maps.js';
import { encodePng } from './data/image-codec.js';

export interface AttentionPngOptions {
  /** Also write the mass-threshold masks (the paper uses 0.6). */
  threshold?: number;
  alpha?: number;
}

/**
 * Writes img.png, attn-head<h>.png per head, and with a threshold mask-th<t>-head<h>.png,
 * for one image [C, H, W] in [0, 1] and its CLS attention [heads, N]. Returns the paths.
 */
export function writeAttentionPngs(dir: string, image: Tensor, clsAttention: Tensor, patchSize: number, options: AttentionPngOptions = {}): string[] {
  if (clsAttention.ndim !== 2) throw new Error(`writeAttentionPngs: expected CLS attention [heads, N], got shape [${clsAttention.shape}]`);
  const [heads, n] = clsAttention.shape;
  const [rows, cols] = patchGrid('writeAttentionPngs', image, n, patchSize);
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  const write = (name: string, picture: Tensor) => {
    const path = join(dir, name);
    writeFileSync(path, encodePng(picture));
    written.push(path);
  };
  write('img.png', tensor(croppedRgb(image, rows, cols, patchSize), { shape: [3, rows * patchSize, cols * patchSize], dtype: 'float64' }));
  const masks = options.threshold === undefined ? null : attentionMassMask(clsAttention, options.threshold);
  for (let h = 0; h < heads; h++) {
    write(`attn-head${h}.png`, attentionHeatmap(image, clsAttention.select(0, h), patchSize, options.alpha));
    if (masks !== null) write(`mask-th${options.threshold}-head${h}.png`, maskOverlay(image, masks.select(0, h), patchSize));
  }
  return written;
}
