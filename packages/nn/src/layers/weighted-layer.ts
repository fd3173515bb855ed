// The parameters that Linear and Conv2d share: a weight [out, in, ...kernel] and an optional
// bias [out], initialised as PyTorch's reset_parameters() does for both (defaultLinearInit_
// in init.ts): with fan_in = in * prod(kernel),
//   weight ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))   (kaiming-uniform with a = sqrt 5),
//   bias   ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
// the weight's draws first, then the bias's, so a seeded generator gives PyTorch's order.

import { type DType, type Generator, type Tensor, checkBoolean, checkDType, checkGenerator, zeros } from '@dinots/tensor';
import { defaultLinearInit_ } from '../init.js';
import { Module } from '../module.js';

export interface WeightedLayerOptions {
  bias?: boolean;
  dtype?: DType;
  /** Random source for the default init (kaiming-uniform weight, uniform bias). */
  generator?: Generator;
}

export abstract class WeightedLayer extends Module {
  /** Registers `weight` of `weightShape` ([out, in, ...kernel]) and `bias` ([out], or null), then initialises them; `op` names the layer in errors. */
  protected constructor(op: string, weightShape: readonly number[], options: WeightedLayerOptions) {
    super();
    const { bias = true, dtype = 'float32', generator } = options;
    checkBoolean(op, 'bias', bias);
    checkDType(op, dtype);
    checkGenerator(op, generator);
    this.registerParameter('weight', zeros(weightShape, { dtype }));
    this.registerParameter('bias', bias ? zeros([weightShape[0]], { dtype }) : null);
    defaultLinearInit_(this.weight, this.bias, { generator });
  }

  get weight(): Tensor {
    return this.parameter('weight');
  }

  get bias(): Tensor | null {
    return this.optionalParameter('bias');
  }
}
