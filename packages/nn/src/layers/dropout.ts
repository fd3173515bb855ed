// Dropout (Srivastava et al. 2014): in training, each element is zeroed with probability p
// and the survivors are scaled by 1 / (1 - p), so the expectation is unchanged. In eval
// mode, or with p = 0, it is the identity.

import { type Generator, type Tensor, rand } from '@dinots/tensor';
import { Module } from '../module.js';

export class Dropout extends Module {
  constructor(readonly p = 0.5, readonly generator?: Generator) {
    super();
    if (!(p >= 0 && p <= 1)) throw new Error(`Dropout: probability has to be between 0 and 1, got ${p}`);
  }

  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    if (this.p === 1) return x.mul(0);
    const keep = rand(x.shape, { dtype: x.dtype, device: x.device, generator: this.generator }).ge(this.p);
    return x.mul(keep).div(1 - this.p);
  }

  override extraRepr(): string {
    return `p=${formatFloat(this.p)}, inplace=False`;
  }
}

/** A probability as Python prints a float (0 -> 0.0). */
export function formatFloat(x: number): string {
  return Number.isInteger(x) ? x.toFixed(1) : String(x);
}
