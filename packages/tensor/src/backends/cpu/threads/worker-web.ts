// A pool thread in a browser (see pool.ts): a module Web Worker that claims chunks of each
// task it is sent until none are left (runChunks in tasks.ts), like worker.ts does under
// Node. Its first message is the shared word where it counts failed ranges (read
// synchronously by the caller after the wait); the messages themselves go to the console.

import type { Job } from './pool.js';
import { TASKS, runChunks } from './tasks.js';

interface WorkerScope {
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  postMessage(message: unknown): void;
}

const scope = globalThis as unknown as WorkerScope;
let failed: Int32Array | null = null;

scope.addEventListener('message', ({ data }) => {
  if (failed === null) {
    failed = (data as { failed: Int32Array }).failed;
    return;
  }
  const { task, args, total, chunks, generation, counters } = data as Job;
  const run = TASKS[task] as (args: unknown, begin: number, end: number) => void;
  runChunks(run, args, total, chunks, generation, counters, (error) => {
    console.error(`dinots: ${run.name} failed in a pool worker:`, error);
    Atomics.add(failed!, 0, 1);
  });
});

scope.postMessage('ready');
