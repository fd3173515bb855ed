// Dropout (Srivastava et al. 2014): in training, each element is zeroed with probability p
// and the survivors are scaled by 1 / (1 - p), so the expectation is unchanged. In eval
// mode, or with p = 0, it is the identity.

import { type Generator, type Tensor, checkGenerator, checkNumber, rand } from '@dinots/tensor';
import { Module } from '../module.js';
import { pythonFloat } from '../repr.js';

export class Dropout extends Module {
  constructor(readonly p = 0.5, readonly generator?: Generator) {
    super();
    checkNumber('Dropout', 'p', p);
    if (!(p >= 0 && p <= 1)) throw new Error(`Dropout: probability has to be between 0 and 1, got ${p}`);
    checkGenerator('Dropout', generator);
  }

  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    if (this.p === 1) return x.mul(0);
    const keep = rand(x.shape, { dtype: x.dtype, device: x.device, generator: this.generator }).ge(this.p);
    return x.mul(keep).div(1 - this.p);
  }

  override extraRepr(): string {
    return `p=${pythonFloat(this.p)}, inplace=False`;
  }
}
