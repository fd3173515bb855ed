// A pool of worker threads that split one kernel's work by ranges, synchronously.
//
// Kernels are synchronous (an op returns its result), so the calling thread splits the
// task's index space into one contiguous range per thread, wakes each worker with
// postMessage, and every thread, the calling one included, claims ranges from a shared
// counter until none are left (runChunks in tasks.ts); then the caller blocks in
// Atomics.wait until a shared counter of unfinished ranges reaches zero. On an idle machine
// each thread claims one range, as a fixed assignment would give it; a worker that wakes
// late (on a busy machine, a whole scheduler time slice) finds its range already done by
// a thread that was free, instead of keeping the caller waiting. The ranges depend only
// on the total and the thread count, never on which thread runs one.
// The data never moves: every array a task writes, and every large one it
// reads, lives on a SharedArrayBuffer (storage.ts allocates large storages there once
// this module has loaded where threads exist). A task crosses as its index in TASKS
// (tasks.ts), which both sides load, so only plain parameters and shared arrays cross the
// thread boundary.
//
// Threads exist only under Node (worker_threads, reached through process.getBuiltinModule
// so that bundlers for browsers see no Node import); elsewhere everything runs on the
// calling thread. Workers are unref'd: an idle pool never keeps a process alive.

import type { MessagePort, Worker } from 'node:worker_threads';
import { type TypedArray, dtypeOfArray } from '../../../dtype.js';
import { sharedMemoryThreshold } from '../../../storage.js';
import { allocatePooled } from '../buffer-pool.js';
import { CHUNK_BITS, type Task, runChunks, taskIndex } from './tasks.js';

/** Storages of at least this many elements go on shared memory when threads are available. */
const SHARED_STORAGE_ELEMENTS = 4096;

interface NodeThreads {
  readonly Worker: typeof Worker;
  readonly MessageChannel: typeof import('node:worker_threads').MessageChannel;
  readonly receiveMessageOnPort: typeof import('node:worker_threads').receiveMessageOnPort;
  readonly cores: number;
}

const node: NodeThreads | null = loadNodeThreads();

function loadNodeThreads(): NodeThreads | null {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  if (typeof proc?.getBuiltinModule !== 'function' || typeof SharedArrayBuffer === 'undefined') return null;
  const threads = proc.getBuiltinModule('node:worker_threads') as typeof import('node:worker_threads');
  const os = proc.getBuiltinModule('node:os') as typeof import('node:os');
  if (!threads.isMainThread) return null; // a worker runs its share on its own thread, never a nested pool
  return { Worker: threads.Worker, MessageChannel: threads.MessageChannel, receiveMessageOnPort: threads.receiveMessageOnPort, cores: os.availableParallelism() };
}

if (node !== null) sharedMemoryThreshold.elements = SHARED_STORAGE_ELEMENTS;

interface PoolWorker {
  readonly worker: Worker;
  /** Where the worker reports a failed task, read synchronously after the wait. */
  readonly errors: MessagePort;
}

let threads = node?.cores ?? 1;
const workers: PoolWorker[] = [];
/** [0]: chunks of the current task not yet finished; [1]: the claim word (see runChunks in tasks.ts). */
const counters = node === null ? new Int32Array(2) : new Int32Array(new SharedArrayBuffer(8));
/** Numbers the tasks the pool runs, modulo what fits above CHUNK_BITS in the claim word. */
let generation = 0;

/** The number of threads kernels may use (the calling thread included). */
export function getNumThreads(): number {
  return threads;
}

