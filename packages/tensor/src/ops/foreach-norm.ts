// torch._foreach_norm(tensors): the 2-norm of each tensor of a list,
//   ||x_i||_2 = sqrt(sum_j x_ij^2),
// for gradient clipping (@dinots/nn's clip.ts), which needs one per parameter. Where the
// backend has the kernel and the tensors suit it (one device and floating dtype, each
// contiguous), every sum of squares comes from one backend call, split over the thread pool
// across tensors, with the bits of x_i.norm(2); else it is norm() tensor by tensor. Nothing is
// recorded on the fused path, so a list that needs a gradient (grad mode on, a tensor that
// requires grad) takes norm(), which records.

import { isGradEnabled } from '../autograd/grad-mode.js';
import { isFloatingPoint } from '../dtype.js';
import type { Tensor } from '../tensor.js';
import { backendOf, emptyTensor, requireFloat } from './allocate.js';
import { select } from './movement.js';
import { norm } from './reduce.js';
import { sqrt } from './unary.js';

/** The 2-norm of each tensor, as 0-d tensors in the list's order. */
export function foreachNorm(tensors: readonly Tensor[]): Tensor[] {
  for (const t of tensors) requireFloat('foreachNorm', t);
  if (tensors.length === 0) return [];
  const [first] = tensors;
  const backend = backendOf(first);
  const recording = isGradEnabled() && tensors.some((t) => t.requiresGrad);
  const suits = !recording && backend.sumOfSquaresForeach !== undefined && isFloatingPoint(first.dtype) &&
    tensors.every((t) => t.device === first.device && t.dtype === first.dtype && t.isContiguous());
  if (suits) {
    const sums = emptyTensor([tensors.length], first.dtype, first.device, false);
    if (backend.sumOfSquaresForeach!(tensors, sums)) {
      const norms = sqrt(sums);
      return tensors.map((_, i) => select(norms, 0, i));
    }
  }
  return tensors.map((t) => norm(t, 2));
}
