// GPU storage: one float32 texture on the device, owned by the tensors that view it.
//
// Every dtype is held as float32 on the device (int32 and bool values are exact up to
// 2^24); reads convert back to the tensor's typed array. A new storage holds no texture
// until a kernel writes it: `null` means "all zeros", which every kernel input accepts
// by materialising zeros first. A write that covers the whole storage replaces its
// texture; a write through a view (in-place ops) renders a new texture that merges the
// old values with the written ones, since a GL kernel cannot read and write one texture.

import { Storage } from '../../storage.js';
import type { DType } from '../../dtype.js';
import { trackAllocation, trackRelease } from '../../memory.js';
import { type DeviceArray, release } from './context.js';

/** What the finaliser needs to free a storage the program forgot to dispose. */
interface Holder {
  array: DeviceArray | null;
  length: number;
}

const finaliser = new FinalizationRegistry<Holder>((holder) => {
  if (holder.array !== null) release(holder.array);
  trackRelease(holder.length, 'collected');
});

export class GpuStorage extends Storage {
  private readonly holder: Holder;
  private disposed = false;

  constructor(dtype: DType, length: number, array: DeviceArray | null = null) {
    super('gpu', dtype, length);
    this.holder = { array, length };
    trackAllocation(this);
    finaliser.register(this, this.holder, this);
  }

  /** The device array, or null while the storage is all zeros. */
  array(op: string): DeviceArray | null {
    if (this.disposed) throw new Error(`${op}: a GPU tensor used here was disposed (its storage of ${this.length} elements is freed)`);
    return this.holder.array;
  }

  /** Makes `array` the storage's contents, freeing the previous texture. */
  replace(array: DeviceArray): void {
    if (this.disposed) throw new Error(`gpu: cannot write into a disposed GPU tensor (storage of ${this.length} elements)`);
    const old = this.holder.array;
    this.holder.array = array;
    if (old !== null && old !== array) release(old);
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  override dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    finaliser.unregister(this);
    if (this.holder.array !== null) release(this.holder.array);
    this.holder.array = null;
    trackRelease(this.length, 'disposed');
  }
}
