// torch._fused_adamw_ for one parameter: the whole AdamW update in one kernel, where the
// backend has one (backends/cpu/optim/adamw-step.ts gives the formulas) and the tensors suit
// it (contiguous, one shape and floating dtype, nothing recording gradients). Returns false
// otherwise, and the caller (nn's AdamW) runs its composed update, which on the CPU gives the
// same bits (on the GPU, webgpu mode's kernel, backends/gpu/wgsl-adamw.ts, agrees with it
// within float32 rounding, as GPU kernels do).

import type { AdamWStepHyper, AdamWStepItem } from '../backends/backend.js';
import { isFloatingPoint } from '../dtype.js';
import { isGradEnabled } from '../autograd/grad-mode.js';
import type { Tensor } from '../tensor.js';
import { backendOf } from './allocate.js';

export function fusedAdamW_(p: Tensor, grad: Tensor, expAvg: Tensor, expAvgSq: Tensor, hyper: AdamWStepHyper): boolean {
  const backend = backendOf(p);
  if (backend.adamwStep === undefined || !itemSuits({ p, grad, expAvg, expAvgSq, hyper })) return false;
  backend.adamwStep(p, grad, expAvg, expAvgSq, hyper);
  for (const t of [p, expAvg, expAvgSq]) t.storage.bumpVersion();
  return true;
}

/**
 * fusedAdamW_ on every item (each with its own step count and hyperparameters) in one backend
 * call, with the same bits; false, with nothing changed, unless the backend has the kernel
 * and every item suits it (then the caller updates them one by one).
 */
export function fusedAdamWForeach_(items: readonly AdamWStepItem[]): boolean {
  if (items.length === 0) return true;
  const backend = backendOf(items[0].p);
  if (backend.adamwStepForeach === undefined || !items.every((item) => item.p.device === items[0].p.device && itemSuits(item))) return false;
  backend.adamwStepForeach(items);
  for (const { p, expAvg, expAvgSq } of items) for (const t of [p, expAvg, expAvgSq]) t.storage.bumpVersion();
  return true;
}

/** Whether the fused kernel takes the item: nothing records gradients, and its four tensors are contiguous, of one shape, device and floating dtype. */
function itemSuits({ p, grad, expAvg, expAvgSq }: AdamWStepItem): boolean {
  return !isGradEnabled() && isFloatingPoint(p.dtype) &&
    [p, grad, expAvg, expAvgSq].every((t) => t.device === p.device && t.dtype === p.dtype && t.isContiguous() && t.shape.length === p.shape.length && t.shape.every((d, i) => d === p.shape[i]));
}
