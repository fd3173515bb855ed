// A map-style dataset (torch.utils.data.Dataset): a length and random access by index.

import { type Generator, type Tensor, randperm } from '@dinots/tensor';

export interface Dataset<T> {
  readonly length: number;
  get(index: number): T;
}

/** An image ([C, H, W] in [0, 1]) with its class index. */
export interface LabeledImage {
  image: Tensor;
  label: number;
}

/** The samples at `indices` of `dataset`, in that order (torch.utils.data.Subset). */
export class Subset<T> implements Dataset<T> {
  constructor(readonly dataset: Dataset<T>, readonly indices: readonly number[]) {
    for (const i of indices) {
      if (!Number.isInteger(i) || i < 0 || i >= dataset.length) throw new Error(`Subset: index ${i} is outside a dataset of length ${dataset.length}`);
    }
  }

  get length(): number {
    return this.indices.length;
  }

  get(index: number): T {
    checkIndex('Subset', index, this.length);
    return this.dataset.get(this.indices[index]);
  }
}

export function checkIndex(op: string, index: number, length: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= length) throw new RangeError(`${op}: index ${index} is out of range for length ${length}`);
}

/**
 * Splits `dataset` into non-overlapping random subsets of the given lengths
 * (torch.utils.data.random_split), drawing one permutation from `generator`.
 */
export function randomSplit<T>(dataset: Dataset<T>, lengths: readonly number[], generator: Generator): Subset<T>[] {
  const total = lengths.reduce((a, b) => a + b, 0);
  if (total !== dataset.length || lengths.some((n) => !Number.isInteger(n) || n < 0)) {
    throw new Error(`randomSplit: lengths [${lengths}] must be non-negative integers summing to the dataset length ${dataset.length}`);
  }
  const order = Array.from(randperm(dataset.length, { generator }).dataSync());
  let start = 0;
  return lengths.map((n) => new Subset(dataset, order.slice(start, (start += n))));
}
