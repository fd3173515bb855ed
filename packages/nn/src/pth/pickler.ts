// A pickler for checkpoint data: JavaScript values to pickle protocol 2, using only the
// opcodes torch.save itself emits, so that torch.load(weights_only=True) accepts the result
// (torch/_weights_only_unpickler.py). A tensor is written as torch's Tensor.__reduce_ex__
// writes it (torch/_tensor.py, _rebuild_tensor_v2 with an empty OrderedDict of hooks), its
// storage as a persistent id the caller assigns. Values map as
//   plain object, Map  -> dict          Array        -> list
//   integral number    -> int           other number -> float (BINFLOAT; torch's weights-only
//   bigint             -> int             unpickler reads floats from PyTorch 2.0, not 1.13)
//   string, boolean, null/undefined -> str, bool, None     Namespace -> argparse.Namespace
// An object referenced twice is written once and fetched from the memo, as Python does;
// cyclic data and other types (functions, typed arrays, class instances) are refused.

import { Tensor } from '@dinots/tensor';
import { Namespace } from './values.js';

/** The persistent id of a tensor's storage: torch's class name (e.g. 'FloatStorage'), key, element count. */
export interface StorageId {
  typeName: string;
  key: string;
  numel: number;
  /** The CPU tensor whose offset, size and stride are written (the tensor itself, or its CPU copy). */
  view: Tensor;
}

/** A growable byte buffer. */
class Bytes {
  private buffer = new Uint8Array(1024);
  private view = new DataView(this.buffer.buffer);
  length = 0;

  private reserve(n: number): number {
    if (this.length + n > this.buffer.length) {
      const bigger = new Uint8Array(Math.max(2 * this.buffer.length, this.length + n));
      bigger.set(this.buffer.subarray(0, this.length));
      this.buffer = bigger;
      this.view = new DataView(bigger.buffer);
    }
    const at = this.length;
    this.length += n;
    return at;
  }
  // reserve() may replace the buffer, so it runs before the buffer is read.
  u8(...values: number[]): void {
    for (const v of values) {
      const at = this.reserve(1);
      this.buffer[at] = v;
    }
  }
  u16(v: number): void { const at = this.reserve(2); this.view.setUint16(at, v, true); }
  i32(v: number): void { const at = this.reserve(4); this.view.setInt32(at, v, true); }
  u32(v: number): void { const at = this.reserve(4); this.view.setUint32(at, v, true); }
  f64be(v: number): void { const at = this.reserve(8); this.view.setFloat64(at, v, false); }
  raw(b: Uint8Array): void { const at = this.reserve(b.length); this.buffer.set(b, at); }
  result(): Uint8Array { return this.buffer.slice(0, this.length); }
}

const OP = {
  PROTO: 0x80, STOP: 0x2e, MARK: 0x28, NONE: 0x4e, NEWTRUE: 0x88, NEWFALSE: 0x89, BININT: 0x4a, BININT1: 0x4b, BININT2: 0x4d,
  LONG1: 0x8a, BINFLOAT: 0x47, BINUNICODE: 0x58, EMPTY_TUPLE: 0x29, TUPLE: 0x74, EMPTY_LIST: 0x5d, APPENDS: 0x65,
  EMPTY_DICT: 0x7d, SETITEMS: 0x75, GLOBAL: 0x63, REDUCE: 0x52, NEWOBJ: 0x81, BUILD: 0x62, BINPERSID: 0x51,
  BINGET: 0x68, LONG_BINGET: 0x6a, BINPUT: 0x71, LONG_BINPUT: 0x72,
} as const;

/** Python's pickler writes at most this many items per APPENDS/SETITEMS (Lib/pickle.py, _BATCHSIZE). */
const BATCH = 1000;

