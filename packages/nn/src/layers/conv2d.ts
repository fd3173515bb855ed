// Conv2d restricted to non-overlapping patches (kernel == stride, no padding, no dilation),
// the "patchify" convolution of a ViT:
//   y[b, o, i, j] = bias[o] + sum_{c,u,v} W[o, c, u, v] * x[b, c, i*p + u, j*p + v]
// It is computed as unfold + matmul: a strided view cuts x into [B, gh, gw, C, p, p] patches,
// one copy lays each patch out as a row of C*p*p values in (channel, row, col) order (all
// B*gh*gw patches as rows of one matrix), and one GEMM with W viewed as [outChannels, C*p*p] does the rest. Rows and columns of pixels beyond
// a multiple of p are ignored, as in PyTorch. The weight has PyTorch's shape [out, in, p, p].

import { type Tensor, checkInteger, checkOptions, formatShape, linear } from '@dinots/tensor';
import { WeightedLayer, type WeightedLayerOptions } from './weighted-layer.js';

export interface Conv2dOptions extends WeightedLayerOptions {
  /** Must equal kernelSize (default: kernelSize). */
  stride?: number;
}

export class Conv2d extends WeightedLayer {
  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernelSize: number, options: Conv2dOptions = {}) {
    checkInteger('Conv2d', 'inChannels', inChannels, { min: 1 });
    checkInteger('Conv2d', 'outChannels', outChannels, { min: 1 });
    checkInteger('Conv2d', 'kernelSize', kernelSize, { min: 1 });
    const { stride = kernelSize, ...weighted } = checkOptions('Conv2d', options, ['stride', 'bias', 'dtype', 'generator']);
    if (stride !== kernelSize) {
      throw new Error(`Conv2d: only non-overlapping patches are supported (stride == kernelSize), got kernelSize ${kernelSize} and stride ${stride}`);
    }
    super('Conv2d', [outChannels, inChannels, kernelSize, kernelSize], weighted);
  }

  /** [B, C, H, W] -> [B, outChannels, floor(H/p), floor(W/p)] */
  forward(x: Tensor): Tensor {
    const p = this.kernelSize;
    if (x.ndim !== 4 || x.shape[1] !== this.inChannels || x.shape[2] < p || x.shape[3] < p) {
      throw new Error(`Conv2d(${this.inChannels}, ${this.outChannels}, kernel_size=${p}): expected input [B, ${this.inChannels}, H >= ${p}, W >= ${p}], got ${formatShape(x.shape)}`);
    }
    const [B, C, H, W] = x.shape;
    const gh = Math.floor(H / p);
    const gw = Math.floor(W / p);
    const patches = x
      .narrow(2, 0, gh * p)
      .narrow(3, 0, gw * p)
      .reshape(B, C, gh, p, gw, p)
      .permute(0, 2, 4, 1, 3, 5)
      .reshape(B * gh * gw, C * p * p);
    const y = linear(patches, this.weight.reshape(this.outChannels, C * p * p), this.bias);
    return y.reshape(B, gh, gw, this.outChannels).permute(0, 3, 1, 2);
  }

  override extraRepr(): string {
    const p = this.kernelSize;
    return `${this.inChannels}, ${this.outChannels}, kernel_size=(${p}, ${p}), stride=(${p}, ${p})${this.bias === null ? ', bias=False' : ''}`;
  }
}
