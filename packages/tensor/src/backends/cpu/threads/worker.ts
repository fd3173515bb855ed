// A pool thread (see pool.ts): claims chunks of each task it is sent until none are left
// (runChunks in tasks.ts). A failure is reported on the error port before the chunk
// counter moves, so the caller finds it once it wakes.

import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import type { Job } from './pool.js';
import { TASKS, runChunks } from './tasks.js';

const { errors, ready } = workerData as { errors: MessagePort; ready: Int32Array };

parentPort!.on('message', ({ task, args, total, chunks, generation, counters }: Job) => {
  const run = TASKS[task] as (args: unknown, begin: number, end: number) => void;
  runChunks(run, args, total, chunks, generation, counters, (error) => {
    errors.postMessage({ message: error instanceof Error ? error.message : String(error) });
  });
});

Atomics.store(ready, 0, 1);
Atomics.notify(ready, 0);
