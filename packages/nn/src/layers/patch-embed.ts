// Image to patch tokens (Dosovitskiy et al. 2021, section 3.1; vision_transformer.py `PatchEmbed`): a p x p / stride p convolution maps each patch to a
// D-dim token; tokens are flattened row-major over the (H/p, W/p) grid, t = row * (W/p) + col.

import { type DType, type Generator, type Tensor, checkInteger, checkOptions } from '@dinots/tensor';
import { Module } from '../module.js';
import { Conv2d } from './conv2d.js';

export interface PatchEmbedOptions {
  imgSize?: number;
  patchSize?: number;
  inChans?: number;
  embedDim?: number;
  dtype?: DType;
  generator?: Generator;
}

export class PatchEmbed extends Module {
  readonly imgSize: number;
  readonly patchSize: number;
  /** Patches of an imgSize x imgSize image (the size of the learned positional grid). */
  readonly numPatches: number;
  readonly proj: Conv2d;

  constructor(options: PatchEmbedOptions = {}) {
    super();
    const { imgSize = 224, patchSize = 16, inChans = 3, embedDim = 768, dtype, generator } = checkOptions('PatchEmbed', options, ['imgSize', 'patchSize', 'inChans', 'embedDim', 'dtype', 'generator']);
    checkInteger('PatchEmbed', 'imgSize', imgSize, { min: 1 });
    checkInteger('PatchEmbed', 'patchSize', patchSize, { min: 1 });
    this.imgSize = imgSize;
    this.patchSize = patchSize;
    this.numPatches = Math.floor(imgSize / patchSize) ** 2;
    this.proj = this.registerModule('proj', new Conv2d(inChans, embedDim, patchSize, { dtype, generator }));
  }

  /** [B, C, H, W] -> [B, (H/p)(W/p), D] */
  forward(x: Tensor): Tensor {
    return this.proj.forward(x).flatten(2).transpose(1, 2);
  }
}
