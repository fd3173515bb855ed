// The kernels the thread pool can split, by name: the same table on the calling thread
// and in every worker. Each runs on indices [begin, end) of its own index space (output
// rows, or the outermost dim of an elementwise loop), with arguments that cross threads
// unchanged (numbers, strings, arrays on shared memory).

import { stridedSlab } from '../elementwise.js';
import { simdBinarySlab } from '../elementwise-simd.js';
import { layerNormBackwardRows, layerNormRows } from '../layer-norm.js';
import { gemmRows } from '../matmul-rows.js';
import { softmaxBackwardRows, softmaxRows } from '../softmax.js';

export const TASKS = {
  gemmRows,
  stridedSlab,
  simdBinarySlab,
  softmaxRows,
  softmaxBackwardRows,
  layerNormRows,
  layerNormBackwardRows,
} as const;

export type TaskName = keyof typeof TASKS;
export type TaskArgs<T extends TaskName> = Parameters<(typeof TASKS)[T]>[0];
