// The momentum teacher's update for one pair of tensors (DINO's main_dino.py:
// param_k.data.mul_(m).add_((1 - m) * param_q.detach().data)) in one pass over memory,
// where the backend has a kernel for it (the CPU backend: float32 on its SIMD kernels) and
// nothing records gradients: target is read and written once, instead of twice. Returns
// false otherwise, and the caller runs target.mul_(momentum).add_(source, 1 - momentum),
// which gives the same bits.

import { isGradEnabled } from '../autograd/grad-mode.js';
import type { Tensor } from '../tensor.js';
import { backendOf } from './allocate.js';

export function fusedEma_(target: Tensor, source: Tensor, momentum: number): boolean {
  const backend = backendOf(target);
  const suits = backend.emaStep !== undefined && !isGradEnabled() && source.device === target.device &&
    source.dtype === target.dtype && target.shape.length === source.shape.length && target.shape.every((d, i) => d === source.shape[i]);
  if (!suits || !backend.emaStep!(target, source.detach(), momentum)) return false;
  target.storage.bumpVersion();
  return true;
}
