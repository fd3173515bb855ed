// Reading what torch.save writes (PyTorch >= 1.6, torch/serialization.py: _save and _load):
// a zip archive under one top folder holding
//   <archive>/data.pkl     the pickled object; each tensor is a call
//                          torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
//                          requires_grad, backward_hooks) whose storage is a persistent id
//                          ('storage', torch.FloatStorage, '<key>', '<location>', numel)
//   <archive>/data/<key>   the raw little-endian bytes of each storage
//   <archive>/version, <archive>/byteorder (PyTorch >= 2.1; absent means little-endian)
// The pickle runs first, on the weights-only unpickler with the allow-list below, which
// mirrors torch.load(weights_only=True) (torch/_weights_only_unpickler.py,
// _get_allowed_globals) plus argparse.Namespace, kept as plain data so that official DINO
// checkpoints (whose `args` is a Namespace) load. Only once the whole pickle has passed,
// and every view has been checked against the size of its storage, are storages read and
// tensors made. Tensors that share a storage share memory here too. Storages saved from a
// GPU ('cuda:0') load onto the CPU.

import { CpuStorage, Tensor, formatShape } from '@dinots/tensor';
import { type InflateRaw, readZipDirectory, readZipEntry } from './zip.js';
import { STORAGE_TYPES } from './storage-types.js';
import { unpickle } from './unpickler.js';
import { PyDict, type PyGlobal, PyInstance, PyStorage, PyTensor, PyTuple, type PthValue, type PyValue, toJs } from './values.js';

export interface ParsePthOptions {
  /** Inflates deflated zip entries (torch.save stores entries uncompressed; loadPth passes node:zlib's). */
  inflateRaw?: InflateRaw;
}

function fail(message: string): never {
  throw new Error(`loadPth: ${message}`);
}

const isCount = (v: PyValue): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function ints(v: PyValue, what: string): number[] {
  if (!(v instanceof PyTuple) || !v.items.every(isCount)) fail(`${what} is not a tuple of non-negative ints`);
  return [...(v as PyTuple).items] as number[];
}

/** torch's set_(storage, offset, size, stride), after checking that the view stays inside the storage. */
function rebuildTensor(storage: PyValue, offset: PyValue, size: PyValue, stride: PyValue): PyTensor {
  if (!(storage instanceof PyStorage)) fail('a tensor is rebuilt from something that is not a storage');
  const { key, numel } = storage as PyStorage;
  const shape = ints(size, 'size');
  const strides = ints(stride, 'stride');
  if (!isCount(offset)) fail(`storage offset ${String(offset)} is not a non-negative int`);
  if (shape.length !== strides.length) fail(`size ${formatShape(shape)} and stride ${formatShape(strides)} differ in length`);
  if (shape.length > 64) fail(`a tensor of ${shape.length} dimensions`);
  if (!shape.includes(0)) {
    let last = offset as number;
    for (let d = 0; d < shape.length && last < numel; d++) last += (shape[d] - 1) * strides[d];
    if (last >= numel) fail(`a tensor of size ${formatShape(shape)}, stride ${formatShape(strides)} and offset ${offset} reaches past storage '${key}' of ${numel} elements`);
    if (shape.reduce((a, b) => a * b, 1) > 2 ** 32) fail(`a tensor of size ${formatShape(shape)} has more than 2^32 elements`);
  }
  return new PyTensor(storage as PyStorage, offset as number, shape, strides);
}

function emptyHooks(hooks: PyValue): void {
  if (!(hooks instanceof PyDict) || hooks.entries.size > 0) fail('tensors with backward hooks are not loaded');
}

/** The globals a checkpoint may name; everything else is refused (see unpickler.ts). */
function allowedGlobals(): Map<string, PyGlobal> {
  const g = new Map<string, PyGlobal>();
  const add = (qualifiedName: string, actions: Omit<PyGlobal, 'kind' | 'qualifiedName'> = {}) => g.set(qualifiedName, { kind: 'global', qualifiedName, ...actions });
  add('torch._utils._rebuild_tensor_v2', {
    call: (a) => {
      if (a.length !== 6 && a.length !== 7) fail(`_rebuild_tensor_v2 takes 6 or 7 arguments, got ${a.length}`);
      emptyHooks(a[5]); // a[6], metadata (PyTorch >= 1.13), holds Python attributes of tensor subclasses; not data
      const t = rebuildTensor(a[0], a[1], a[2], a[3]);
      t.requiresGrad = a[4] === true;
      return t;
    },
  });
  add('torch._utils._rebuild_tensor', { call: (a) => (a.length === 4 ? rebuildTensor(a[0], a[1], a[2], a[3]) : fail(`_rebuild_tensor takes 4 arguments, got ${a.length}`)) });
  const parameter = (a: readonly PyValue[]) => {
    if (!(a[0] instanceof PyTensor)) fail('_rebuild_parameter: data is not a tensor');
    emptyHooks(a[2]);
    (a[0] as PyTensor).requiresGrad = a[1] === true;
    return a[0];
  };
  add('torch._utils._rebuild_parameter', { call: (a) => (a.length === 3 ? parameter(a) : fail(`_rebuild_parameter takes 3 arguments, got ${a.length}`)) });
  add('torch._utils._rebuild_parameter_with_state', { call: (a) => (a.length === 4 ? parameter(a) : fail(`_rebuild_parameter_with_state takes 4 arguments, got ${a.length}`)) });
  add('collections.OrderedDict', { call: (a) => (a.length === 0 ? new PyDict() : fail('OrderedDict(...) with arguments is not supported')) });
  add('torch.Size', {
    call: (a) => {
      if (a.length !== 1) fail(`torch.Size takes 1 argument, got ${a.length}`);
      return new PyTuple(ints(a[0], 'torch.Size'));
    },
  });
  add('argparse.Namespace', { construct: (a) => (a.length === 0 ? new PyInstance('argparse.Namespace') : fail('Namespace(...) with arguments')) });
  for (const name of Object.keys(STORAGE_TYPES)) add(name);
  return g;
}

