// The kernels the thread pool can split, by name: the same table on the calling thread
// and in every worker. Each runs on indices [begin, end) of its own index space (output
// rows or columns, or the outermost dim of an elementwise loop), with arguments that
// cross threads unchanged (numbers, strings, arrays on shared memory).

import { stridedSlab } from '../elementwise.js';
import { simdSlab } from '../elementwise-simd.js';
import { layerNormBackwardRows, layerNormRows, layerNormRowsContiguous } from '../layer-norm.js';
import { gemmPart } from '../matmul-part.js';
import { simdLayerNormRows, simdSoftmaxRows } from '../rows-simd.js';
import { softmaxBackwardRows, softmaxRows, softmaxRowsContiguous } from '../softmax.js';

export const TASKS = {
  gemmPart,
  stridedSlab,
  simdSlab,
  softmaxRows,
  softmaxRowsContiguous,
  simdSoftmaxRows,
  softmaxBackwardRows,
  layerNormRows,
  layerNormRowsContiguous,
  simdLayerNormRows,
  layerNormBackwardRows,
} as const;

export type TaskName = keyof typeof TASKS;
export type TaskArgs<T extends TaskName> = Parameters<(typeof TASKS)[T]>[0];

/** Bits of the claim word (counters[1]) that count claimed chunks; the bits above hold the task's generation. */
export const CHUNK_BITS = 12;

/**
 * Runs chunks of [0, total), cut into `chunks` near-equal ranges, while any is left to
 * claim. counters[1] is the claim word, generation << CHUNK_BITS | next chunk: a thread
 * claims a chunk by advancing it, and only while it still names this task's generation,
 * so a worker that wakes after its task is over (and the word names a later task) claims
 * nothing. counters[0] counts chunks not yet finished: each claimant reports a failure
 * with `onError`, then decrements it and wakes the caller waiting on it.
 */
export function runChunks<A>(
  run: (args: A, begin: number, end: number) => void,
  args: A,
  total: number,
  chunks: number,
  generation: number,
  counters: Int32Array,
  onError: (error: unknown) => void,
): void {
  const bound = (i: number) => Math.round((total * i) / chunks);
  for (;;) {
    const word = Atomics.load(counters, 1);
    const chunk = word & ((1 << CHUNK_BITS) - 1);
    if (word >>> CHUNK_BITS !== generation || chunk >= chunks) return;
    if (Atomics.compareExchange(counters, 1, word, word + 1) !== word) continue;
    try {
      run(args, bound(chunk), bound(chunk + 1));
    } catch (error) {
      onError(error);
    }
    Atomics.sub(counters, 0, 1);
    Atomics.notify(counters, 0);
  }
}
