// Evaluation of a trained backbone (the official eval_knn.py `knn_classifier`
// and visualize_attention.py): weighted k-NN on its CLS features
// against the two baselines a reader needs to judge them (a backbone at random
// initialisation, and the raw pixels), and attention-map PNGs.

import { join } from 'node:path';
import { type Tensor, cat, noGrad, stack } from '@dinots/tensor';
import type { VisionTransformer } from '@dinots/nn';
import { normalize } from './augment/normalize.js';
import { writeAttentionPngs } from './attention-pngs.js';
import { clsAttention } from './attention-maps.js';
import type { Dataset, LabeledImage } from './data/dataset.js';
import { type KnnOptions, type KnnResult, knnClassifier } from './knn.js';

export interface LabeledBatch {
  /** [N, C, H, W] in [0, 1] (not normalised). */
  images: Tensor;
  labels: Int32Array;
}

/** The images at `indices` stacked into one batch. */
export function loadImages(dataset: Dataset<LabeledImage>, indices: readonly number[]): LabeledBatch {
  const samples = indices.map((i) => dataset.get(i));
  return { images: stack(samples.map((s) => s.image)), labels: Int32Array.from(samples, (s) => s.label) };
}

/** CLS features [N, D] of normalised images, in chunks, without gradient, in eval mode. */
export function backboneFeatures(backbone: VisionTransformer, images: Tensor, mean: readonly number[], std: readonly number[], chunk = 256): Tensor {
  const wasTraining = backbone.training;
  backbone.eval();
  const { dtype, device } = backbone.clsToken;
  try {
    return noGrad(() => {
      const out: Tensor[] = [];
      for (let start = 0; start < images.shape[0]; start += chunk) {
        const x = images.narrow(0, start, Math.min(chunk, images.shape[0] - start));
        const normalised = stack(x.unbind(0).map((img) => normalize(img, mean, std))).to({ device, dtype });
        out.push(backbone.forward(normalised));
      }
      return cat(out, 0);
    });
  } finally {
    backbone.train(wasTraining);
  }
}

export interface KnnComparison {
  name: string;
  result: KnnResult;
}

/** Weighted k-NN (k 20, T 0.07 by default) of each backbone's features, and of the raw pixels. */
export function compareKnn(
  backbones: { name: string; backbone: VisionTransformer }[],
  train: LabeledBatch,
  test: LabeledBatch,
  normalization: { mean: readonly number[]; std: readonly number[] },
  options: KnnOptions = {},
): KnnComparison[] {
  const rows: KnnComparison[] = backbones.map(({ name, backbone }) => ({
    name,
    result: knnClassifier(
      backboneFeatures(backbone, train.images, normalization.mean, normalization.std),
      train.labels,
      backboneFeatures(backbone, test.images, normalization.mean, normalization.std),
      test.labels,
      options,
    ),
  }));
  const flat = (x: Tensor) => x.reshape(x.shape[0], -1).to('float64');
  rows.push({ name: 'raw pixels', result: knnClassifier(flat(train.images), train.labels, flat(test.images), test.labels, options) });
  return rows;
}

/**
 * Writes the last layer's CLS attention maps (one PNG per head, and the `threshold`-mass
 * masks) of each image into dir/img<i>/. Returns the folders.
 */
export function writeAttentionMaps(
  backbone: VisionTransformer,
  images: Tensor,
  dir: string,
  normalization: { mean: readonly number[]; std: readonly number[] },
  threshold = 0.6,
): string[] {
  const dtype = backbone.clsToken.dtype;
  const folders: string[] = [];
  noGrad(() => {
    images.unbind(0).forEach((img, i) => {
      const attention = backbone.getLastSelfAttention(normalize(img, normalization.mean, normalization.std).unsqueeze(0).to(dtype));
      const folder = join(dir, `img${i}`);
      writeAttentionPngs(folder, img, clsAttention(attention).select(0, 0), backbone.patchSize, { threshold });
      folders.push(folder);
    });
  });
  return folders;
}
