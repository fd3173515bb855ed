// A pool thread (see pool.ts): claims chunks of each task it is sent until none are left
// (runChunks in tasks.ts). A failure is reported on the error port before the chunk
// counter moves, so the caller finds it once it wakes.
// After its first task the thread never returns to its event loop: it takes each next task
// off its port itself (receiveMessageOnPort), polling the doorbell that the caller rings
// after each post for SPIN_MS after a task (as OpenMP runtimes spin before they sleep), then
// sleeping on it in Atomics.wait. A training step sends hundreds of kernels back to back.
// On the benchmark machine's DINO step, a message that waited for the event loop reached
// the worker 75 us after it was posted at the median, the doorbell 36 us; the 90th
// percentile stayed at 0.4-1.8 ms either way (the VM's scheduling), and the step's time did
// not measurably change. A two-chunk split of a 128Ki-element sum went from 279 to 147 us
// (75 us with the caller's poll in pool.ts; 94 us on one thread).

import { type MessagePort, parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { Job } from './pool.js';
import { TASKS, runChunks } from './tasks.js';

const { errors, ready, doorbell } = workerData as { errors: MessagePort; ready: Int32Array; doorbell: Int32Array };

/** How long a worker polls for its next task before it sleeps on its doorbell. */
const SPIN_MS = 2;

function run({ task, args, total, chunks, generation, counters }: Job): void {
  runChunks(TASKS[task] as (args: unknown, begin: number, end: number) => void, args, total, chunks, generation, counters, (error) => {
    errors.postMessage({ message: error instanceof Error ? error.message : String(error) });
  });
}

/**
 * Polls the doorbell for `ms`: true once it has moved past `rung` (a task was posted), false
 * if it has not. Each turn is one Atomics.load, and every 1024th a clock read. Polling the
 * port itself (receiveMessageOnPort and the clock every turn) made half of the worker's
 * garbage in a DINO step, and a young-generation collection of the worker's heap stops
 * the worker wherever it is, in a range the caller waits for included.
 */
function rungWithin(rung: number, ms: number): boolean {
  for (let since = performance.now(), turn = 1; ; turn++) {
    if (Atomics.load(doorbell, 0) !== rung) return true;
    if (turn % 1024 === 0 && performance.now() - since >= ms) return false;
  }
}

parentPort!.once('message', (first: Job) => {
  run(first);
  const port = parentPort as unknown as MessagePort;
  for (;;) {
    // read the doorbell before the port: a post after this read rings past `rung`
    const rung = Atomics.load(doorbell, 0);
    const next = receiveMessageOnPort(port);
    if (next !== undefined) run(next.message as Job);
    else if (!rungWithin(rung, SPIN_MS)) Atomics.wait(doorbell, 0, rung);
  }
});

Atomics.store(ready, 0, 1);
Atomics.notify(ready, 0);
