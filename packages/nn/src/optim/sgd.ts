// Stochastic gradient descent with momentum (torch.optim.SGD). Per step, with g the gradient:
//   d = g + wd * p                                   (L2 weight decay, coupled)
//   buf = d on the first step, else momentum * buf + (1 - dampening) * d
//   d = d + momentum * buf   (nesterov)   or   d = buf   (momentum > 0)
//   p <- p - lr * d

import type { Tensor } from '@dinots/tensor';
import { type BaseHyper, type ParamGroup, type ParamGroupInput, Optimizer } from './optimizer.js';

export interface SGDHyper extends BaseHyper {
  momentum: number;
  dampening: number;
  nesterov: boolean;
}

export type SGDState = { momentumBuffer?: Tensor };

export class SGD extends Optimizer<SGDHyper, SGDState> {
  /** Defaults are PyTorch's: lr 1e-3, no momentum, dampening or weight decay. */
  constructor(params: Iterable<Tensor> | Iterable<ParamGroupInput<SGDHyper>>, options: Partial<SGDHyper> = {}) {
    const defaults = { lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, ...options };
    if (!(defaults.lr >= 0)) throw new Error(`SGD: invalid learning rate ${defaults.lr}`);
    if (!(defaults.momentum >= 0)) throw new Error(`SGD: invalid momentum ${defaults.momentum}`);
    if (defaults.nesterov && (defaults.momentum <= 0 || defaults.dampening !== 0)) {
      throw new Error('SGD: Nesterov momentum requires a momentum and zero dampening');
    }
    super(params, defaults);
  }

  protected initState(): SGDState {
    return {};
  }

  protected update(p: Tensor, grad: Tensor, group: ParamGroup<SGDHyper>, state: SGDState): void {
    const { lr, weightDecay, momentum, dampening, nesterov } = group;
    let d = weightDecay !== 0 ? grad.add(p.mul(weightDecay)) : grad;
    if (momentum !== 0) {
      const buf = state.momentumBuffer === undefined ? d.clone() : state.momentumBuffer.mul_(momentum).add_(d, 1 - dampening);
      state.momentumBuffer = buf;
      d = nesterov ? d.add(buf.mul(momentum)) : buf;
    }
    p.add_(d, -lr);
  }
}
