// AdamW (Loshchilov & Hutter 2019): Adam with decoupled weight decay, in PyTorch's order
// (torch.optim.AdamW, single-tensor path, as main_dino.py builds it). Per step t = 1, 2, ... of a parameter:
//   p <- p * (1 - lr * wd)                     decay first, on the parameter itself
//   m <- m + (1 - b1) (g - m)                  = b1 m + (1 - b1) g  (PyTorch's lerp_)
//   v <- b2 v + (1 - b2) g^2
//   p <- p - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// eps is added after the bias-corrected sqrt(v), not inside the square root.
// With `fused` (the default) a group's update is one kernel call for all its parameters where
// the backend has one (@dinots/tensor's fusedAdamWForeach_, PyTorch's fused=True, which also
// takes the lists), else one per parameter where it has that (fusedAdamW_): on the CPU with
// the same bits as the composed ops, on the GPU (webgpu mode) within float32 rounding of them,
// as GPU kernels are.

import { type AdamWStepHyper, type Tensor, checkBoolean, checkNumber, checkOptions, describe, fusedAdamWForeach_, fusedAdamW_, zerosLike } from '@dinots/tensor';
import { type BaseHyper, type ParamGroup, type ParamGroupInput, type ParamUpdate, Optimizer } from './optimizer.js';

export interface AdamWHyper extends BaseHyper {
  betas: readonly [number, number];
  eps: number;
  /** Fused kernels where the backend has them (default true): one call per group, else one per parameter; false always runs the composed ops. */
  fused: boolean;
}

const ADAMW_KEYS = ['lr', 'betas', 'eps', 'weightDecay', 'fused'];

export type AdamWState = { step: number; expAvg: Tensor; expAvgSq: Tensor };

export class AdamW extends Optimizer<AdamWHyper, AdamWState> {
  /** Defaults are PyTorch's: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weightDecay 1e-2; and fused. */
  constructor(params: Iterable<Tensor> | Iterable<ParamGroupInput<AdamWHyper>>, options: Partial<AdamWHyper> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999] as const, eps: 1e-8, weightDecay: 1e-2, fused: true, ...checkOptions('AdamW', options, ADAMW_KEYS) });
  }

  protected checkHyper(hyper: Partial<AdamWHyper>): void {
    const { lr, betas, eps, weightDecay, fused } = checkOptions('AdamW', hyper, ADAMW_KEYS);
    if (fused !== undefined) checkBoolean('AdamW', 'fused', fused);
    if (lr !== undefined) checkNumber('AdamW', 'lr', lr, { min: 0, max: Infinity, maxExclusive: true });
    if (eps !== undefined) checkNumber('AdamW', 'eps', eps, { min: 0 });
    if (weightDecay !== undefined) checkNumber('AdamW', 'weightDecay', weightDecay, { min: 0 });
    if (betas !== undefined) {
      const valid = Array.isArray(betas) && betas.length === 2 && betas.every((b) => typeof b === 'number' && b >= 0 && b < 1);
      if (!valid) throw new RangeError(`AdamW: invalid betas ${describe(betas)}; expected [beta1, beta2], each in [0, 1)`);
    }
  }

  protected initState(p: Tensor): AdamWState {
    return { step: 0, expAvg: zerosLike(p), expAvgSq: zerosLike(p) };
  }

  protected override updateGroup(group: ParamGroup<AdamWHyper>, updates: readonly ParamUpdate<AdamWState>[]): boolean {
    if (!group.fused) return false;
    const items = updates.map(({ p, grad, state }) => ({ p, grad, expAvg: state.expAvg, expAvgSq: state.expAvgSq, hyper: stepHyper(group, state.step + 1) }));
    if (!fusedAdamWForeach_(items)) return false;
    for (const { state } of updates) state.step += 1;
    return true;
  }

  protected update(p: Tensor, grad: Tensor, group: ParamGroup<AdamWHyper>, state: AdamWState): void {
    const { lr, weightDecay, eps } = group;
    const [beta1, beta2] = group.betas;
    state.step += 1;
    if (group.fused && fusedAdamW_(p, grad, state.expAvg, state.expAvgSq, stepHyper(group, state.step))) return;
    p.mul_(1 - lr * weightDecay);
    state.expAvg.lerp_(grad, 1 - beta1);
    state.expAvgSq.mul_(beta2).addcmul_(grad, grad, 1 - beta2);
    const biasCorrection1 = 1 - beta1 ** state.step;
    const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** state.step);
    const denom = state.expAvgSq.sqrt().div(biasCorrection2Sqrt).add_(eps);
    p.addcdiv_(state.expAvg, denom, -lr / biasCorrection1);
  }
}

/** The scalars of a fused step number `step` (from 1) of a parameter in `group`. */
function stepHyper({ lr, betas: [beta1, beta2], eps, weightDecay }: AdamWHyper, step: number): AdamWStepHyper {
  return { lr, beta1, beta2, eps, weightDecay, step };
}
