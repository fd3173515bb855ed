// The kernels the thread pool can split. A call site passes the kernel function itself,
// `parallelFor(softmaxRows, args, total, grain)`, so go-to-definition lands on the kernel;
// only its index in TASKS crosses to a worker, which loads this same list and runs
// TASKS[index]. Each kernel runs on indices [begin, end) of its own index space (output
// rows or columns, or the outermost dim of an elementwise loop), with arguments that
// cross threads unchanged (numbers, strings, arrays on shared memory).

import { columnSums } from '../elementwise/column-sums.js';
import { copyRuns } from '../elementwise/copy-runs.js';
import { rowSums } from '../elementwise/row-sums.js';
import { stridedSlab } from '../elementwise/elementwise.js';
import { sumChunks, sumOfSquaresChunks, sumOfSquaresParts } from '../elementwise/sum-chunks.js';
import { elementwiseSlabWasm } from '../elementwise/elementwise-wasm.js';
import { gemmPart } from '../matmul/gemm-part.js';
import { adamwStepPart } from '../optim/adamw-step-part.js';
import { layerNormBackwardRows, layerNormParamGradColumns, layerNormRows, layerNormRowsContiguous } from '../softmax-layer-norm/layer-norm.js';
import { softmaxBackwardRows, softmaxRows, softmaxRowsContiguous } from '../softmax-layer-norm/softmax.js';
import { layerNormRowsWasm, softmaxRowsWasm } from '../softmax-layer-norm/softmax-layer-norm-wasm.js';

export const TASKS = [
  gemmPart,
  stridedSlab,
  copyRuns,
  columnSums,
  rowSums,
  sumChunks,
  sumOfSquaresChunks,
  adamwStepPart,
  elementwiseSlabWasm,
  softmaxRows,
  softmaxRowsContiguous,
  softmaxRowsWasm,
  softmaxBackwardRows,
  layerNormRows,
  layerNormRowsContiguous,
  layerNormRowsWasm,
  layerNormBackwardRows,
  layerNormParamGradColumns,
  sumOfSquaresParts,
  multiTensorParts,
] as const;

/** A kernel the pool can split: one of TASKS. */
export type Task = (typeof TASKS)[number];

const indices = new Map<Task, number>(TASKS.map((task, i) => [task, i]));

/** The index a worker resolves `task` by. */
export function taskIndex(task: Task): number {
  const i = indices.get(task);
  if (i === undefined) throw new Error(`parallelFor: ${(task as { name?: string }).name ?? 'this function'} is not in TASKS (threads/tasks.ts)`);
  return i;
}

/** One kernel over many tensors' index spaces laid end to end (parallelForEach in pool.ts). */
export interface MultiTensorArgs {
  /** The kernel's index in TASKS. */
  readonly task: number;
  /** The kernel's arguments for each tensor. */
  readonly items: readonly unknown[];
  /** starts[i]: where item i's indices begin in the joint index space; starts[items.length] is the total. */
  readonly starts: readonly number[];
}

/**
 * Indices [begin, end) of the joint index space: runs the kernel on the part of each item's
 * own indices [0, n_i) that the range covers (PyTorch's multi_tensor_apply, on threads).
 */
export function multiTensorParts({ task, items, starts }: MultiTensorArgs, begin: number, end: number): void {
  const run = TASKS[task] as (args: unknown, begin: number, end: number) => void;
  // the last item that starts at or before `begin` (binary search)
  let first = 0;
  for (let hi = items.length; hi - first > 1; ) {
    const mid = (first + hi) >> 1;
    if (starts[mid] <= begin) first = mid;
    else hi = mid;
  }
  for (let i = first; i < items.length && starts[i] < end; i++) {
    const from = Math.max(begin, starts[i]) - starts[i];
    const to = Math.min(end, starts[i + 1]) - starts[i];
    if (to > from) run(items[i], from, to);
  }
}

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
