// A pool thread (see pool.ts): claims chunks of each task it is sent until none are left
// (runChunks in tasks.ts). A failure is reported on the error port before the chunk
// counter moves, so the caller finds it once it wakes.
// After a task the thread keeps polling for the next one for SPIN_MS (as OpenMP runtimes
// spin before they sleep): a training step sends hundreds of small kernels back to back,
// and a message that waits for the worker's event loop to wake costs more than those
// kernels' halves, so without the spin only the large ones would gain from a second thread.

import { type MessagePort, parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { Job } from './pool.js';
import { TASKS, runChunks } from './tasks.js';

const { errors, ready } = workerData as { errors: MessagePort; ready: Int32Array };

/** How long a worker polls for its next task before it goes back to its event loop. */
const SPIN_MS = 0.5;

function run({ task, args, total, chunks, generation, counters }: Job): void {
  runChunks(TASKS[task] as (args: unknown, begin: number, end: number) => void, args, total, chunks, generation, counters, (error) => {
    errors.postMessage({ message: error instanceof Error ? error.message : String(error) });
  });
}

parentPort!.on('message', (first: Job) => {
  run(first);
  const port = parentPort as unknown as MessagePort;
  for (let since = performance.now(); performance.now() - since < SPIN_MS; ) {
    const next = receiveMessageOnPort(port);
    if (next === undefined) continue;
    run(next.message as Job);
    since = performance.now();
  }
});

Atomics.store(ready, 0, 1);
Atomics.notify(ready, 0);
