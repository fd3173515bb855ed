// Storage: the flat memory behind one or more tensors, plus its version counter.
//
// A tensor is a view {shape, strides, offset} over a Storage; views made by
// transpose, slice, expand, ... share it. Every in-place op bumps `version`, and
// autograd records the version of each tensor it saves, so backward can refuse
// to use a saved value that was overwritten since (as PyTorch's version counter).

import { type DType, type TypedArray, typedArrayFor, dtypeOfArray } from './dtype.js';
import { releasePooled } from './backends/cpu/buffer-pool.js';
import { trackCpuAllocation, trackCpuRelease } from './memory.js';

export type Device = 'cpu' | 'gpu';

export abstract class Storage {
  /** Incremented by every in-place write through any view of this storage. */
  version = 0;

  constructor(readonly device: Device, readonly dtype: DType, readonly length: number) {}

  bumpVersion(): void {
    this.version++;
  }

  /** Frees the storage's memory now; the storage must not be used afterwards. */
  abstract dispose(): void;
}

/**
 * CPU storage: a typed array in host memory (a SharedArrayBuffer when worker threads may
 * read it). Garbage collected like any JavaScript object; dispose(), or the end of the
 * scope() that created it, frees it at once: a `pooled` array (one the CPU backend took
 * from its buffer pool) goes straight back there for the next op, and every later access
 * to the storage throws instead of reading memory that another tensor now owns.
 */
export class CpuStorage extends Storage {
  private array: TypedArray | null;
  /** Dies with this storage; memory() counts the storage until then (see trackCpuAllocation). */
  private readonly liveness = {};

  constructor(data: TypedArray, private readonly pooled = false) {
    super('cpu', dtypeOfArray(data), data.length);
    this.array = data;
    trackCpuAllocation(this, this.liveness, data.byteLength);
  }

  /** The elements; throws once the storage was disposed. */
  get data(): TypedArray {
    if (this.array === null) {
      throw new Error(`a CPU tensor was used after it was disposed (dispose(), or the end of the scope() that created it): its storage of ${this.length} ${this.dtype} elements is freed; keep() it or return it from the scope`);
    }
    return this.array;
  }

  get isDisposed(): boolean {
    return this.array === null;
  }

  override dispose(): void {
    if (this.array === null) return;
    trackCpuRelease(this.liveness, this.array.byteLength);
    if (this.pooled) releasePooled(this.array);
    this.array = null;
  }

  /** A zero-filled storage; large ones live in shared memory so that a worker pool can use them. */
  static allocate(dtype: DType, length: number): CpuStorage {
    return new CpuStorage(hostArray(dtype, length));
  }
}

/**
 * A zero-filled host array for a new tensor: on a SharedArrayBuffer once it is large
 * enough for the worker pool to split, so that kernels never copy it to share it.
 */
export function hostArray(dtype: DType, length: number): TypedArray {
  return typedArrayFor(dtype, length, length >= sharedMemoryThreshold.elements);
}

/**
 * Storages of at least this many elements are allocated on a SharedArrayBuffer so
 * that the CPU backend's worker threads can read and write them without copies.
 * The thread pool lowers it when it starts; with no pool everything is ordinary memory.
 */
export const sharedMemoryThreshold = { elements: Number.POSITIVE_INFINITY };
