// Stochastic gradient descent with momentum (torch.optim.SGD). Per step, with g the gradient:
//   d = g + wd * p                                   (L2 weight decay, coupled)
//   buf = d on the first step, else momentum * buf + (1 - dampening) * d
//   d = d + momentum * buf   (nesterov)   or   d = buf   (momentum > 0)
//   p <- p - lr * d

import { type Tensor, checkBoolean, checkNumber, checkOptions } from '@dinots/tensor';
import { type BaseHyper, type ParamGroup, type ParamGroupInput, Optimizer } from './optimizer.js';

export interface SGDHyper extends BaseHyper {
  momentum: number;
  dampening: number;
  nesterov: boolean;
}

const SGD_KEYS = ['lr', 'momentum', 'dampening', 'weightDecay', 'nesterov'];

export type SGDState = { momentumBuffer?: Tensor };

export class SGD extends Optimizer<SGDHyper, SGDState> {
  /** Defaults are PyTorch's: lr 1e-3, no momentum, dampening or weight decay. */
  constructor(params: Iterable<Tensor> | Iterable<ParamGroupInput<SGDHyper>>, options: Partial<SGDHyper> = {}) {
    super(params, { lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, ...checkOptions('SGD', options, SGD_KEYS) });
  }

  protected checkHyper(hyper: Partial<SGDHyper>): void {
    const { lr, momentum, dampening, weightDecay, nesterov } = checkOptions('SGD', hyper, SGD_KEYS);
    if (lr !== undefined) checkNumber('SGD', 'lr', lr, { min: 0, max: Infinity, maxExclusive: true });
    if (momentum !== undefined) checkNumber('SGD', 'momentum', momentum, { min: 0 });
    if (dampening !== undefined) checkNumber('SGD', 'dampening', dampening);
    if (weightDecay !== undefined) checkNumber('SGD', 'weightDecay', weightDecay, { min: 0 });
    if (nesterov !== undefined) checkBoolean('SGD', 'nesterov', nesterov);
    const m = momentum ?? this.defaults?.momentum ?? 0;
    const d = dampening ?? this.defaults?.dampening ?? 0;
    if ((nesterov ?? this.defaults?.nesterov) && (m <= 0 || d !== 0)) {
      throw new Error('SGD: Nesterov momentum requires a momentum and zero dampening');
    }
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
