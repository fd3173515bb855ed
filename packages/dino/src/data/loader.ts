// Batching (torch.utils.data.DataLoader, single process): each pass over the loader visits
// the dataset in order, or, with `shuffle`, in a fresh permutation drawn from `generator`;
// consecutive runs of `batchSize` samples are collated into one batch. `dropLast` drops
// the final incomplete batch (DINO trains with drop_last=True).

import type { Generator } from '@dinots/tensor';
import { randperm } from '@dinots/tensor';
import type { Dataset } from './dataset.js';

export interface DataLoaderOptions<T, B> {
  batchSize: number;
  collate: (samples: T[]) => B;
  shuffle?: boolean;
  dropLast?: boolean;
  /** Draws the shuffling permutations (required with `shuffle`). */
  generator?: Generator;
}

export class DataLoader<T, B> implements Iterable<B> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  private readonly collate: (samples: T[]) => B;
  private readonly generator?: Generator;

  constructor(readonly dataset: Dataset<T>, options: DataLoaderOptions<T, B>) {
    const { batchSize, collate, shuffle = false, dropLast = false, generator } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`DataLoader: batchSize must be a positive integer, got ${batchSize}`);
    if (shuffle && generator === undefined) throw new Error('DataLoader: shuffle needs a seeded generator');
    this.batchSize = batchSize;
    this.shuffle = shuffle;
    this.dropLast = dropLast;
    this.collate = collate;
    this.generator = generator;
  }

  /** Batches per pass. */
  get length(): number {
    const n = this.dataset.length / this.batchSize;
    return this.dropLast ? Math.floor(n) : Math.ceil(n);
  }

  *[Symbol.iterator](): Iterator<B> {
    const n = this.dataset.length;
    const order = this.shuffle ? randperm(n, { generator: this.generator }).dataSync() : Int32Array.from({ length: n }, (_, i) => i);
    for (let b = 0; b < this.length; b++) {
      const indices = order.subarray(b * this.batchSize, Math.min((b + 1) * this.batchSize, n));
      yield this.collate(Array.from(indices, (i) => this.dataset.get(i)));
    }
  }
}
