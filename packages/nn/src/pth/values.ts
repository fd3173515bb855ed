// Python values as the unpickler builds them, and their conversion to plain JavaScript.
//
// While a pickle runs, a dict is a PyDict (a Map, since keys may be ints), a tuple a
// PyTuple (so that APPEND to a tuple is refused as in Python), an instance of an allowed
// class a PyInstance, a tensor a PyTensor (shape, strides and offset over a PyStorage that
// is only named, so no byte of tensor data is read before the whole pickle has passed the
// allow-list). toJs() then gives what loadPth returns:
//
//   dict / OrderedDict with only str keys  -> plain object (key order kept, '__proto__' is data)
//   dict with any other key (int, ...)      -> Map          (e.g. an optimizer's `state`)
//   list, tuple, torch.Size                 -> Array
//   set, frozenset                          -> Set
//   int                                     -> number, or bigint beyond 2^53
//   float, str, bool, None, bytes           -> number, string, boolean, null, Uint8Array
//   argparse.Namespace                      -> Namespace (its attributes as own properties)
//   tensor                                  -> Tensor
// An object referenced twice stays one JavaScript object; a container that contains itself
// is refused (no consumer of a checkpoint expects cycles, and they break JSON and savePth).

import type { Tensor } from '@dinots/tensor';

/** A dict key: what Python hashes by value and a Map compares the same way. */
export type PyKey = string | number | bigint | boolean | null;

export class PyTuple {
  constructor(readonly items: readonly PyValue[]) {}
}

export class PyDict {
  readonly entries = new Map<PyKey, PyValue>();
}

/** An allowed global (class or function) on the unpickler's stack, with what it may do. */
export interface PyGlobal {
  readonly kind: 'global';
  readonly qualifiedName: string;
  /** REDUCE: called with the argument tuple's items. */
  call?(args: readonly PyValue[]): PyValue;
  /** NEWOBJ: cls.__new__(cls, *args). */
  construct?(args: readonly PyValue[]): PyValue;
}

/** A storage a persistent id names (torch: ('storage', FloatStorage, key, location, numel)); its bytes are read only after the pickle has run. */
export class PyStorage {
  constructor(readonly key: string, readonly typeName: string, readonly numel: number) {}
}

/** A tensor as _rebuild_tensor_v2 describes it, a view of a PyStorage; toJs makes it a Tensor. */
export class PyTensor {
  requiresGrad = false;
  constructor(readonly storage: PyStorage, readonly offset: number, readonly shape: readonly number[], readonly strides: readonly number[]) {}
}

/** An instance made by NEWOBJ; BUILD sets its __dict__. */
export class PyInstance {
  state: PyDict | null = null;
  constructor(readonly qualifiedName: string) {}
}

export type PyValue =
  | PyKey
  | Uint8Array
  | PyValue[]
  | PyTuple
  | PyDict
  | Set<PyKey>
  | PyInstance
  | PyGlobal
  | PyStorage
  | PyTensor;

/** argparse.Namespace: a bag of attributes, e.g. the `args` of an official DINO checkpoint. */
export class Namespace {
  [attribute: string]: unknown;

  constructor(attributes: Record<string, unknown> = {}) {
    for (const [k, v] of Object.entries(attributes)) Object.defineProperty(this, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
}

/** What loadPth returns for a pickled value. */
export type PthValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | Uint8Array
  | Tensor
  | Namespace
  | PthValue[]
  | Set<PyKey>
  | Map<PyKey, PthValue>
  | { [key: string]: PthValue };

/** Nesting deeper than this is refused rather than risking the call stack. */
const MAX_DEPTH = 1000;

/** The JavaScript form of an unpickled value (see the table above); `makeTensor` reads a tensor's storage. */
export function toJs(root: PyValue, makeTensor: (t: PyTensor) => Tensor): PthValue {
  const done = new Map<object, PthValue>();
  const open = new Set<object>();
  const convert = (v: PyValue, depth: number): PthValue => {
    if (v === null || typeof v !== 'object' || v instanceof Uint8Array || v instanceof Set) return v as PthValue;
    const known = done.get(v);
    if (known !== undefined) return known;
    if (open.has(v)) throw new Error('pickle: a container contains itself (cyclic data is not loaded)');
    if (depth > MAX_DEPTH) throw new Error(`pickle: data nested more than ${MAX_DEPTH} levels deep`);
    open.add(v);
    let out: PthValue;
    if (v instanceof PyTensor) out = makeTensor(v);
    else if (Array.isArray(v)) out = v.map((x) => convert(x, depth + 1));
    else if (v instanceof PyTuple) out = v.items.map((x) => convert(x, depth + 1));
    else if (v instanceof PyDict) {
      const entries = [...v.entries].map(([k, x]) => [k, convert(x, depth + 1)] as const);
      out = entries.every(([k]) => typeof k === 'string') ? Object.fromEntries(entries) : new Map(entries);
    } else if (v instanceof PyInstance) {
      // Only argparse.Namespace is ever constructed (allowedGlobals in parse.ts).
      const attributes = v.state === null ? {} : (convert(v.state, depth + 1) as Record<string, PthValue>);
      if (attributes instanceof Map) throw new Error(`pickle: ${v.qualifiedName} has non-string attribute names`);
      out = new Namespace(attributes);
    } else if (v instanceof PyStorage) throw new Error(`pickle: storage '${v.key}' appears outside a tensor (bare storages are not loaded)`);
    else throw new Error(`pickle: a reference to ${v.qualifiedName} is not data`);
    open.delete(v);
    done.set(v, out);
    return out;
  };
  return convert(root, 0);
}
