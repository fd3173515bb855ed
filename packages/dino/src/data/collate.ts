// Collation: a list of samples -> one batch (torch's default_collate for our sample types).
// Images are stacked along a new batch dim; multi-crop samples become one [B, C, h, w]
// tensor per view, in view order, which is the crop-major layout the DINO loss expects.

import { type Tensor, stack } from '@dinots/tensor';
import type { LabeledImage } from './dataset.js';

export interface ImageBatch {
  images: Tensor;
  labels: Int32Array;
}

export interface MultiCropSample {
  crops: Tensor[];
  label: number;
}

export interface MultiCropBatch {
  /** One [B, C, h, w] tensor per view: [global1, global2, local1, ...]. */
  crops: Tensor[];
  labels: Int32Array;
}

function requireSamples(op: string, n: number): void {
  if (n === 0) throw new Error(`${op}: cannot collate an empty list of samples`);
}

export function collateImages(samples: readonly LabeledImage[]): ImageBatch {
  requireSamples('collateImages', samples.length);
  return { images: stack(samples.map((s) => s.image)), labels: Int32Array.from(samples, (s) => s.label) };
}

export function collateMultiCrop(samples: readonly MultiCropSample[]): MultiCropBatch {
  requireSamples('collateMultiCrop', samples.length);
  const views = samples[0].crops.length;
  for (const [i, s] of samples.entries()) {
    if (s.crops.length !== views) throw new Error(`collateMultiCrop: sample ${i} has ${s.crops.length} views, sample 0 has ${views}`);
  }
  const crops = Array.from({ length: views }, (_, v) => stack(samples.map((s) => s.crops[v])));
  return { crops, labels: Int32Array.from(samples, (s) => s.label) };
}
