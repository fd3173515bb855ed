// Scaled dot-product self-attention on a packed qkv projection (Vaswani et al. 2017, as the
// official vision_transformer.py `Attention` computes it):
//   qkv [B, N, 3, heads, d]:  q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2] as [B, heads, N, d]
//   S = q k^T * scale,  P = softmax(S) over the keys,  out = P v: [B, heads, N, d]
// The forward pass runs the same kernels as those ops one by one. The backward pass is
//   dv = P^T g,  dP = g v^T,  dS = P * (dP - sum_j dP_j P_j) * scale,  dq = dS k,  dk = dS^T q
// with dq, dk and dv written straight into their slices of one gradient of qkv's shape.
// Composed of select, matmul, mul and softmax, the same gradient costs three zero tensors of
// qkv's size with one slice filled each, two additions of them, and a copy back to qkv's
// layout (autograd's select backward): those kernels profiled at about 25 ms of the DINO
// benchmark step on 2 threads; with this op the step's backward copies went 17 -> 5 ms and
// its elementwise ops 41 -> 28 ms (benchmarks/results/NOTES.md). Each element of
// dq, dk and dv is the same sum of the same products as the composed backward's (dk as
// (q^T dS)^T there), so the gradient has the same bits.
// The direct writes need a backend whose matmul writes into strided views
// (Backend.matmulBatchViews); elsewhere, and when the backward pass is itself recorded
// (createGraph), the gradient is composed of differentiable ops.

import { isGradEnabled } from '../autograd/grad-mode.js';
import { record } from '../autograd/record.js';
import { formatShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { checkNumber } from '../validate.js';
import { backendOf, emptyTensor, requireFloat } from './allocate.js';
import { mul } from './binary.js';
import { stack } from './join.js';
import { matmul, matmulInto } from './matmul.js';
import { permute, select, transpose } from './movement.js';
import { softmax, softmaxBackward } from './softmax.js';

/** q, k and v of a packed [B, N, 3, heads, d] qkv, each [B, heads, N, d] (views). */
function split(qkv: Tensor): [Tensor, Tensor, Tensor] {
  const heads = permute(qkv, [2, 0, 3, 1, 4]);
  return [select(heads, 0, 0), select(heads, 0, 1), select(heads, 0, 2)];
}

/** softmax(q k^T * scale) v for the q, k and v packed in qkv [B, N, 3, heads, d]: [B, heads, N, d]. */
export function selfAttention(qkv: Tensor, scale: number): Tensor {
  requireFloat('selfAttention', qkv);
  checkNumber('selfAttention', 'scale', scale);
  if (qkv.ndim !== 5 || qkv.shape[2] !== 3) {
    throw new Error(`selfAttention: expected qkv of shape [B, N, 3, heads, head_dim], got ${formatShape(qkv.shape)}`);
  }
  const [q, k, v] = split(qkv.detach());
  const probabilities = softmax(mul(matmul(q, transpose(k, -2, -1)), scale), -1);
  const out = matmul(probabilities, v);
  return record('SelfAttentionBackward', out, [qkv], [qkv], [(g) => fusedBackward(qkv, probabilities, scale, g) ?? composedBackward(qkv, scale, g)]);
}

/** The gradient of qkv written slice by slice (see the header), or null where it cannot be. */
function fusedBackward(qkv: Tensor, probabilities: Tensor, scale: number, g: Tensor): Tensor | null {
  if (isGradEnabled() || !backendOf(qkv).matmulBatchViews || g.dtype !== qkv.dtype) return null;
  const [q, k, v] = split(qkv.detach());
  const grad = emptyTensor(qkv.shape, qkv.dtype, qkv.device, false); // every element is written below
  const [dq, dk, dv] = split(grad);
  matmulInto(transpose(probabilities, -2, -1), g, dv);
  const dS = mul(softmaxBackward(matmul(g, transpose(v, -2, -1)), probabilities, 3), scale);
  matmulInto(dS, k, dq);
  matmulInto(transpose(dS, -2, -1), q, dk);
  return grad;
}

/** The same gradient from differentiable ops, recomputing P from qkv (for createGraph, and backends without strided writes). */
function composedBackward(qkv: Tensor, scale: number, g: Tensor): Tensor {
  const [q, k, v] = split(qkv);
  const probabilities = softmax(mul(matmul(q, transpose(k, -2, -1)), scale), -1);
  const dv = matmul(transpose(probabilities, -2, -1), g);
  const dP = matmul(g, transpose(v, -2, -1));
  const dS = mul(softmaxBackward(dP, probabilities, 3), scale);
  const dq = matmul(dS, k);
  const dk = matmul(transpose(dS, -2, -1), q);
  // [3, B, heads, N, d] back to qkv's [B, N, 3, heads, d]
  return permute(stack([dq, dk, dv], 0), [1, 3, 0, 2, 4]).contiguous();
}
