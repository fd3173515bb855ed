// Multi-head self-attention (Vaswani et al. 2017) as DINO's ViT computes it
// (the official vision_transformer.py `Attention`):
//   [q | k | v] = x Wqkv^T + b        one fused Linear(D, 3D); rows [0, D) of Wqkv are Q,
//                                      [D, 2D) K, [2D, 3D) V, and head h owns hd = D/heads rows of each
//   A_h = softmax(q_h k_h^T * hd^-0.5) over the keys, shape [B, heads, N, N] (query x key)
//   out = proj(concat_h(A_h v_h))     heads concatenated head-major back to D
// timm's and DINO's `Attention`, not torch.nn.MultiheadAttention: self-attention only, one
// fused qkv Linear (state-dict keys qkv.* and proj.*), inputs [B, N, D] batch first.

import { type DType, type Generator, type Tensor, checkInteger, checkOptions, formatShape, selfAttention } from '@dinots/tensor';
import { Module } from '../module.js';
import { Dropout } from './dropout.js';
import { Linear } from './linear.js';

export interface AttentionOptions {
  numHeads?: number;
  qkvBias?: boolean;
  /** Overrides the default scale head_dim^-0.5. */
  qkScale?: number;
  attnDrop?: number;
  projDrop?: number;
  dtype?: DType;
  generator?: Generator;
}

const ATTENTION_KEYS = ['numHeads', 'qkvBias', 'qkScale', 'attnDrop', 'projDrop', 'dtype', 'generator'];

export class Attention extends Module {
  readonly numHeads: number;
  readonly scale: number;
  readonly qkv: Linear;
  readonly attnDrop: Dropout;
  readonly proj: Linear;
  readonly projDrop: Dropout;

  constructor(readonly dim: number, options: AttentionOptions = {}) {
    super();
    const { numHeads = 8, qkvBias = false, attnDrop = 0, projDrop = 0, dtype, generator } = checkOptions('Attention', options, ATTENTION_KEYS);
    checkInteger('Attention', 'dim', dim, { min: 1 });
    checkInteger('Attention', 'numHeads', numHeads, { min: 1 });
    if (dim % numHeads !== 0) throw new Error(`Attention: embedding dim ${dim} is not divisible by numHeads ${numHeads}`);
    this.numHeads = numHeads;
    this.scale = options.qkScale ?? (dim / numHeads) ** -0.5;
    this.qkv = this.registerModule('qkv', new Linear(dim, dim * 3, { bias: qkvBias, dtype, generator }));
    this.attnDrop = this.registerModule('attn_drop', new Dropout(attnDrop, generator));
    this.proj = this.registerModule('proj', new Linear(dim, dim, { dtype, generator }));
    this.projDrop = this.registerModule('proj_drop', new Dropout(projDrop, generator));
  }

  forward(x: Tensor): Tensor {
    // without attention dropout, one op whose backward writes q, k and v's gradients into one tensor
    if (this.attnDrop.p > 0 && this.attnDrop.training) return this.forwardWithAttention(x).output;
    const [B, N, C] = this.checkInput(x);
    const heads = selfAttention(this.packedQkv(x), this.scale);
    return this.project(heads, B, N, C);
  }

  /** The output [B, N, D] and the attention probabilities [B, heads, N, N] (each a differentiable tensor). */
  forwardWithAttention(x: Tensor): { output: Tensor; attention: Tensor } {
    const [B, N, C] = this.checkInput(x);
    const qkv = this.packedQkv(x).permute(2, 0, 3, 1, 4);
    const [q, k, v] = [qkv.select(0, 0), qkv.select(0, 1), qkv.select(0, 2)];
    const attention = this.attnDrop.forward(q.matmul(k.mT).mul(this.scale).softmax(-1));
    return { output: this.project(attention.matmul(v), B, N, C), attention };
  }

  private checkInput(x: Tensor): number[] {
    if (x.ndim !== 3 || x.shape[2] !== this.dim) {
      throw new Error(`Attention(dim=${this.dim}): expected input [B, N, ${this.dim}], got ${formatShape(x.shape)}`);
    }
    return x.shape.slice();
  }

  /** The qkv projection as [B, N, 3, heads, head_dim]. */
  private packedQkv(x: Tensor): Tensor {
    const [B, N, C] = x.shape;
    return this.qkv.forward(x).reshape(B, N, 3, this.numHeads, C / this.numHeads);
  }

  /** The heads [B, heads, N, head_dim] concatenated back to [B, N, D], then proj. */
  private project(heads: Tensor, B: number, N: number, C: number): Tensor {
    return this.projDrop.forward(this.proj.forward(heads.transpose(1, 2).reshape(B, N, C)));
  }
}
