// Self-attention maps of the [CLS] token (DINO paper section 4.2.1 and Fig. 3/4; the official
// visualize_attention.py).
//
// From the last block's attention probabilities A [B, heads, N+1, N+1] (query x key), the
// map of head h is the CLS query's row without its CLS key: A[b, h, 0, 1:] (sums to < 1).
// The threshold mask keeps, per head, the smallest set of top-attended patches that holds
// at least `threshold` of that row's mass: sort ascending, normalise by the sum, take the
// cumulative sum, keep the patches whose cumulative value is > 1 - threshold. The paper
// uses threshold 0.6.

import { type Tensor, tensor } from '@dinots/tensor';

/** The CLS -> patch attention [B, heads, N] from attention probabilities [B, heads, N+1, N+1]. */
export function clsAttention(attention: Tensor): Tensor {
  const [, , q, k] = attention.shape;
  if (attention.ndim !== 4 || q !== k || q < 2) {
    throw new Error(`clsAttention: expected attention probabilities [B, heads, N+1, N+1], got shape [${attention.shape}]`);
  }
  return attention.select(2, 0).narrow(-1, 1, k - 1);
}

/**
 * The mass-threshold masks (1 = kept, 0 = dropped) of per-head attention rows [..., N],
 * as a tensor of the same shape and dtype.
 */
export function attentionMassMask(attention: Tensor, threshold = 0.6): Tensor {
  if (!(threshold > 0 && threshold <= 1)) throw new Error(`attentionMassMask: threshold must be in (0, 1], got ${threshold}`);
  const n = attention.shape[attention.ndim - 1];
  const values = attention.contiguous().dataSync();
  const mask = new Float64Array(values.length);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let start = 0; start < values.length; start += n) {
    const row = values.subarray(start, start + n);
    // Ascending with the original index as the tie-break, as a stable sort.
    order.sort((a, b) => row[a] - row[b] || a - b);
    let total = 0;
    for (let i = 0; i < n; i++) total += row[order[i]];
    let cumulative = 0;
    for (let i = 0; i < n; i++) {
      cumulative += row[order[i]] / total;
      if (cumulative > 1 - threshold) mask[start + order[i]] = 1;
    }
  }
  return tensor(mask, { shape: [...attention.shape], dtype: attention.dtype });
}
