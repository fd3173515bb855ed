// A dataset of multi-crop views: sample i is the V augmented views of image i. The views
// are drawn from one Generator in access order, so a seed (and the generator's state, for
// resuming) fixes them.

import type { Generator } from '@dinots/tensor';
import type { MultiCropAugmentation } from '../augment/multi-crop-augmentation.js';
import type { MultiCropSample } from './collate.js';
import type { Dataset, LabeledImage } from './dataset.js';

export class MultiCropDataset implements Dataset<MultiCropSample> {
  constructor(
    readonly dataset: Dataset<LabeledImage>,
    readonly augmentation: MultiCropAugmentation,
    readonly generator: Generator,
  ) {}

  get length(): number {
    return this.dataset.length;
  }

  get(index: number): MultiCropSample {
    const { image, label } = this.dataset.get(index);
    return { crops: this.augmentation.forward(image, this.generator), label };
  }
}
