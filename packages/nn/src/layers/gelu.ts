// GELU (Hendrycks & Gimpel 2016): x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), the exact form
// PyTorch's nn.GELU() and DINO use; approximate 'tanh' selects the tanh approximation.

import { type Tensor, checkChoice } from '@dinots/tensor';
import { Module } from '../module.js';

export class GELU extends Module {
  constructor(readonly approximate: 'none' | 'tanh' = 'none') {
    super();
    checkChoice('GELU', 'approximate', approximate, ['none', 'tanh']);
  }

  forward(x: Tensor): Tensor {
    return x.gelu({ approximate: this.approximate });
  }

  override extraRepr(): string {
    return `approximate='${this.approximate}'`;
  }
}
