// Segmentation quality of [CLS] attention (DINO paper section 4.2.1, Table 7; the masks of the
// official visualize_attention.py): per head, the last layer's CLS -> patch attention is
// thresholded to the top patches holding `threshold` (0.6) of its mass (attentionMassMask),
// the patch mask is upsampled to pixels (nearest: each patch becomes p x p pixels), and its
// Jaccard similarity (intersection over union) with the ground-truth object mask is taken.
// Over a set of images this reports the mean Jaccard of every head, the best head's and the
// mean over heads.
//
// A patch mask cannot follow an object's outline inside a patch, so even a perfect
// attention map stays below 1: bestPatchJaccard gives that ceiling for each image.

import { noGrad, stack, type Tensor } from '@dinots/tensor';
import type { VisionTransformer } from '@dinots/nn';
import { normalize } from './augment/normalize.js';
import { attentionMassMask, clsAttention } from './attention-maps.js';

/** |a & b| / |a | b| of two 0/1 masks of the same length; 1 when both are empty. */
export function jaccard(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`jaccard: masks of lengths ${a.length} and ${b.length} differ`);
  let intersection = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] !== 0;
    const y = b[i] !== 0;
    if (x && y) intersection++;
    if (x || y) union++;
  }
  return union === 0 ? 1 : intersection / union;
}

/**
 * A patch mask [rows * cols] as a pixel mask [height * width] (nearest: patch (r, c) covers
 * pixels [r p, (r+1) p) x [c p, (c+1) p)); pixels right of or below the patch grid (the part
 * of the image the ViT ignores) are 0.
 */
export function patchMaskToPixels(mask: ArrayLike<number>, rows: number, cols: number, patchSize: number, height = rows * patchSize, width = cols * patchSize): Uint8Array {
  if (mask.length !== rows * cols) throw new Error(`patchMaskToPixels: ${mask.length} values do not fit a ${rows}x${cols} patch grid`);
  if (rows * patchSize > height || cols * patchSize > width) {
    throw new Error(`patchMaskToPixels: a ${rows}x${cols} grid of ${patchSize} px patches does not fit ${height}x${width} pixels`);
  }
  const out = new Uint8Array(height * width);
  for (let y = 0; y < rows * patchSize; y++) {
    for (let x = 0; x < cols * patchSize; x++) out[y * width + x] = mask[Math.floor(y / patchSize) * cols + Math.floor(x / patchSize)] !== 0 ? 1 : 0;
  }
  return out;
}

/**
 * The highest Jaccard any set of whole patches reaches against `target` [height * width].
 * With equal patches, the best set of k patches is the k holding the most target pixels
 * (that maximises the intersection and minimises the union at once), so the best over k of
 * those prefixes is the optimum.
 */
export function bestPatchJaccard(target: ArrayLike<number>, height: number, width: number, patchSize: number): number {
  const rows = Math.floor(height / patchSize);
  const cols = Math.floor(width / patchSize);
  let total = 0;
  for (let i = 0; i < target.length; i++) if (target[i] !== 0) total++;
  if (total === 0) return 1;
  const counts: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      let n = 0;
      for (let y = r * patchSize; y < (r + 1) * patchSize; y++) for (let x = c * patchSize; x < (c + 1) * patchSize; x++) if (target[y * width + x] !== 0) n++;
      counts.push(n);
    }
  }
  counts.sort((a, b) => b - a);
  let best = 0;
  let intersection = 0;
  for (let k = 1; k <= counts.length; k++) {
    intersection += counts[k - 1];
    best = Math.max(best, intersection / (total + k * patchSize * patchSize - intersection));
  }
  return best;
}

export interface AttentionJaccard {
  /** Mean Jaccard over the images, per head. */
  perHead: number[];
  /** The head with the highest mean, and its mean. */
  bestHead: number;
  best: number;
  /** The mean of perHead. */
  mean: number;
  /** Per image, per head: [image][head]. */
  perImage: number[][];
}

/** Summary of per-image, per-head Jaccard values [image][head]. */
export function summarizeJaccard(perImage: number[][]): AttentionJaccard {
  if (perImage.length === 0) throw new Error('summarizeJaccard: no images');
  const heads = perImage[0].length;
  const perHead = Array.from({ length: heads }, (_, h) => perImage.reduce((s, row) => s + row[h], 0) / perImage.length);
  let bestHead = 0;
  for (let h = 1; h < heads; h++) if (perHead[h] > perHead[bestHead]) bestHead = h;
  return { perHead, bestHead, best: perHead[bestHead], mean: perHead.reduce((a, b) => a + b, 0) / heads, perImage };
}

/** The last layer's CLS -> patch attention [heads, patches] of each image [C, H, W] in [0, 1] of `images` [N, C, H, W], in eval mode, in chunks. */
export function lastClsAttention(backbone: VisionTransformer, images: Tensor, normalization: { mean: readonly number[]; std: readonly number[] }, chunk = 128): Tensor[] {
  const wasTraining = backbone.training;
  backbone.eval();
  const dtype = backbone.clsToken.dtype;
  try {
    return noGrad(() => {
      const out: Tensor[] = [];
      for (let start = 0; start < images.shape[0]; start += chunk) {
        const x = images.narrow(0, start, Math.min(chunk, images.shape[0] - start));
        const input = stack(x.unbind(0).map((img) => normalize(img, normalization.mean, normalization.std))).to(dtype);
        out.push(...clsAttention(backbone.getLastSelfAttention(input)).unbind(0));
      }
      return out;
    });
  } finally {
    backbone.train(wasTraining);
  }
}

/**
 * The Jaccard of each head's `threshold`-mass mask, upsampled to pixels, with `target`
 * [height * width], for one image's CLS attention [heads, rows * cols].
 */
export function headJaccards(attention: Tensor, target: ArrayLike<number>, patchSize: number, height: number, width: number, threshold = 0.6): number[] {
  const rows = Math.floor(height / patchSize);
  const cols = Math.floor(width / patchSize);
  if (attention.ndim !== 2 || attention.shape[1] !== rows * cols) {
    throw new Error(`headJaccards: expected CLS attention [heads, ${rows * cols}] for a ${height}x${width} image with patch size ${patchSize}, got shape [${attention.shape}]`);
  }
  const kept = attentionMassMask(attention, threshold).dataSync();
  const n = rows * cols;
  return Array.from({ length: attention.shape[0] }, (_, h) => jaccard(patchMaskToPixels(kept.subarray(h * n, (h + 1) * n), rows, cols, patchSize, height, width), target));
}

/**
 * Per image and head, the Jaccard of the `threshold`-mass attention mask (upsampled to
 * pixels) with that image's ground-truth mask [H * W]; summarised over the images.
 */
export function attentionJaccard(
  backbone: VisionTransformer,
  images: Tensor,
  masks: readonly ArrayLike<number>[],
  normalization: { mean: readonly number[]; std: readonly number[] },
  threshold = 0.6,
): AttentionJaccard {
  const [n, , height, width] = images.shape;
  if (images.ndim !== 4 || masks.length !== n) throw new Error(`attentionJaccard: expected images [N, C, H, W] and N masks, got [${images.shape}] and ${masks.length} masks`);
  const perImage = lastClsAttention(backbone, images, normalization).map((attention, i) => headJaccards(attention, masks[i], backbone.patchSize, height, width, threshold));
  return summarizeJaccard(perImage);
}
