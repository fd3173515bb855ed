// Linear (fully connected) layer: y = x W^T + b, W of shape [outFeatures, inFeatures].
//
// x may have any number of leading dims. The tensor library's linear (packages/tensor/src/
// ops/linear.ts) flattens them into rows first, so that both passes are single GEMMs:
// forward [rows, in] x [in, out] (W^T read through its strides, no copy, the bias added as
// the product leaves the kernel), and in backward dW = g^T x sums over all rows inside one
// product instead of making one [out, in] product per batch item and adding them up.

import { type Tensor, checkInteger, checkOptions, formatShape, linear } from '@dinots/tensor';
import { WeightedLayer, type WeightedLayerOptions } from './weighted-layer.js';

export type LinearOptions = WeightedLayerOptions;

export class Linear extends WeightedLayer {
  constructor(readonly inFeatures: number, readonly outFeatures: number, options: LinearOptions = {}) {
    checkInteger('Linear', 'inFeatures', inFeatures, { min: 0 });
    checkInteger('Linear', 'outFeatures', outFeatures, { min: 0 });
    super('Linear', [outFeatures, inFeatures], checkOptions('Linear', options, ['bias', 'dtype', 'generator']));
  }

  forward(x: Tensor): Tensor {
    if (x.ndim === 0 || x.shape[x.ndim - 1] !== this.inFeatures) {
      throw new Error(`Linear(${this.inFeatures}, ${this.outFeatures}): expected input [..., ${this.inFeatures}], got ${formatShape(x.shape)}`);
    }
    return linear(x, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias === null ? 'False' : 'True'}`;
  }
}
