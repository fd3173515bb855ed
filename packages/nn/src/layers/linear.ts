// Linear (fully connected) layer: y = x W^T + b, W of shape [outFeatures, inFeatures].
//
// x may have any number of leading dims. They are flattened into rows first, so that both
// passes are single GEMMs: forward [rows, in] x [in, out] (W^T read through its strides, no
// copy), and in backward dW = g^T x sums over all rows inside one product instead of making
// one [out, in] product per batch item and adding them up.

import { type DType, type Generator, type Tensor, checkBoolean, checkDType, checkGenerator, checkInteger, checkOptions, formatShape, zeros } from '@dinots/tensor';
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
    checkInteger('Linear', 'inFeatures', inFeatures, { min: 0 });
    checkInteger('Linear', 'outFeatures', outFeatures, { min: 0 });
    const { bias = true, dtype = 'float32', generator } = checkOptions('Linear', options, ['bias', 'dtype', 'generator']);
    checkBoolean('Linear', 'bias', bias);
    checkDType('Linear', dtype);
    checkGenerator('Linear', generator);
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
    const rows = x.reshape(-1, this.inFeatures).matmul(this.weight.mT);
    const y = this.bias === null ? rows : rows.add(this.bias);
    return y.reshape([...x.shape.slice(0, -1), this.outFeatures]);
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias === null ? 'False' : 'True'}`;
  }
}
