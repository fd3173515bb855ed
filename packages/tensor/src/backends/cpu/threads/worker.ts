// A pool thread (see pool.ts): runs each task it is sent on its range, then decrements
// the shared pending counter and wakes the waiting caller. A failure is reported on the
// error port before the counter moves, so the caller finds it once it wakes.

import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { TASKS, type TaskName } from './tasks.js';

interface Job {
  readonly task: TaskName;
  readonly args: unknown;
  readonly begin: number;
  readonly end: number;
  readonly pending: Int32Array;
}

const { errors, ready } = workerData as { errors: MessagePort; ready: Int32Array };

parentPort!.on('message', ({ task, args, begin, end, pending }: Job) => {
  try {
    (TASKS[task] as (args: unknown, begin: number, end: number) => void)(args, begin, end);
  } catch (error) {
    errors.postMessage({ message: error instanceof Error ? error.message : String(error) });
  }
  Atomics.sub(pending, 0, 1);
  Atomics.notify(pending, 0);
});

Atomics.store(ready, 0, 1);
Atomics.notify(ready, 0);
