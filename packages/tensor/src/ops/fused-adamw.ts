// torch._fused_adamw_ for one parameter: the whole AdamW update in one kernel, where the
// backend has one (backends/cpu/optim/adamw-step.ts gives the formulas) and the tensors suit
// it (contiguous, one shape and floating dtype, nothing recording gradients). Returns false
// otherwise, and the caller (nn's AdamW) runs its composed update, which on the CPU gives the
// same bits (on the GPU, webgpu mode's kernel, backends/gpu/wgsl-adamw.ts, agrees with it
// within float32 rounding, as GPU kernels do).

import type { AdamWStepHyper } from '../backends/backend.js';
import { isFloatingPoint } from '../dtype.js';
import { isGradEnabled } from '../autograd/grad-mode.js';
import type { Tensor } from '../tensor.js';
import { backendOf } from './allocate.js';

export function fusedAdamW_(p: Tensor, grad: Tensor, expAvg: Tensor, expAvgSq: Tensor, hyper: AdamWStepHyper): boolean {
  const backend = backendOf(p);
  const tensors = [p, grad, expAvg, expAvgSq];
  const suits = backend.adamwStep !== undefined && !isGradEnabled() && isFloatingPoint(p.dtype) &&
    tensors.every((t) => t.device === p.device && t.dtype === p.dtype && t.isContiguous() && t.shape.length === p.shape.length && t.shape.every((d, i) => d === p.shape[i]));
  if (!suits) return false;
  backend.adamwStep!(p, grad, expAvg, expAvgSq, hyper);
  for (const t of [p, expAvg, expAvgSq]) t.storage.bumpVersion();
  return true;
}
