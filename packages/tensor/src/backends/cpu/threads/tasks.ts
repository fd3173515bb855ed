// The kernels the thread pool can split, by name: the same table on the calling thread
// and in every worker. Each runs on indices [begin, end) of its own index space (output
// rows or columns, or the outermost dim of an elementwise loop), with arguments that
// cross threads unchanged (numbers, strings, arrays on shared memory).

import { stridedSlab } from '../elementwise.js';
import { layerNormRows } from '../layer-norm.js';
import { gemmPart } from '../matmul-part.js';
import { softmaxRows } from '../softmax.js';

export const TASKS = {
  gemmPart,
  stridedSlab,
  softmaxRows,
  layerNormRows,
} as const;

export type TaskName = keyof typeof TASKS;
export type TaskArgs<T extends TaskName> = Parameters<(typeof TASKS)[T]>[0];
