// Pre-norm transformer block (the official vision_transformer.py `Block`):
//   x = x + DropPath(Attn(LN1(x)));  x = x + DropPath(Mlp(LN2(x)))
// The same DropPath module serves both branches, drawing a fresh mask for each.

import { type DType, type Generator, type Tensor, checkNumber, checkOptions } from '@dinots/tensor';
import { Module } from '../module.js';
import { Attention } from './attention.js';
import { DropPath } from './drop-path.js';
import { Identity } from './identity.js';
import { LayerNorm } from './layer-norm.js';
import { Mlp } from './mlp.js';

export interface BlockOptions {
  numHeads: number;
  mlpRatio?: number;
  qkvBias?: boolean;
  qkScale?: number;
  drop?: number;
  attnDrop?: number;
  dropPath?: number;
  layerNormEps?: number;
  dtype?: DType;
  generator?: Generator;
}

export class Block extends Module {
  readonly norm1: LayerNorm;
  readonly attn: Attention;
  readonly dropPath: DropPath | Identity;
  readonly norm2: LayerNorm;
  readonly mlp: Mlp;

  constructor(dim: number, options: BlockOptions) {
    super();
    const { numHeads, mlpRatio = 4, qkvBias = false, qkScale, drop = 0, attnDrop = 0, dropPath = 0, layerNormEps = 1e-5, dtype, generator } = checkOptions(
      'Block', options, ['numHeads', 'mlpRatio', 'qkvBias', 'qkScale', 'drop', 'attnDrop', 'dropPath', 'layerNormEps', 'dtype', 'generator'],
    );
    checkNumber('Block', 'mlpRatio', mlpRatio, { min: 0, minExclusive: true, max: Infinity, maxExclusive: true });
    this.norm1 = this.registerModule('norm1', new LayerNorm(dim, { eps: layerNormEps, dtype }));
    this.attn = this.registerModule('attn', new Attention(dim, { numHeads, qkvBias, qkScale, attnDrop, projDrop: drop, dtype, generator }));
    this.dropPath = this.registerModule('drop_path', dropPath > 0 ? new DropPath(dropPath, generator) : new Identity());
    this.norm2 = this.registerModule('norm2', new LayerNorm(dim, { eps: layerNormEps, dtype }));
    const hiddenFeatures = Math.trunc(dim * mlpRatio);
    this.mlp = this.registerModule('mlp', new Mlp(dim, { hiddenFeatures, drop, dtype, generator }));
  }

  forward(x: Tensor): Tensor {
    const y = x.add(this.dropPath.forward(this.attn.forward(this.norm1.forward(x))));
    return y.add(this.dropPath.forward(this.mlp.forward(this.norm2.forward(y))));
  }

  /** The attention probabilities [B, heads, N, N] of this block for input x (no residual, no MLP). */
  selfAttention(x: Tensor): Tensor {
    return this.attn.forwardWithAttention(this.norm1.forward(x)).attention;
  }
}
