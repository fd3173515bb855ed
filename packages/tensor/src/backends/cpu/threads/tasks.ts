// The kernels the thread pool can split, by name: the same table on the calling thread
// and in every worker. Each runs on indices [begin, end) of its own index space, with
// arguments that cross threads unchanged (numbers, strings, arrays on shared memory).

import { gemmRows } from '../matmul-rows.js';

export const TASKS = {
  gemmRows,
} as const;

export type TaskName = keyof typeof TASKS;
export type TaskArgs<T extends TaskName> = Parameters<(typeof TASKS)[T]>[0];
