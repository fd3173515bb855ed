// MultiCropWrapper (the official utils.py `MultiCropWrapper`): backbone + head over a list
// of crops. Consecutive crops of equal width form a run; each run is concatenated along the
// batch and goes through the backbone once, then the head runs once on all CLS features.
// Output rows are crop-major: rows [c*B, (c+1)*B) belong to crop c, which DINOLoss relies on.
// For a ViT (no batch norm) grouping changes nothing numerically; it saves backbone calls.
// State-dict keys: backbone.* and head.*, as the official checkpoints.
// The crops themselves come from MultiCropAugmentation (augment/multi-crop-augmentation.ts).

import { type Tensor, cat, formatShape } from '@dinots/tensor';
import { Module, type TensorModule } from '@dinots/nn';

export class MultiCropWrapper<B extends TensorModule = TensorModule, H extends TensorModule = TensorModule> extends Module {
  readonly backbone: B;
  readonly head: H;

  constructor(backbone: B, head: H) {
    super();
    this.backbone = this.registerModule('backbone', backbone);
    this.head = this.registerModule('head', head);
  }

  /** CLS features of every crop, crop-major [V*B, D], one backbone pass per run of equal width. */
  backboneFeatures(crops: Tensor | readonly Tensor[]): Tensor {
    const list = Array.isArray(crops) ? (crops as readonly Tensor[]) : [crops as Tensor];
    if (list.length === 0) throw new Error('MultiCropWrapper: got an empty list of crops');
    for (const [i, c] of list.entries()) {
      if (c.ndim !== 4 || c.shape[0] !== list[0].shape[0]) {
        throw new Error(`MultiCropWrapper: crop ${i} has shape ${formatShape(c.shape)}; every crop must be [B, C, H, W] with the same B (crop 0: ${formatShape(list[0].shape)})`);
      }
    }
    const outputs: Tensor[] = [];
    let start = 0;
    while (start < list.length) {
      const width = list[start].shape[3];
      let end = start + 1;
      while (end < list.length && list[end].shape[3] === width) end++;
      const run = list.slice(start, end);
      outputs.push(this.backbone.forward(run.length === 1 ? run[0] : cat(run, 0)));
      start = end;
    }
    return outputs.length === 1 ? outputs[0] : cat(outputs, 0);
  }

  /** Head outputs of every crop, crop-major [V*B, K]. */
  forward(crops: Tensor | readonly Tensor[]): Tensor {
    return this.head.forward(this.backboneFeatures(crops));
  }
}
