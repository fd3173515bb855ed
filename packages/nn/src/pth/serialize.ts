// Writing what torch.load reads: the zip layout of torch.save (torch/serialization.py,
// _save), with entries in the order PyTorch 2.x writes them:
//   archive/data.pkl, archive/byteorder ('little'), archive/data/<key> ..., archive/version ('3')
// Each storage is written once, whole, however many tensors view it, so tensors that share
// memory in dinots share it again after torch.load. dinots dtypes map to FloatStorage,
// DoubleStorage, IntStorage and BoolStorage; GPU tensors are copied to the CPU first.

import { CpuStorage, type Storage, type Tensor } from '@dinots/tensor';
import { pickle, type StorageId } from './pickler.js';
import { STORAGE_FOR_DTYPE } from './storage-types.js';
import { writeZip } from './zip.js';

/** The bytes of a torch.save-format file holding `value` (see pickler.ts for how values map). */
export function serializePth(value: unknown): Uint8Array {
  const storages = new Map<Storage, { key: string; bytes: Uint8Array }>();
  const storageOf = (t: Tensor): StorageId => {
    const view = t.device === 'cpu' ? t : t.to('cpu');
    const { name, elementSize } = STORAGE_FOR_DTYPE[view.dtype];
    let known = storages.get(view.storage);
    if (known === undefined) {
      const data = (view.storage as CpuStorage).data;
      known = { key: String(storages.size), bytes: new Uint8Array(data.buffer, data.byteOffset, data.length * elementSize) };
      storages.set(view.storage, known);
    }
    return { typeName: name, key: known.key, numel: view.storage.length, view };
  };
  const data = pickle(value, storageOf);
  const encoder = new TextEncoder();
  return writeZip([
    { name: 'archive/data.pkl', data },
    { name: 'archive/byteorder', data: encoder.encode('little') },
    ...[...storages.values()].map((s) => ({ name: `archive/data/${s.key}`, data: s.bytes })),
    { name: 'archive/version', data: encoder.encode('3\n') },
  ]);
}