/** The protocol-2 pickle of `value`; `storageOf` names the storage of each tensor met. */
export function pickle(value: unknown, storageOf: (t: Tensor, path: string) => StorageId): Uint8Array {
  const out = new Bytes();
  const encoder = new TextEncoder();
  const memo = new Map<unknown, number>();
  const open = new Set<unknown>();
  const globals = new Map<string, number>();

  const put = (key: unknown) => {
    const i = memo.size;
    memo.set(key, i);
    if (i < 256) out.u8(OP.BINPUT, i);
    else { out.u8(OP.LONG_BINPUT); out.u32(i); }
  };
  const get = (i: number) => {
    if (i < 256) out.u8(OP.BINGET, i);
    else { out.u8(OP.LONG_BINGET); out.u32(i); }
  };
  const string = (s: string) => {
    const b = encoder.encode(s);
    out.u8(OP.BINUNICODE);
    out.u32(b.length);
    out.raw(b);
  };
  const global = (module: string, name: string) => {
    const known = globals.get(`${module}\n${name}`);
    if (known !== undefined) return get(known);
    out.u8(OP.GLOBAL);
    out.raw(encoder.encode(`${module}\n${name}\n`));
    globals.set(`${module}\n${name}`, memo.size);
    put(Symbol(`${module}.${name}`));
  };
  const int = (v: number | bigint, path: string) => {
    if (typeof v === 'number' && v >= 0 && v < 256) out.u8(OP.BININT1, v);
    else if (typeof v === 'number' && v >= 0 && v < 65536) { out.u8(OP.BININT2); out.u16(v); }
    else if (typeof v === 'number' && v >= -(2 ** 31) && v < 2 ** 31) { out.u8(OP.BININT); out.i32(v); }
    else {
      // LONG1: little-endian two's complement, as short as the sign allows.
      let x = BigInt(v);
      const bytes: number[] = [];
      do {
        bytes.push(Number(x & 0xffn));
        x >>= 8n;
      } while (!((x === 0n && (bytes[bytes.length - 1] & 0x80) === 0) || (x === -1n && (bytes[bytes.length - 1] & 0x80) !== 0)));
      if (bytes.length > 255) throw new Error(`savePth: the int at '${path}' needs ${bytes.length} bytes (at most 255)`);
      out.u8(OP.LONG1, bytes.length, ...bytes);
    }
  };
  const tuple = (items: readonly number[]) => {
    out.u8(OP.MARK);
    for (const v of items) int(v, 'a tensor size');
    out.u8(OP.TUPLE);
  };
  const batches = <T>(items: readonly T[], write: (item: T, index: number) => void, op: number) => {
    for (let i = 0; i < items.length; i += BATCH) {
      out.u8(OP.MARK);
      items.slice(i, i + BATCH).forEach((item, j) => write(item, i + j));
      out.u8(op);
    }
  };
  const tensor = (t: Tensor, path: string) => {
    const id = storageOf(t, path);
    const { offset, shape, strides } = id.view;
    global('torch._utils', '_rebuild_tensor_v2');
    out.u8(OP.MARK, OP.MARK);
    string('storage');
    global('torch', id.typeName);
    string(id.key);
    string('cpu');
    int(id.numel, path);
    out.u8(OP.TUPLE, OP.BINPERSID);
    int(offset, path);
    tuple(shape);
    tuple(strides);
    out.u8(OP.NEWFALSE); // requires_grad: False, as state_dict() gives detached tensors
    global('collections', 'OrderedDict');
    out.u8(OP.EMPTY_TUPLE, OP.REDUCE, OP.TUPLE, OP.REDUCE);
  };
  /** A dict memoized under `key` (the JavaScript object it comes from). */
  const dict = (key: object, entries: readonly (readonly [unknown, unknown])[], path: string) => {
    out.u8(OP.EMPTY_DICT);
    put(key);
    batches(entries, ([k, v]) => {
      if (!(k === null || ['string', 'number', 'bigint', 'boolean'].includes(typeof k))) throw new Error(`savePth: a Map key at '${path}' is not a string, number, bigint, boolean or null`);
      write(k, path);
      write(v, path === '' ? String(k) : `${path}.${String(k)}`);
    }, OP.SETITEMS);
  };

  const write = (v: unknown, path: string): void => {
    if (v === null || v === undefined) return out.u8(OP.NONE);
    if (typeof v === 'boolean') return out.u8(v ? OP.NEWTRUE : OP.NEWFALSE);
    if (typeof v === 'bigint') return int(v, path);
    if (typeof v === 'number') {
      if (Number.isSafeInteger(v) && !Object.is(v, -0)) return int(v, path);
      out.u8(OP.BINFLOAT);
      return out.f64be(v);
    }
    if (typeof v === 'string') return string(v);
    if (typeof v !== 'object') throw new Error(`savePth: cannot save the ${typeof v} at '${path}'`);
    if (open.has(v)) throw new Error(`savePth: the object at '${path}' contains itself (cyclic data cannot be pickled for torch.load)`);
    const known = memo.get(v);
    if (known !== undefined) return get(known);
    open.add(v);
    if (v instanceof Tensor) {
      tensor(v, path);
      put(v);
    } else if (Array.isArray(v)) {
      out.u8(OP.EMPTY_LIST);
      put(v);
      batches(v, (x, i) => write(x, `${path}[${i}]`), OP.APPENDS);
    } else if (v instanceof Map) dict(v, [...v], path);
    else if (v instanceof Namespace) {
      global('argparse', 'Namespace');
      out.u8(OP.EMPTY_TUPLE, OP.NEWOBJ);
      put(v);
      dict({}, Object.entries(v), path);
      out.u8(OP.BUILD);
    } else if (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null) dict(v, Object.entries(v), path);
    else throw new Error(`savePth: cannot save the ${(v as object).constructor?.name ?? 'object'} at '${path || '(root)'}' (tensors, plain objects, Maps, arrays, Namespaces and primitives are saved)`);
    open.delete(v);
  };

  out.u8(OP.PROTO, 2);
  write(value, '');
  out.u8(OP.STOP);
  return out.result();
}
