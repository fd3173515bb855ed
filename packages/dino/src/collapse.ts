// Watching for the two collapses DINO's centering and sharpening balance (paper section
// 5.3, Fig. 7). From the teacher's probabilities q (rows = samples, K outputs):
//   per-sample entropy  h = mean_b H(q_b)         -> log K when the teacher is uniform
//   entropy of the mean H(mean_b q_b)              -> 0 when every sample picks one output
// Uniform collapse (too much centering): h near log K, every image gets the same flat
// distribution. Dominant-output collapse (too much sharpening): H(mean q) near 0, every
// image gets the same one-hot distribution. Healthy training keeps h well below log K
// while H(mean q) stays well above 0. Entropies are in nats.

import type { Tensor } from '@dinots/tensor';

export interface TeacherEntropy {
  /** Mean over samples of each sample's entropy, in nats. */
  meanEntropy: number;
  /** Entropy of the batch-mean distribution, in nats. */
  entropyOfMean: number;
  /** log K, the largest possible entropy. */
  maxEntropy: number;
}

/** Entropies of teacher probabilities [rows, K] (each row sums to 1). Reads `probs` back. */
export function teacherEntropy(probs: Tensor): TeacherEntropy {
  if (probs.ndim !== 2) throw new Error(`teacherEntropy: expected probabilities [rows, K], got shape [${probs.shape}]`);
  const [rows, K] = probs.shape;
  return teacherEntropyOfValues(probs.contiguous().dataSync(), rows, K);
}

/** teacherEntropy of probabilities already read back: `q` holds rows x K values, row-major. */
export function teacherEntropyOfValues(q: ArrayLike<number>, rows: number, K: number): TeacherEntropy {
  if (q.length !== rows * K) throw new Error(`teacherEntropyOfValues: expected ${rows} x ${K} = ${rows * K} values, got ${q.length}`);
  const mean = new Float64Array(K);
  let sum = 0;
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < K; k++) {
      const p = q[r * K + k];
      if (p > 0) sum -= p * Math.log(p);
      mean[k] += p / rows;
    }
  }
  let entropyOfMean = 0;
  for (const p of mean) if (p > 0) entropyOfMean -= p * Math.log(p);
  return { meanEntropy: sum / rows, entropyOfMean, maxEntropy: Math.log(K) };
}

export type CollapseKind = 'uniform' | 'dominant' | 'none';

export interface CollapseThresholds {
  /** Uniform collapse when meanEntropy >= this fraction of log K. */
  uniform?: number;
  /** Dominant-output collapse when entropyOfMean <= this fraction of log K. */
  dominant?: number;
}

export interface CollapseReport {
  kind: CollapseKind;
  /** One line for the progress bar: the entropies against log K and 0, and the verdict. */
  message: string;
}

export function checkCollapse(entropy: TeacherEntropy, thresholds: CollapseThresholds = {}): CollapseReport {
  const { uniform = 0.98, dominant = 0.05 } = thresholds;
  const { meanEntropy: h, entropyOfMean: hm, maxEntropy: logK } = entropy;
  const numbers = `teacher entropy ${h.toFixed(3)} (0 .. log K = ${logK.toFixed(3)}), entropy of the batch mean ${hm.toFixed(3)}`;
  if (h >= uniform * logK) {
    return { kind: 'uniform', message: `${numbers}: COLLAPSE (uniform): the teacher gives every image the same flat distribution; centering dominates sharpening (lower the teacher temperature or K)` };
  }
  if (hm <= dominant * logK) {
    return { kind: 'dominant', message: `${numbers}: COLLAPSE (one output): every image lands on the same output; sharpening dominates centering (raise the teacher temperature, or lower the center momentum so the center follows faster)` };
  }
  return { kind: 'none', message: `${numbers}: no collapse` };
}
