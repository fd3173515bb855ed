// A pool of worker threads that split one kernel's work by ranges, synchronously.
//
// Kernels are synchronous (an op returns its result), so the calling thread splits the
// task's index space into one contiguous range per thread, wakes each worker (a
// postMessage, and under Node a doorbell the worker sleeps on, worker.ts), and every
// thread, the calling one included, claims ranges from a shared
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
// Threads exist under Node (worker_threads, reached through process.getBuiltinModule so
// that bundlers for browsers see no Node import) and in browsers on pages that are
// cross-origin isolated (COOP/COEP headers; only then does SharedArrayBuffer exist:
// https://developer.mozilla.org/en-US/docs/Web/API/Window/crossOriginIsolated), as
// module Web Workers running worker-web.ts. Elsewhere everything runs on the calling
// thread, and a browser says so once in the console. Two browser differences:
// - a browser's main thread may not block in Atomics.wait, so there the caller spins on
//   the chunk counter until the workers' last ranges finish (as Emscripten's pthreads do
//   on the main thread); it never waits for a range nobody claimed, since it claims
//   ranges itself;
// - a Web Worker starts asynchronously, so workers join the pool once they report ready,
//   and kernels run on the threads that are ready (on one until the first ones are).
// Node workers are unref'd: an idle pool never keeps a process alive.

import type { MessagePort, Worker } from 'node:worker_threads';
import { type TypedArray, dtypeOfArray } from '../../../dtype.js';
import { sharedMemoryThreshold } from '../../../storage.js';
import { allocatePooled } from '../buffer-pool.js';
import { CHUNK_BITS, type Task, multiTensorParts, runChunks, taskIndex } from './tasks.js';

/** Storages of at least this many elements go on shared memory when threads are available. */
const SHARED_STORAGE_ELEMENTS = 4096;

/** What a task message carries to a worker (see worker.ts and worker-web.ts). */
export interface Job {
  /** The task's index in TASKS (tasks.ts), which both sides load. */
  readonly task: number;
  readonly args: unknown;
  readonly total: number;
  readonly chunks: number;
  readonly generation: number;
  /** [0]: chunks not yet finished; [1]: the claim word (see runChunks in tasks.ts). */
  readonly counters: Int32Array;
}

/** The name a pool's Web Worker runs under: dinots loaded there never starts a pool of its own. */
export const WEB_WORKER_NAME = 'dinots-pool';

interface PoolWorker {
  post(job: Job): void;
  /** The messages of the tasks that failed on this worker since the last call. */
  failures(): string[];
  terminate(): void;
}

/** Where threads come from: Node's worker_threads or the browser's Web Workers. */
interface ThreadHost {
  readonly cores: number;
  /**
   * Starts a worker. Node: returns it once it is ready, or null if it could not start.
   * Browser: returns at once, and the worker joins `workers` when it reports ready.
   */
  start(): PoolWorker | null | 'pending';
  /** Blocks until counters[0], the chunks not yet finished, is zero. */
  waitDone(counters: Int32Array): void;
}

const host: ThreadHost | null = nodeHost() ?? webHost();

if (host !== null) sharedMemoryThreshold.elements = SHARED_STORAGE_ELEMENTS;

let threads = host?.cores ?? 1;
const workers: PoolWorker[] = [];
/** Browser: workers started and not yet ready. */
let starting = 0;
/** [0]: chunks of the current task not yet finished; [1]: the claim word (see runChunks in tasks.ts). */
const counters = host === null ? new Int32Array(2) : new Int32Array(new SharedArrayBuffer(8));
/** Numbers the tasks the pool runs, modulo what fits above CHUNK_BITS in the claim word. */
let generation = 0;

/** How many workers the pool holds, parked ones included (for tests; not exported from the package). */
export function poolWorkerCount(): number {
  return workers.length;
}

/** The number of threads kernels may use (the calling thread included). */
export function getNumThreads(): number {
  return threads;
}

