// Gradient clipping, two kinds.
//
// clipGradients (the official utils.py `clip_gradients`): *per tensor*. For every
// parameter with a gradient, n = ||grad||_2; if clip / (n + 1e-6) < 1 the gradient is
// multiplied by that coefficient, so each tensor ends with norm ~ clip. Returns the norms
// before clipping, in namedParameters order, as one 1-D tensor on the gradients' device.
// The norms come from one foreachNorm call (every gradient's sum of squares in one split
// over the thread pool, with the bits of grad.norm(2)), the coefficients from one division.
// On the GPU the coefficient is clamped at 1 instead of tested with `if`: multiplying by
// exactly 1 changes nothing, and nothing has to be read back in the middle of a step. On
// the CPU, where reading it costs nothing, a gradient that needs no clipping is left alone,
// as the official code leaves it: the same bits, without a pass over the gradient.
//
// clipGradNorm (torch.nn.utils.clip_grad_norm_): one *global* norm over all gradients,
// N = || (||g_1||_p, ..., ||g_k||_p) ||_p, and every gradient is multiplied by
// min(1, maxNorm / (N + 1e-6)). Returns N.

import { type Tensor, div, foreachNorm, noGrad, recordFunction, stack, zeros } from '@dinots/tensor';
import type { Module } from './module.js';

export function clipGradients(model: Module, clip: number): Tensor {
  return recordFunction('gradient clipping', () => noGrad(() => {
    const grads = [...model.parameters()].flatMap((p) => (p.grad === null ? [] : [p.grad]));
    if (grads.length === 0) return zeros([0]);
    const norms = stack(foreachNorm(grads));
    const coefficients = div(clip, norms.add(1e-6));
    if (norms.device !== 'cpu') {
      const clamped = coefficients.clamp(null, 1);
      grads.forEach((g, i) => g.mul_(clamped.select(0, i)));
      return norms;
    }
    const c = coefficients.dataSync();
    grads.forEach((g, i) => {
      if (c[i] < 1) g.mul_(coefficients.select(0, i));
    });
    return norms;
  }));
}

export function clipGradNorm(parameters: Iterable<Tensor>, maxNorm: number, normType = 2): number {
  const grads = [...parameters].flatMap((p) => (p.grad === null ? [] : [p.grad]));
  if (grads.length === 0) return 0;
  return noGrad(() => {
    const total = stack(normType === 2 ? foreachNorm(grads) : grads.map((g) => g.norm(normType))).norm(normType);
    const coef = div(maxNorm, total.add(1e-6)).clamp(null, 1);
    for (const g of grads) g.mul_(coef);
    return total.item();
  });
}
