// Weighted k-NN classification of frozen features (Wu et al. 2018; the official
// eval_knn.py `knn_classifier`).
//
// Train and test features are L2-normalised, so a dot product is a cosine similarity.
// For a test vector x, its k most similar train vectors j each vote for their label with
// weight exp(sim_j / T); a class's score is the sum of its votes. Predictions are the
// classes ranked by score; top-1 / top-5 accuracy are in percent. Defaults: k = 20,
// T = 0.07. Test rows go through in fixed-size chunks (the official script's
// `num_test // 100` chunking divides by zero below 100 test images).

import { type Tensor, matmul, noGrad } from '@dinots/tensor';

export interface KnnOptions {
  k?: number;
  temperature?: number;
  /** Number of classes (default: 1 + the largest label seen). */
  numClasses?: number;
  /** Test rows per similarity matmul. */
  chunkSize?: number;
}

export interface KnnResult {
  /** Top-1 accuracy in percent. */
  top1: number;
  /** Top-min(5, numClasses) accuracy in percent. */
  top5: number;
  /** Predicted class per test row (the highest score). */
  predictions: Int32Array;
  /** Class scores, row-major [numTest, numClasses]. */
  scores: Float64Array;
  numClasses: number;
}

/** Rows divided by their L2 norm (clamped below at 1e-12, as F.normalize). */
export function l2Normalize(x: Tensor): Tensor {
  if (x.ndim !== 2) throw new Error(`l2Normalize: expected [N, D] features, got shape [${x.shape}]`);
  return noGrad(() => x.div(x.norm(2, 1, true).clamp(1e-12)));
}

/**
 * Indices of the k largest values of `row` (length n), most similar first; ties keep the
 * lower index first. A bounded insertion list: O(n k), no full sort.
 */
export function topkIndices(row: ArrayLike<number>, k: number): Int32Array {
  const n = Math.min(k, row.length);
  const idx = new Int32Array(n);
  let filled = 0;
  for (let j = 0; j < row.length; j++) {
    const v = row[j];
    if (filled === n && !(v > row[idx[n - 1]])) continue;
    let p = filled < n ? filled++ : n - 1;
    while (p > 0 && v > row[idx[p - 1]]) {
      idx[p] = idx[p - 1];
      p--;
    }
    idx[p] = j;
  }
  return idx;
}

export function knnClassifier(
  trainFeatures: Tensor,
  trainLabels: ArrayLike<number>,
  testFeatures: Tensor,
  testLabels: ArrayLike<number>,
  options: KnnOptions = {},
): KnnResult {
  const { k = 20, temperature = 0.07, chunkSize = 256 } = options;
  const [numTrain, dim] = trainFeatures.shape;
  const numTest = testFeatures.shape[0];
  if (trainFeatures.ndim !== 2 || testFeatures.ndim !== 2 || testFeatures.shape[1] !== dim) {
    throw new Error(`knnClassifier: expected train [N, D] and test [M, D] features, got [${trainFeatures.shape}] and [${testFeatures.shape}]`);
  }
  if (trainLabels.length !== numTrain || testLabels.length !== numTest) {
    throw new Error(`knnClassifier: ${trainLabels.length} train labels for ${numTrain} rows, ${testLabels.length} test labels for ${numTest} rows`);
  }
  if (!Number.isInteger(k) || k < 1) throw new Error(`knnClassifier: k must be a positive integer, got ${k}`);
  let maxLabel = 0;
  for (let i = 0; i < numTrain; i++) maxLabel = Math.max(maxLabel, trainLabels[i]);
  for (let i = 0; i < numTest; i++) maxLabel = Math.max(maxLabel, testLabels[i]);
  const numClasses = options.numClasses ?? maxLabel + 1;
  if (maxLabel >= numClasses) throw new Error(`knnClassifier: label ${maxLabel} does not fit numClasses ${numClasses}`);

  const train = l2Normalize(trainFeatures);
  const test = l2Normalize(testFeatures);
  const trainT = train.transpose(0, 1);
  const scores = new Float64Array(numTest * numClasses);
  const predictions = new Int32Array(numTest);
  const topN = Math.min(5, numClasses);
  let correct1 = 0;
  let correct5 = 0;
  for (let start = 0; start < numTest; start += chunkSize) {
    const rows = Math.min(chunkSize, numTest - start);
    const sims = noGrad(() => matmul(test.narrow(0, start, rows), trainT)).dataSync();
    for (let r = 0; r < rows; r++) {
      const i = start + r;
      const row = sims.subarray(r * numTrain, (r + 1) * numTrain);
      const score = scores.subarray(i * numClasses, (i + 1) * numClasses);
      for (const j of topkIndices(row, k)) score[trainLabels[j]] += Math.exp(row[j] / temperature);
      const ranked = topkIndices(score, topN);
      predictions[i] = ranked[0];
      if (ranked[0] === testLabels[i]) correct1++;
      if (ranked.includes(testLabels[i])) correct5++;
    }
  }
  return { top1: (100 * correct1) / numTest, top5: (100 * correct5) / numTest, predictions, scores, numClasses };
}
