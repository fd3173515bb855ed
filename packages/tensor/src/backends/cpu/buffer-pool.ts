// A pool of the memory of dead tensors, keyed by byte size, so that a training loop
// reuses the same buffers step after step instead of asking the system for new ones.
//
// Fresh memory is expensive where it matters most: every page of a new large buffer
// faults on first touch (measured here at 40-200 us per 4 KiB page in a sandboxed VM,
// which made a 1.6 MB elementwise op 15x slower than on reused memory), and the garbage
// collector has to account for and later free it. JavaScript has no destructor, so a
// buffer comes back through a FinalizationRegistry: once the typed array that a CPU
// storage holds is unreachable, its ArrayBuffer (held strongly by the registry until
// then) goes into the pool. Registry callbacks run between event-loop tasks, so a loop
// that awaits anything once per step (a data loader, a log line) recycles each step.
//
// Safety: only storages this backend allocated are pooled, never arrays a user handed
// in; reuse happens only when the storage's typed array is unreachable, so tensors,
// views and kept `storage.data` references stay valid. A reused buffer is zero-filled unless
// the caller says that it overwrites every element.
//
// Explicit release: dispose() and the end of a scope() hand a storage's buffer back at once
// (releasePooled), so a training loop that runs each step in a scope recycles its memory
// without waiting for the garbage collector or the event loop. The storage then refuses
// every later access (storage.ts), so no live view can see the buffer's next contents.
//
// Bound: the registry holds each buffer strongly until its callback has run, and callbacks
// only run between event-loop tasks. A long synchronous loop (a training loop that never
// awaits, outside scope()) would therefore keep every buffer it ever allocated, dead or
// not, out of the garbage collector's reach. So only `unreclaimedLimit` bytes may wait for
// a callback at any time; past that, new buffers are left to the garbage collector alone,
// as if there were no pool. The limit starts small (a synchronous loop holds at most that
// much dead memory) and adapts to the program: it rises to twice what one batch of
// callbacks has actually handed back, so a loop that yields between steps (the benchmark
// harness, a data loader) recycles whole steps, up to MAX_UNRECLAIMED_BYTES.

import { BYTES_PER_ELEMENT, type DType, type TypedArray, typedArrayFor, typedArrayOver } from '../../dtype.js';

/** Smaller buffers come from the allocator directly: they are cheap, and many. */
const MIN_POOLED_BYTES = 1 << 16;
/** Free memory the pool may hold on to (a ViT-tiny train step at batch 32 allocates about 2 GiB). */
const MAX_POOLED_BYTES = 4 * 2 ** 30;

const free = new Map<string, ArrayBufferLike[]>();
let pooledBytes = 0;

/** Registered buffers whose typed array may have died but whose callback has not run yet: the bound's range and its current value. */
const MIN_UNRECLAIMED_BYTES = 16 * 2 ** 20;
const MAX_UNRECLAIMED_BYTES = 2 ** 30;
let unreclaimedLimit = MIN_UNRECLAIMED_BYTES;
let unreclaimedBytes = 0;
/** Bytes handed back by the finalizer callbacks running now (they run in batches, between tasks). */
let reclaimedInBatch = 0;

/** Running totals since the process started: all bytes handed out, and those of them on reused memory. */
const allocationStats = { allocatedBytes: 0, reusedBytes: 0 };

const keyOf = (bytes: number, shared: boolean) => `${shared ? 'shared' : 'plain'}:${bytes}`;

const registry = new FinalizationRegistry<ArrayBufferLike>((buffer) => {
  unreclaimedBytes -= buffer.byteLength;
  if (reclaimedInBatch === 0) {
    // after this batch of callbacks: what came back shows how much a step may leave to them
    queueMicrotask(() => {
      unreclaimedLimit = Math.min(MAX_UNRECLAIMED_BYTES, Math.max(unreclaimedLimit, 2 * reclaimedInBatch));
      reclaimedInBatch = 0;
    });
  }
  reclaimedInBatch += buffer.byteLength;
  pool(buffer);
});

/**
 * An array of `length` elements, on reused memory where the pool has a buffer of that size.
 * It is zero-filled unless `zeroed` is false (then reused memory keeps its old contents).
 */
export function allocatePooled(dtype: DType, length: number, shared: boolean, zeroed = true): TypedArray {
  const bytes = length * BYTES_PER_ELEMENT[dtype];
  allocationStats.allocatedBytes += bytes;
  if (bytes < MIN_POOLED_BYTES) return typedArrayFor(dtype, length, shared);
  const buffer = free.get(keyOf(bytes, shared))?.pop();
  let data: TypedArray;
  if (buffer === undefined) {
    data = typedArrayFor(dtype, length, shared);
  } else {
    pooledBytes -= bytes;
    allocationStats.reusedBytes += bytes;
    data = typedArrayOver(dtype, buffer);
    if (zeroed) data.fill(0);
  }
  if (unreclaimedBytes + bytes <= unreclaimedLimit) {
    registry.register(data, data.buffer, data);
    unreclaimedBytes += bytes;
  }
  return data;
}

/** Puts a buffer into the free lists (unless the pool is full). */
function pool(buffer: ArrayBufferLike): void {
  if (pooledBytes + buffer.byteLength > MAX_POOLED_BYTES) return;
  const key = keyOf(buffer.byteLength, buffer instanceof SharedArrayBuffer);
  let list = free.get(key);
  if (list === undefined) free.set(key, (list = []));
  list.push(buffer);
  pooledBytes += buffer.byteLength;
}

/**
 * Returns an array that allocatePooled handed out to the pool now, instead of when the
 * garbage collector finds it unreachable. The caller guarantees that nothing reads or
 * writes `data` afterwards (a disposed storage refuses access).
 */
export function releasePooled(data: TypedArray): void {
  if (data.byteLength < MIN_POOLED_BYTES) return;
  if (registry.unregister(data)) unreclaimedBytes -= data.byteLength;
  pool(data.buffer);
}

/**
 * CPU memory statistics: totals since the start (bytes handed out, bytes of those on reused
 * memory), free bytes pooled now, and bytes still waiting for their finalizer with their
 * current bound (see the header).
 */
export function cpuMemoryStats(): { allocatedBytes: number; reusedBytes: number; pooledBytes: number; unreclaimedBytes: number; unreclaimedLimit: number } {
  return { ...allocationStats, pooledBytes, unreclaimedBytes, unreclaimedLimit };
}

/**
 * Drops every free buffer the pool holds, so that the garbage collector can return its
 * memory to the system (torch.cuda.empty_cache's counterpart). Live tensors are untouched.
 */
export function cpuEmptyCache(): void {
  free.clear();
  pooledBytes = 0;
}
