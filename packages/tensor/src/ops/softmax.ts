// softmax(x)_i = exp(x_i) / sum_j exp(x_j) and log_softmax = log of it, along `dim`,
// computed stably in one fused kernel (the max is subtracted first).
//   softmax:     dx = y * (g - sum_j g_j y_j)
//   logSoftmax:  dx = g - exp(y) * sum_j g_j
// Both gradients are written with differentiable ops, so higher orders work; a backend
// may fuse each into one kernel for a backward pass that is not itself recorded.

import { isGradEnabled } from '../autograd/grad-mode.js';
import { record } from '../autograd/record.js';
import { normalizeDim } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { backendOf, emptyTensor, requireFloat } from './allocate.js';
import { mul, sub } from './binary.js';
import { sum } from './reduce.js';
import { exp } from './unary.js';

function fused(name: string, x: Tensor, dim: number, log: boolean): [Tensor, number] {
  requireFloat(name, x);
  const d = x.ndim === 0 ? 0 : normalizeDim(name, dim, x.ndim);
  const out = emptyTensor(x.shape, x.dtype, x.device, false);
  if (x.ndim === 0) {
    backendOf(x).fill(out, log ? 0 : 1);
  } else if (x.numel > 0) {
    backendOf(x).softmax(x, d, log, out);
  }
  return [out, d];
}

/**
 * The backend's fused gradient kernel, when it has one and the backward pass is not being
 * recorded (the composed formulas below are what double backward differentiates).
 */
function fusedBackward(g: Tensor, y: Tensor, d: number, log: boolean): Tensor | null {
  const backend = backendOf(y);
  if (isGradEnabled() || backend.softmaxBackward === undefined || g.dtype !== y.dtype || y.ndim === 0) return null;
  const out = emptyTensor(y.shape, y.dtype, y.device, false);
  if (y.numel > 0) backend.softmaxBackward(g.detach(), y.detach(), d, log, out);
  return out;
}

export function softmax(x: Tensor, dim: number): Tensor {
  const [y, d] = fused('softmax', x, dim, false);
  return record('SoftmaxBackward', y, [x], [y], [(g) => softmaxBackward(g, y, d)]);
}

/** The gradient of softmax along `d` (normalized) at its output y, from the output's gradient g. */
export function softmaxBackward(g: Tensor, y: Tensor, d: number): Tensor {
  return fusedBackward(g, y, d, false) ?? mul(y, sub(g, sum(mul(g, y), y.ndim === 0 ? [] : [d], true)));
}

export function logSoftmax(x: Tensor, dim: number): Tensor {
  const [y, d] = fused('logSoftmax', x, dim, true);
  const nd = x.ndim === 0 ? [] : [d];
  return record('LogSoftmaxBackward', y, [x], [y], [(g) => fusedBackward(g, y, d, true) ?? sub(g, mul(exp(y), sum(g, nd, true)))]);
}