/**
 * Sets the number of threads kernels use (default: the number of cores); 1 runs everything
 * on the calling thread. Workers beyond the new count are parked, not ended, as an OpenMP
 * runtime keeps its threads: they sleep on their doorbell (a few MB of memory each, no CPU),
 * and raising the count again wakes them with their compiled code instead of starting cold
 * ones (tens of ms each, then a JIT warm-up of their own).
 */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setNumThreads: expected a positive integer, got ${n}`);
  threads = host === null ? 1 : n;
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
  if (host === null || threads === 1 || data.buffer instanceof SharedArrayBuffer) return { data, offset };
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
  let parts = Math.min(threads, Math.floor(total / Math.max(grain, 1)), 2 ** CHUNK_BITS - 1);
  if (parts <= 1 || host === null || !allShared(args)) {
    run(args, 0, total);
    return;
  }
  while (workers.length + starting < parts - 1) {
    const worker = host.start();
    if (worker === null) {
      // No usable worker here (e.g. a bundle without worker.js): run single-threaded from now on.
      warn('dinots: worker threads failed to start; CPU kernels run on one thread');
      setNumThreads(1);
      run(args, 0, total);
      return;
    }
    if (worker === 'pending') starting++;
    else workers.push(worker);
  }
  parts = Math.min(parts, workers.length + 1);
  if (parts <= 1) {
    run(args, 0, total);
    return;
  }
  generation = (generation + 1) % 2 ** (31 - CHUNK_BITS);
  Atomics.store(counters, 0, parts);
  Atomics.store(counters, 1, generation << CHUNK_BITS);
  for (let p = 1; p < parts; p++) workers[p - 1].post({ task: index, args, total, chunks: parts, generation, counters });
  let failure: unknown = null;
  runChunks(run, args, total, parts, generation, counters, (error) => {
    failure ??= error;
  });
  host.waitDone(counters);
  // A worker may have failed on more than one range: read every report, so none is left for the next task.
  for (let p = 1; p < parts; p++) {
    for (const message of workers[p - 1].failures()) failure ??= new Error(`${task.name}: a worker thread failed: ${message}`);
  }
  if (failure !== null) throw failure;
}

/**
 * Runs task(items[i], 0, sizes[i]) for every i in one split over threads, as PyTorch's
 * foreach kernels run one kernel over a list of tensors (multi_tensor_apply): the items'
 * index spaces are laid end to end and cut into ranges of at least `grain` indices, and each
 * range runs the parts of the items it covers (multiTensorParts in tasks.ts). A model's many
 * small tensors (biases, LayerNorm weights) then share one hand-off instead of one call each
 * on the calling thread. Items with an array that is not on shared memory (small storages,
 * arrays a user handed in) run on this thread first: a worker would only see a copy.
 */
export function parallelForEach<T extends Task>(task: T, items: readonly Parameters<T>[0][], sizes: readonly number[], grain: number): void {
  const run = task as (args: Parameters<T>[0], begin: number, end: number) => void;
  const shared: Parameters<T>[0][] = [];
  const starts = [0];
  items.forEach((item, i) => {
    if (host === null || threads === 1 || !allShared(item as object)) {
      run(item, 0, sizes[i]);
      return;
    }
    shared.push(item);
    starts.push(starts[starts.length - 1] + sizes[i]);
  });
  if (shared.length > 0) parallelFor(multiTensorParts, { task: taskIndex(task), items: shared, starts }, starts[shared.length], grain);
}

function warn(message: string): void {
  const proc = (globalThis as { process?: { emitWarning?: (m: string) => void } }).process;
  if (typeof proc?.emitWarning === 'function') proc.emitWarning(message);
  else console.warn(message);
}

/** How long the calling thread polls for the workers' last ranges before it sleeps (Node). */
const WAIT_SPIN_MS = 1;

/** Workers get this long to load their modules and report ready. */
const STARTUP_TIMEOUT_MS = 10_000;

/** Node's worker_threads, on Node's main thread (a worker runs its share on its own thread, never a nested pool). */
function nodeHost(): ThreadHost | null {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  if (typeof proc?.getBuiltinModule !== 'function' || typeof SharedArrayBuffer === 'undefined') return null;
  const node = proc.getBuiltinModule('node:worker_threads') as typeof import('node:worker_threads');
  const os = proc.getBuiltinModule('node:os') as typeof import('node:os');
  if (!node.isMainThread) return null;
  return {
    cores: os.availableParallelism(),
    start: () => startNodeWorker(node),
    waitDone(counters) {
      // poll a while before sleeping: the workers' last ranges usually end within it, and a
      // thread woken from Atomics.wait may take a scheduler's wake-up time to run again
      for (const since = performance.now(); Atomics.load(counters, 0) !== 0 && performance.now() - since < WAIT_SPIN_MS; );
      for (let left = Atomics.load(counters, 0); left !== 0; left = Atomics.load(counters, 0)) Atomics.wait(counters, 0, left);
    },
  };
}

/**
 * A new Node worker, once it has reported ready (its message handler installed), or null
 * if it could not start. Waiting here means a worker that dies while loading never leaves
 * the pool waiting forever on a task it will not run.
 */
function startNodeWorker(node: typeof import('node:worker_threads')): PoolWorker | null {
  const { port1, port2 } = new node.MessageChannel();
  const ready = new Int32Array(new SharedArrayBuffer(4));
  /** Rung after every post: the worker sleeps on it between tasks (worker.ts). */
  const doorbell = new Int32Array(new SharedArrayBuffer(4));
  let worker: Worker;
  try {
    worker = new node.Worker(new URL('./worker.js', import.meta.url), { workerData: { errors: port2, ready, doorbell }, transferList: [port2] });
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
  const errors: MessagePort = port1;
  const entry: PoolWorker = {
    post(job) {
      worker.postMessage(job);
      Atomics.add(doorbell, 0, 1);
      Atomics.notify(doorbell, 0);
    },
    failures() {
      const messages: string[] = [];
      for (let report = node.receiveMessageOnPort(errors); report !== undefined; report = node.receiveMessageOnPort(errors)) messages.push(String(report.message.message));
      return messages;
    },
    terminate: () => void worker.terminate(),
  };
  // A worker that dies later (out of memory, terminated) leaves the pool; the next split starts a new one.
  const drop = () => {
    const at = workers.indexOf(entry);
    if (at >= 0) workers.splice(at, 1);
  };
  worker.on('error', drop);
  worker.on('exit', drop);
  return entry;
}

/** The browser's globals the Web Worker pool uses. */
interface WebGlobals {
  Worker?: new (url: URL, options: { type: 'module'; name: string }) => WebWorker;
  crossOriginIsolated?: boolean;
  name?: string;
  navigator?: { hardwareConcurrency?: number };
  document?: unknown;
}

interface WebWorker {
  postMessage(message: unknown): void;
  terminate(): void;
  addEventListener(type: 'message' | 'error', listener: (event: { data?: unknown; message?: string }) => void): void;
}

/** Web Workers, on a cross-origin isolated page (not inside a pool worker); else null, after saying why in the console. */
function webHost(): ThreadHost | null {
  const web = globalThis as WebGlobals;
  if (typeof web.Worker !== 'function' || web.name === WEB_WORKER_NAME || typeof web.navigator !== 'object') return null;
  if (web.crossOriginIsolated !== true || typeof SharedArrayBuffer === 'undefined') {
    console.info(
      'dinots: this page is not cross-origin isolated (serve it with the headers Cross-Origin-Opener-Policy: same-origin and ' +
        'Cross-Origin-Embedder-Policy: require-corp), so SharedArrayBuffer is unavailable and CPU kernels run on one thread',
    );
    return null;
  }
  // A window's thread may not block; a worker's may (https://tc39.es/ecma262/#sec-agentcansuspend).
  const canBlock = web.document === undefined;
  return {
    cores: web.navigator.hardwareConcurrency ?? 1,
    start: () => startWebWorker(web.Worker!),
    waitDone(counters) {
      if (canBlock) {
        for (let left = Atomics.load(counters, 0); left !== 0; left = Atomics.load(counters, 0)) Atomics.wait(counters, 0, left);
      } else {
        while (Atomics.load(counters, 0) !== 0);
      }
    },
  };
}

/**
 * Starts a module Web Worker on worker-web.js beside this file (a bundle names it so:
 * see web/build.mjs); it joins the pool when it reports ready. A task that fails on it
 * counts in a shared word, read synchronously after the wait; the message itself arrives
 * later, and goes to the console.
 */
function startWebWorker(WorkerClass: NonNullable<WebGlobals['Worker']>): 'pending' {
  const failed = new Int32Array(new SharedArrayBuffer(4));
  const worker = new WorkerClass(new URL('./worker-web.js', import.meta.url), { type: 'module', name: WEB_WORKER_NAME });
  const entry: PoolWorker = {
    post: (job) => worker.postMessage(job),
    failures() {
      const n = Atomics.exchange(failed, 0, 0);
      return n === 0 ? [] : [`${n} range(s) threw in a Web Worker (its message is in the console)`];
    },
    terminate: () => worker.terminate(),
  };
  let ready = false;
  worker.addEventListener('message', (event) => {
    if (event.data !== 'ready' || ready) return;
    ready = true;
    starting--;
    if (workers.length < threads - 1) workers.push(entry);
    else worker.terminate();
  });
  worker.addEventListener('error', (event) => {
    if (!ready) {
      starting--;
      warn(`dinots: a Web Worker of the CPU thread pool failed to start (${event.message ?? 'no message'}); CPU kernels run on one thread`);
      setNumThreads(1);
    }
    const at = workers.indexOf(entry);
    if (at >= 0) workers.splice(at, 1);
  });
  worker.postMessage({ failed });
  return 'pending';
}
