// Storage: the flat memory behind one or more tensors, plus its version counter.
//
// A tensor is a view {shape, strides, offset} over a Storage; views made by
// transpose, slice, expand, ... share it. Every in-place op bumps `version`, and
// autograd records the version of each tensor it saves, so backward can refuse
// to use a saved value that was overwritten since (as PyTorch's version counter).

import { type DType, type TypedArray, typedArrayFor, dtypeOfArray } from './dtype.js';

export type Device = 'cpu' | 'gpu';

export abstract class Storage {
  /** Incremented by every in-place write through any view of this storage. */
  version = 0;

  constructor(readonly device: Device, readonly dtype: DType, readonly length: number) {}

  bumpVersion(): void {
    this.version++;
  }

  /** Frees device memory (GPU storages); a no-op for garbage-collected CPU memory. */
  dispose(): void {}
}

/** CPU storage: a typed array in host memory (a SharedArrayBuffer when worker threads may read it). */
export class CpuStorage extends Storage {
  constructor(readonly data: TypedArray) {
    super('cpu', dtypeOfArray(data), data.length);
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
