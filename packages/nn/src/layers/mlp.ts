// The transformer's feed-forward block: fc1 -> GELU -> dropout -> fc2 -> dropout
// (hidden width mlpRatio * D; DINO uses 4 and dropout 0).

import { type DType, type Generator, type Tensor, checkOptions } from '@dinots/tensor';
import { Module } from '../module.js';
import { Dropout } from './dropout.js';
import { GELU } from './gelu.js';
import { Linear } from './linear.js';

export interface MlpOptions {
  hiddenFeatures?: number;
  outFeatures?: number;
  drop?: number;
  dtype?: DType;
  generator?: Generator;
}

export class Mlp extends Module {
  readonly fc1: Linear;
  readonly act: GELU;
  readonly fc2: Linear;
  readonly drop: Dropout;

  constructor(inFeatures: number, options: MlpOptions = {}) {
    super();
    const { hiddenFeatures = inFeatures, outFeatures = inFeatures, drop = 0, dtype, generator } = checkOptions('Mlp', options, ['hiddenFeatures', 'outFeatures', 'drop', 'dtype', 'generator']);
    this.fc1 = this.registerModule('fc1', new Linear(inFeatures, hiddenFeatures, { dtype, generator }));
    this.act = this.registerModule('act', new GELU());
    this.fc2 = this.registerModule('fc2', new Linear(hiddenFeatures, outFeatures, { dtype, generator }));
    this.drop = this.registerModule('drop', new Dropout(drop, generator));
  }

  forward(x: Tensor): Tensor {
    return this.drop.forward(this.fc2.forward(this.drop.forward(this.act.forward(this.fc1.forward(x)))));
  }
}
