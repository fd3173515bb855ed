// DropPath, stochastic depth (Huang et al. 2016), as timm/DINO write it: in training each
// *sample* of the batch keeps its residual branch with probability 1 - r, and kept branches
// are divided by 1 - r:  mask = floor(1 - r + U[0,1)) per sample,  out = x / (1 - r) * mask.
// In eval mode, or with r = 0, it is the identity.

import { type Generator, type Tensor, checkGenerator, checkNumber, defaultGenerator, tensor } from '@dinots/tensor';
import { Module } from '../module.js';
import { pythonFloat } from '../repr.js';

export class DropPath extends Module {
  constructor(readonly dropProb = 0, readonly generator?: Generator) {
    super();
    checkNumber('DropPath', 'dropProb', dropProb, { min: 0, max: 1, maxExclusive: true });
    checkGenerator('DropPath', generator);
  }

  forward(x: Tensor): Tensor {
    if (!this.training || this.dropProb === 0) return x;
    const keepProb = 1 - this.dropProb;
    const generator = this.generator ?? defaultGenerator;
    const mask = Float64Array.from({ length: x.shape[0] }, () => Math.floor(keepProb + generator.random()));
    const shape = [x.shape[0], ...x.shape.slice(1).map(() => 1)];
    return x.div(keepProb).mul(tensor(mask, { shape, dtype: x.dtype, device: x.device }));
  }

  override extraRepr(): string {
    return `drop_prob=${pythonFloat(this.dropProb)}`;
  }
}