/** Finds the archive's top folder: the one entry named <folder>/data.pkl. */
function archiveFolder(names: Iterable<string>): string {
  const folders = [...names].filter((n) => /^[^/]+\/data\.pkl$/.test(n)).map((n) => n.slice(0, -'/data.pkl'.length));
  if (folders.length !== 1) fail(`expected one <folder>/data.pkl in the zip archive, found ${folders.length} (not a torch.save file)`);
  return folders[0];
}

/** Parses the bytes of a torch.save file (zip format) into JavaScript values; see values.ts for the mapping. */
export function parsePth(bytes: Uint8Array, options: ParsePthOptions = {}): PthValue {
  if (bytes.byteLength >= 2 && bytes[0] === 0x80 && bytes[1] <= 5) {
    fail('this is a legacy torch.save file (PyTorch < 1.6, or _use_new_zipfile_serialization=False); re-save it with a current PyTorch');
  }
  const entries = readZipDirectory(bytes);
  const folder = archiveFolder(entries.keys());
  const entry = (name: string) => entries.get(`${folder}/${name}`);
  const read = (name: string) => readZipEntry(bytes, entry(name)!, options.inflateRaw);
  if (entry('byteorder') !== undefined) {
    const order = new TextDecoder().decode(read('byteorder'));
    if (order !== 'little') fail(`the file was written on a ${order}-endian machine; only little-endian files are read`);
  }

  // Persistent ids name storages; their entries' sizes are checked now, their bytes read later.
  const named = new Map<string, PyStorage>();
  const persistentLoad = (pid: PyValue): PyStorage => {
    if (!(pid instanceof PyTuple) || pid.items.length !== 5 || pid.items[0] !== 'storage') fail("persistent id is not ('storage', type, key, location, numel)");
    const [, type, key, , numel] = (pid as PyTuple).items;
    const typeName = typeof type === 'object' && type !== null && 'kind' in type && type.kind === 'global' ? type.qualifiedName : undefined;
    if (typeName === undefined || !(typeName in STORAGE_TYPES)) fail(`storage type ${typeName ?? 'that is not a class'} is not supported (dinots reads ${Object.keys(STORAGE_TYPES).join(', ')})`);
    if (typeof key !== 'string' || !isCount(numel)) fail('storage key is not a string or its size not a non-negative int');
    const known = named.get(key as string);
    if (known !== undefined) {
      if (known.typeName !== typeName || known.numel !== numel) fail(`storage '${key}' is referenced as ${known.numel} ${known.typeName} and as ${numel} ${typeName}`);
      return known;
    }
    const stored = entry(`data/${key}`);
    if (stored === undefined) fail(`storage '${key}' has no entry ${folder}/data/${key}`);
    const bytesNeeded = (numel as number) * STORAGE_TYPES[typeName!].elementSize;
    if (stored!.size !== bytesNeeded) fail(`storage '${key}' should hold ${numel} ${STORAGE_TYPES[typeName!].torchDtype} (${bytesNeeded} bytes) but its entry has ${stored!.size} bytes`);
    const storage = new PyStorage(key as string, typeName!, numel as number);
    named.set(key as string, storage);
    return storage;
  };
  const globals = allowedGlobals();
  const value = unpickle(read('data.pkl'), { findGlobal: (module, name) => globals.get(`${module}.${name}`), persistentLoad });

  const storages = new Map<PyStorage, CpuStorage>();
  const storageOf = (s: PyStorage): CpuStorage => {
    let storage = storages.get(s);
    if (storage === undefined) {
      try {
        storage = new CpuStorage(STORAGE_TYPES[s.typeName].decode(read(`data/${s.key}`), s.numel));
      } catch (e) {
        fail(`storage '${s.key}': ${(e as Error).message}`);
      }
      storages.set(s, storage!);
    }
    return storage!;
  };
  return toJs(value, (t) => {
    const out = new Tensor(storageOf(t.storage), t.shape, t.strides, t.offset);
    if (t.requiresGrad && (out.dtype === 'float32' || out.dtype === 'float64')) out.requiresGrad_(true);
    return out;
  });
}