/** Sets the number of threads kernels use (default: the number of cores); 1 runs everything on the calling thread. */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setNumThreads: expected a positive integer, got ${n}`);
  threads = node === null ? 1 : n;
  while (workers.length > threads - 1) void workers.pop()!.worker.terminate();
}

/**
 * A strided view's elements on shared memory: the same array where it already is there
 * (or threads are unavailable), else a copy of just the span the view covers, with the
 * view's offset moved into the copy. Lets worker threads read arrays a user handed in.
 * The copy comes from the buffer pool, so a loop that reads the same user array step
 * after step pays a memcpy, not fresh pages (a fresh 4 MB SharedArrayBuffer faults in
 * about 1000 pages, slower than the matrix product that reads it).
 */
export function onSharedMemory(data: TypedArray, offset: number, shape: readonly number[], strides: readonly number[]): { data: TypedArray; offset: number } {
  if (node === null || threads === 1 || data.buffer instanceof SharedArrayBuffer) return { data, offset };
  let first = offset;
  let last = offset;
  shape.forEach((n, d) => {
    if (strides[d] < 0) first += (n - 1) * strides[d];
    else last += (n - 1) * strides[d];
  });
  const copy = allocatePooled(dtypeOfArray(data), last + 1 - first, true, false);
  copy.set(data.subarray(first, last + 1));
  return { data: copy, offset: offset - first };
}

/** Whether every typed array in `args` (searched through nested plain objects) is on shared memory. */
function allShared(args: object): boolean {
  return Object.values(args).every((v) =>
    ArrayBuffer.isView(v) ? v.buffer instanceof SharedArrayBuffer : typeof v !== 'object' || v === null || allShared(v),
  );
}

/**
 * Runs task(args, begin, end) over [0, total) split into at most getNumThreads()
 * contiguous ranges of at least `grain` indices each, which the threads claim as they
 * become free. Falls back to one call on this thread when there is one thread, too
 * little work, or an array in `args` that is not on shared memory (a worker would only
 * see a copy).
 */
export function parallelFor<T extends Task>(task: T, args: Parameters<T>[0], total: number, grain: number): void {
  const run = task as (args: Parameters<T>[0], begin: number, end: number) => void;
  const index = taskIndex(task);
  const parts = Math.min(threads, Math.floor(total / Math.max(grain, 1)), 2 ** CHUNK_BITS - 1);
  if (parts <= 1 || node === null || !allShared(args)) {
    run(args, 0, total);
    return;
  }
  while (workers.length < parts - 1) {
    const worker = startWorker(node);
    if (worker === null) {
      // No usable worker here (e.g. a bundle without worker.js): run single-threaded from now on.
      process.emitWarning('dinots: worker threads failed to start; CPU kernels run on one thread');
      setNumThreads(1);
      run(args, 0, total);
      return;
    }
    workers.push(worker);
  }
  generation = (generation + 1) % 2 ** (31 - CHUNK_BITS);
  Atomics.store(counters, 0, parts);
  Atomics.store(counters, 1, generation << CHUNK_BITS);
  for (let p = 1; p < parts; p++) workers[p - 1].worker.postMessage({ task: index, args, total, chunks: parts, generation, counters });
  let failure: unknown = null;
  runChunks(run, args, total, parts, generation, counters, (error) => {
    failure ??= error;
  });
  for (let left = Atomics.load(counters, 0); left !== 0; left = Atomics.load(counters, 0)) Atomics.wait(counters, 0, left);
  // A worker may have failed on more than one range: read every report, so none is left for the next task.
  for (let p = 1; p < parts; p++) {
    for (let report = node.receiveMessageOnPort(workers[p - 1].errors); report !== undefined; report = node.receiveMessageOnPort(workers[p - 1].errors)) {
      failure ??= new Error(`${task.name}: a worker thread failed: ${String(report.message)}`);
    }
  }
  if (failure !== null) throw failure;
}

/** Workers get this long to load their modules and report ready. */
const STARTUP_TIMEOUT_MS = 10_000;

/**
 * A new worker, once it has reported ready (its message handler installed), or null if
 * it could not start. Waiting here means a worker that dies while loading never leaves
 * the pool waiting forever on a task it will not run.
 */
function startWorker(threads: NodeThreads): PoolWorker | null {
  const { port1, port2 } = new threads.MessageChannel();
  const ready = new Int32Array(new SharedArrayBuffer(4));
  let worker: Worker;
  try {
    worker = new threads.Worker(new URL('./worker.js', import.meta.url), { workerData: { errors: port2, ready }, transferList: [port2] });
  } catch {
    return null;
  }
  worker.unref();
  port1.unref();
  Atomics.wait(ready, 0, 0, STARTUP_TIMEOUT_MS);
  if (Atomics.load(ready, 0) !== 1) {
    worker.on('error', () => {}); // reported by the warning above; keep it from being an uncaught error
    void worker.terminate();
    return null;
  }
  const entry = { worker, errors: port1 };
  // A worker that dies later (out of memory, terminated) leaves the pool; the next split starts a new one.
  const drop = () => {
    const at = workers.indexOf(entry);
    if (at >= 0) workers.splice(at, 1);
  };
  worker.on('error', drop);
  worker.on('exit', drop);
  return entry;
}
