// Layer normalisation (Ba et al. 2016) over the trailing `normalizedShape` dims:
//   y = (x - mean) / sqrt(var + eps) * weight + bias   (biased variance; weight 1, bias 0 at init).

import { type DType, type Tensor, checkBoolean, checkDType, checkNumber, checkOptions, checkShape, layerNorm, ones, zeros } from '@dinots/tensor';
import { Module } from '../module.js';
import { pythonFloat } from '../repr.js';

export interface LayerNormOptions {
  eps?: number;
  /** Learn a per-element weight and bias (default true). */
  elementwiseAffine?: boolean;
  dtype?: DType;
}

export class LayerNorm extends Module {
  readonly normalizedShape: readonly number[];
  readonly eps: number;

  constructor(normalizedShape: number | readonly number[], options: LayerNormOptions = {}) {
    super();
    const { eps = 1e-5, elementwiseAffine = true, dtype = 'float32' } = checkOptions('LayerNorm', options, ['eps', 'elementwiseAffine', 'dtype']);
    this.normalizedShape = [...checkShape('LayerNorm', 'normalizedShape', typeof normalizedShape === 'number' ? [normalizedShape] : normalizedShape)];
    checkNumber('LayerNorm', 'eps', eps, { min: 0 });
    checkBoolean('LayerNorm', 'elementwiseAffine', elementwiseAffine);
    checkDType('LayerNorm', dtype);
    this.eps = eps;
    this.registerParameter('weight', elementwiseAffine ? ones(this.normalizedShape, { dtype }) : null);
    this.registerParameter('bias', elementwiseAffine ? zeros(this.normalizedShape, { dtype }) : null);
  }

  get weight(): Tensor | null {
    return this.optionalParameter('weight');
  }

  get bias(): Tensor | null {
    return this.optionalParameter('bias');
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }

  override extraRepr(): string {
    return `(${this.normalizedShape.join(', ')},), eps=${pythonFloat(this.eps)}, elementwise_affine=${this.weight === null ? 'False' : 'True'}`;
  }
}
