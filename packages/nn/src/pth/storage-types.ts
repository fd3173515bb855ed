// torch's storage classes (torch/storage.py: FloatStorage, HalfStorage, ...) and how their
// little-endian bytes become dinots storages. dinots holds float32, float64, int32 and bool,
// so loading converts
//   float16, bfloat16              -> float32  (exact)
//   int64                          -> int32    (refused if a value is outside int32's range;
//                                                a float64 would hide the change of type)
//   uint8, int8, int16             -> int32    (exact)
// and keeps float32, float64, int32 and bool as they are (views of the file when aligned).
// Complex and quantized storages are refused.

import { type DType, type TypedArray } from '@dinots/tensor';
import { bfloat16ToFloat, halfToFloat } from '../safetensors.js';

export interface StorageType {
  /** torch's name for the element type, e.g. 'float16'. */
  torchDtype: string;
  elementSize: number;
  /** The dinots array for `n` elements in `bytes` (which holds exactly n * elementSize bytes). */
  decode(bytes: Uint8Array, n: number): TypedArray;
}

/** A typed view of `bytes` when aligned, else of an aligned copy. */
function view<T>(bytes: Uint8Array, size: number, make: (buffer: ArrayBufferLike, offset: number) => T): T {
  const aligned = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  return make(aligned.buffer, aligned.byteOffset);
}

function widen(from: (b: ArrayBufferLike, o: number, n: number) => ArrayLike<number>, size: number) {
  return (bytes: Uint8Array, n: number) => Int32Array.from(view(bytes, size, (b, o) => from(b, o, n)));
}

function int64(bytes: Uint8Array, n: number): Int32Array {
  const wide = view(bytes, 8, (b, o) => new BigInt64Array(b, o, n));
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = wide[i];
    if (v < -2147483648n || v > 2147483647n) throw new Error(`int64 value ${v} at element ${i} does not fit in int32, dinots' integer type`);
    out[i] = Number(v);
  }
  return out;
}

function bool(bytes: Uint8Array, n: number): Uint8Array {
  const out = view(bytes, 1, (b, o) => new Uint8Array(b, o, n));
  if (out.some((v) => v > 1)) throw new Error('bool storage holds a byte other than 0 or 1');
  return out;
}

/** The storage classes torch.save names in persistent ids, by qualified name. */
export const STORAGE_TYPES: Record<string, StorageType> = {
  'torch.FloatStorage': { torchDtype: 'float32', elementSize: 4, decode: (b, n) => view(b, 4, (x, o) => new Float32Array(x, o, n)) },
  'torch.DoubleStorage': { torchDtype: 'float64', elementSize: 8, decode: (b, n) => view(b, 8, (x, o) => new Float64Array(x, o, n)) },
  'torch.HalfStorage': { torchDtype: 'float16', elementSize: 2, decode: (b, n) => Float32Array.from(view(b, 2, (x, o) => new Uint16Array(x, o, n)), halfToFloat) },
  'torch.BFloat16Storage': { torchDtype: 'bfloat16', elementSize: 2, decode: (b, n) => Float32Array.from(view(b, 2, (x, o) => new Uint16Array(x, o, n)), bfloat16ToFloat) },
  'torch.LongStorage': { torchDtype: 'int64', elementSize: 8, decode: int64 },
  'torch.IntStorage': { torchDtype: 'int32', elementSize: 4, decode: (b, n) => view(b, 4, (x, o) => new Int32Array(x, o, n)) },
  'torch.ShortStorage': { torchDtype: 'int16', elementSize: 2, decode: widen((x, o, n) => new Int16Array(x, o, n), 2) },
  'torch.CharStorage': { torchDtype: 'int8', elementSize: 1, decode: widen((x, o, n) => new Int8Array(x, o, n), 1) },
  'torch.ByteStorage': { torchDtype: 'uint8', elementSize: 1, decode: widen((x, o, n) => new Uint8Array(x, o, n), 1) },
  'torch.BoolStorage': { torchDtype: 'bool', elementSize: 1, decode: bool },
};

/** The storage class torch.load expects for each dinots dtype, and its element size. */
export const STORAGE_FOR_DTYPE: Record<DType, { name: string; elementSize: number }> = {
  float32: { name: 'FloatStorage', elementSize: 4 },
  float64: { name: 'DoubleStorage', elementSize: 8 },
  int32: { name: 'IntStorage', elementSize: 4 },
  bool: { name: 'BoolStorage', elementSize: 1 },
};
