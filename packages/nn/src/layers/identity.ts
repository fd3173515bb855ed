// Identity: returns its input (a placeholder where a layer is switched off, e.g. a drop
// path with rate 0 or the classifier of a headless ViT).

import type { Tensor } from '@dinots/tensor';
import { Module } from '../module.js';

export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}
