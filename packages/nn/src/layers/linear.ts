// Linear (fully connected) layer: y = x W^T + b, W of shape [outFeatures, inFeatures].
//
// x may have any number of leading dims; matmul folds them into one [rows, in] x [in, out]
// product and reads W^T through its strides, so no copy of x or W is made.

import { type DType, type Generator, type Tensor, formatShape, zeros } from '@dinots/tensor';
import { defaultLinearInit_ } from '../init.js';
import { Module } from '../module.js';

export interface LinearOptions {
  bias?: boolean;
  dtype?: DType;
  /** Random source for the default init (kaiming-uniform weight, uniform bias). */
  generator?: Generator;
}

export class Linear extends Module {
  constructor(readonly inFeatures: number, readonly outFeatures: number, options: LinearOptions = {}) {
    super();
    const { bias = true, dtype = 'float32' } = options;
    this.registerParameter('weight', zeros([outFeatures, inFeatures], { dtype }));
    this.registerParameter('bias', bias ? zeros([outFeatures], { dtype }) : null);
    defaultLinearInit_(this.weight, this.bias, options);
  }

  get weight(): Tensor {
    return this.parameter('weight');
  }

  get bias(): Tensor | null {
    return this.optionalParameter('bias');
  }

  forward(x: Tensor): Tensor {
    if (x.ndim === 0 || x.shape[x.ndim - 1] !== this.inFeatures) {
      throw new Error(`Linear(${this.inFeatures}, ${this.outFeatures}): expected input [..., ${this.inFeatures}], got ${formatShape(x.shape)}`);
    }
    const y = x.matmul(this.weight.mT);
    return this.bias === null ? y : y.add(this.bias);
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias === null ? 'False' : 'True'}`;
  }
}
