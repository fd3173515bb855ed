// The momentum teacher's update for one pair of tensors (DINO's main_dino.py:
// param_k.data.mul_(m).add_((1 - m) * param_q.detach().data)) in one pass over memory,
// where the backend has a kernel for it (the CPU backend: float32 on its SIMD kernels) and
// nothing records gradients: target is read and written once, instead of twice. Returns
// false otherwise, and the caller runs target.mul_(momentum).add_(source, 1 - momentum),
// which gives the same bits. fusedEmaForeach_ does it for a whole model's parameter pairs in
// one backend call (PyTorch's foreach style: torch._foreach_mul_ and _foreach_add_), so that
// the many small tensors share the thread pool's hand-offs.

import { isGradEnabled } from '../autograd/grad-mode.js';
import type { Tensor } from '../tensor.js';
import { backendOf } from './allocate.js';

export function fusedEma_(target: Tensor, source: Tensor, momentum: number): boolean {
  const backend = backendOf(target);
  if (backend.emaStep === undefined || !pairSuits(target, source) || !backend.emaStep(target, source.detach(), momentum)) return false;
  target.storage.bumpVersion();
  return true;
}

/**
 * fusedEma_ on every pair (targets[i], sources[i]) in one backend call, with the same bits;
 * false, with nothing changed, unless the backend has the kernel for every pair (then the
 * caller updates them pair by pair).
 */
export function fusedEmaForeach_(targets: readonly Tensor[], sources: readonly Tensor[], momentum: number): boolean {
  if (targets.length !== sources.length) throw new Error(`fusedEmaForeach_: ${targets.length} targets but ${sources.length} sources`);
  if (targets.length === 0) return true;
  const backend = backendOf(targets[0]);
  const suits = backend.emaStepForeach !== undefined && targets.every((t, i) => t.device === targets[0].device && pairSuits(t, sources[i]));
  if (!suits || !backend.emaStepForeach!(targets, sources.map((s) => s.detach()), momentum)) return false;
  for (const t of targets) t.storage.bumpVersion();
  return true;
}

/** Whether the fused kernel may update `target` from `source`: nothing records gradients, and both have one device, dtype and shape. */
function pairSuits(target: Tensor, source: Tensor): boolean {
  return !isGradEnabled() && source.device === target.device && source.dtype === target.dtype &&
    target.shape.length === source.shape.length && target.shape.every((d, i) => d === source.shape[i]);
}
