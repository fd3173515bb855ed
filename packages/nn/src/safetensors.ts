// The safetensors format (huggingface/safetensors), read and written byte for byte:
//
//   [ 8 bytes: N, little-endian u64 ][ N bytes: JSON header ][ data ]
//   header = { "<name>": { "dtype": "F64", "shape": [2, 3], "data_offsets": [begin, end] }, ...,
//              "__metadata__": { "<key>": "<string value>" } }       (metadata optional)
// Offsets are relative to the start of the data; tensors are row-major little-endian and
// must tile the data exactly (no gaps, no overlaps), as the reference implementation checks.
//
// dinots dtypes are float32/float64/int32/bool, so loading maps
//   F64 -> float64, F32 -> float32, I32 -> int32, BOOL -> bool   (zero-copy views when aligned)
//   F16, BF16 -> float32 (exact)    I64 -> int32 (refused if a value is outside int32's range)
// Saving writes float64 as F64, float32 as F32, int32 as I32 and bool as BOOL, unless
// `storeAs` asks for F16/BF16 (float32/float64, rounded to nearest even) or I64 (int32).
// Saving orders tensors as the reference writer does (by dtype: I64, F64, F32, I32, BF16, F16,
// BOOL, then by name), puts __metadata__ first and pads the header with spaces to a multiple
// of 8 bytes; element sizes then decrease along the file, so every tensor is aligned and
// loads without a copy.
// Paths need Node's fs, reached at call time (process.getBuiltinModule) so that browser
// bundles load this file; in a browser, pass the bytes (e.g. from fetch or a dropped File).

import { type DType, type Tensor, type TypedArray, checkTensor, describe, formatShape, tensor } from '@dinots/tensor';
import { nodeBuiltin } from './node-builtin.js';

export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'BOOL';

const ELEMENT_SIZE: Record<SafetensorsDType, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, BOOL: 1 };
const NATIVE: Record<DType, SafetensorsDType> = { float64: 'F64', float32: 'F32', int32: 'I32', bool: 'BOOL' };
/** Position in the reference implementation's Dtype enum; its writer sorts by it, descending. */
const WRITE_RANK: Record<SafetensorsDType, number> = { BOOL: 0, F16: 1, BF16: 2, I32: 3, F32: 4, F64: 5, I64: 6 };
/** Headers above this size are refused (the reference implementation's limit). */
const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsFile {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

interface HeaderEntry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  begin: number;
  end: number;
}

function fail(message: string): never {
  throw new Error(`safetensors: ${message}`);
}

/** Parses a safetensors file held in memory; tensors view `bytes` where alignment allows. */
export function parseSafetensors(bytes: Uint8Array): SafetensorsFile {
  if (bytes.byteLength < 8) fail(`file is ${bytes.byteLength} bytes, too short for the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > MAX_HEADER_BYTES) fail(`header length ${headerLength} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (8 + headerLength > bytes.byteLength) fail(`header length ${headerLength} runs past the end of the ${bytes.byteLength}-byte file`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch (e) {
    fail(`header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');
  const { __metadata__: rawMetadata, ...rawEntries } = header as Record<string, unknown>;
  const metadata = parseMetadata(rawMetadata);
  const entries = Object.entries(rawEntries).map(([name, e]) => parseEntry(name, e));

  const dataStart = 8 + headerLength;
  const dataLength = bytes.byteLength - dataStart;
  let expectedBegin = 0;
  for (const e of [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end)) {
    if (e.end > dataLength) fail(`tensor '${e.name}': data_offsets [${e.begin}, ${e.end}] run past the end of the ${dataLength}-byte data section`);
    if (e.begin < expectedBegin) fail(`tensor '${e.name}': data_offsets [${e.begin}, ${e.end}] overlap the previous tensor (which ends at ${expectedBegin})`);
    if (e.begin > expectedBegin) fail(`tensor '${e.name}': data_offsets [${e.begin}, ${e.end}] leave a gap after byte ${expectedBegin}`);
    expectedBegin = e.end;
  }
  if (expectedBegin !== dataLength) fail(`tensors cover ${expectedBegin} bytes but the data section has ${dataLength}`);

  // fromEntries defines own properties, so even a tensor named '__proto__' is kept as data.
  const tensors = Object.fromEntries(
    entries.map((e) => [e.name, tensor(decode(e, bytes.subarray(dataStart + e.begin, dataStart + e.end)), { shape: e.shape })]),
  );
  return { tensors, metadata };
}

function parseMetadata(raw: unknown): Record<string, string> {
  if (raw === undefined) return {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || !Object.values(raw).every((v) => typeof v === 'string')) {
    fail('__metadata__ must be an object of string values');
  }
  return { ...(raw as Record<string, string>) };
}

function parseEntry(name: string, raw: unknown): HeaderEntry {
  const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
  if (typeof e !== 'object' || e === null) fail(`tensor '${name}': header entry is not an object`);
  const { dtype, shape, data_offsets: offsets } = e;
  if (typeof dtype !== 'string' || !(dtype in ELEMENT_SIZE)) {
    fail(`tensor '${name}': unknown dtype ${JSON.stringify(dtype)} (dinots reads ${Object.keys(ELEMENT_SIZE).join(', ')})`);
  }
  const isCount = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
  if (!Array.isArray(shape) || !shape.every(isCount)) fail(`tensor '${name}': shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
    fail(`tensor '${name}': data_offsets ${JSON.stringify(offsets)} is not [begin, end] with 0 <= begin <= end`);
  }
  const d = dtype as SafetensorsDType;
  const expected = shape.reduce((a: number, b: number) => a * b, 1) * ELEMENT_SIZE[d];
  if (offsets[1] - offsets[0] !== expected) {
    fail(`tensor '${name}': shape ${formatShape(shape)} of ${d} needs ${expected} bytes but data_offsets [${offsets[0]}, ${offsets[1]}] hold ${offsets[1] - offsets[0]}`);
  }
  return { name, dtype: d, shape, begin: offsets[0], end: offsets[1] };
}

/** The typed array for one tensor: a view of `raw` when its dtype is native and it is aligned, else a converted copy. */
function decode(e: HeaderEntry, raw: Uint8Array): TypedArray {
  const n = raw.byteLength / ELEMENT_SIZE[e.dtype];
  const aligned = raw.byteOffset % ELEMENT_SIZE[e.dtype] === 0;
  const bytes = aligned ? raw : raw.slice();
  const { buffer, byteOffset } = bytes;
  switch (e.dtype) {
    case 'F64': return new Float64Array(buffer, byteOffset, n);
    case 'F32': return new Float32Array(buffer, byteOffset, n);
    case 'I32': return new Int32Array(buffer, byteOffset, n);
    case 'BOOL': {
      const out = new Uint8Array(buffer, byteOffset, n);
      if (out.some((v) => v > 1)) fail(`tensor '${e.name}': BOOL data holds a byte other than 0 or 1`);
      return out;
    }
    case 'F16': return Float32Array.from(new Uint16Array(buffer, byteOffset, n), halfToFloat);
    case 'BF16': return Float32Array.from(new Uint16Array(buffer, byteOffset, n), bfloat16ToFloat);
    case 'I64': {
      const wide = new BigInt64Array(buffer, byteOffset, n);
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = wide[i];
        if (v < -2147483648n || v > 2147483647n) fail(`tensor '${e.name}': I64 value ${v} at index ${i} does not fit in int32`);
        out[i] = Number(v);
      }
      return out;
    }
  }
}

/** Reads a safetensors file (a path, or its bytes) into name -> Tensor, like Python's safetensors load_file / load. */
export function loadSafetensors(pathOrBytes: string | Uint8Array | ArrayBuffer): Record<string, Tensor> {
  if (typeof pathOrBytes === 'string') return parseSafetensors(nodeBuiltin<typeof import('node:fs')>('loadSafetensors', 'node:fs').readFileSync(pathOrBytes)).tensors;
  if (pathOrBytes instanceof Uint8Array) return parseSafetensors(pathOrBytes).tensors;
  if (pathOrBytes instanceof ArrayBuffer) return parseSafetensors(new Uint8Array(pathOrBytes)).tensors;
  throw new TypeError(`loadSafetensors: expected a file path, a Uint8Array or an ArrayBuffer, got ${describe(pathOrBytes)}`);
}

export interface SaveSafetensorsOptions {
  /** The stored dtype per dinots dtype, e.g. { float32: 'BF16' }; default F64/F32/I32/BOOL. */
  storeAs?: Partial<Record<DType, SafetensorsDType>>;
}

/** The bytes of a safetensors file holding `tensors` and optional string metadata. */
export function serializeSafetensors(tensors: Record<string, Tensor>, metadata?: Record<string, string>, options: SaveSafetensorsOptions = {}): Uint8Array {
  checkMetadata(metadata);
  for (const [name, t] of Object.entries(tensors)) checkTensor('saveSafetensors', `tensors['${name}']`, t);
  const items = Object.entries(tensors).map(([name, t]) => {
    const dtype = options.storeAs?.[t.dtype] ?? NATIVE[t.dtype];
    return { name, t, dtype, bytes: encode(name, t, dtype) };
  });
  items.sort((a, b) => WRITE_RANK[b.dtype] - WRITE_RANK[a.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const entries: [string, unknown][] = metadata === undefined ? [] : [['__metadata__', metadata]];
  let offset = 0;
  for (const { name, t, dtype, bytes } of items) {
    entries.push([name, { dtype, shape: t.shape, data_offsets: [offset, offset + bytes.byteLength] }]);
    offset += bytes.byteLength;
  }
  let json = new TextEncoder().encode(JSON.stringify(Object.fromEntries(entries)));
  const padded = Math.ceil(json.byteLength / 8) * 8;
  if (padded !== json.byteLength) {
    const spaced = new Uint8Array(padded).fill(0x20);
    spaced.set(json);
    json = spaced;
  }
  const out = new Uint8Array(8 + json.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  out.set(json, 8);
  let at = 8 + json.byteLength;
  for (const { bytes } of items) {
    out.set(bytes, at);
    at += bytes.byteLength;
  }
  return out;
}

/** The format allows only string metadata values (the loader refuses others), so the writer refuses them too. */
function checkMetadata(metadata: unknown): void {
  if (metadata === undefined) return;
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new TypeError(`saveSafetensors: metadata must be an object of string values, got ${describe(metadata)}`);
  }
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') {
      throw new TypeError(`saveSafetensors: metadata value '${key}' must be a string (safetensors __metadata__ holds strings only), got ${describe(value)}; use String() or JSON.stringify()`);
    }
  }
}

/** Writes `tensors` (and optional metadata) as a safetensors file, like Python's save_file. */
export function saveSafetensors(path: string, tensors: Record<string, Tensor>, metadata?: Record<string, string>, options: SaveSafetensorsOptions = {}): void {
  nodeBuiltin<typeof import('node:fs')>('saveSafetensors', 'node:fs').writeFileSync(path, serializeSafetensors(tensors, metadata, options));
}

/** The little-endian bytes of `t` stored as `dtype`. */
function encode(name: string, t: Tensor, dtype: SafetensorsDType): Uint8Array {
  const values = t.dataSync();
  const asBytes = (a: TypedArray | Uint16Array | BigInt64Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const from = t.dtype;
  const float = from === 'float32' || from === 'float64';
  const refuse = (): never => fail(`cannot store '${name}' (dtype ${from}) as ${dtype}`);
  switch (dtype) {
    case 'F64': return float ? asBytes(Float64Array.from(values)) : refuse();
    case 'F32': return float ? asBytes(Float32Array.from(values)) : refuse();
    case 'F16': return float ? asBytes(Uint16Array.from(values, floatToHalf)) : refuse();
    case 'BF16': return float ? asBytes(Uint16Array.from(values, floatToBfloat16)) : refuse();
    case 'I32': return from === 'int32' ? asBytes(values) : refuse();
    case 'I64': return from === 'int32' ? asBytes(BigInt64Array.from(values, (v) => BigInt(v))) : refuse();
    case 'BOOL': return from === 'bool' ? asBytes(values) : refuse();
  }
}

// ---------------------------------------------------------------- 16-bit floats

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half (1 sign, 5 exponent, 10 mantissa bits) to a number, exactly. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/**
 * A number to IEEE half, rounding to nearest even (overflow to infinity), as PyTorch's
 * .half(). The value is first rounded to float32 (as PyTorch converts float32 tensors).
 */
export function floatToHalf(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    // Subnormal half: shift the full 24-bit significand and round to nearest even.
    const significand = mantissa | 0x800000;
    const shift = 14 - e;
    const half = significand >>> shift;
    const rest = significand & ((1 << shift) - 1);
    const midpoint = 1 << (shift - 1);
    return sign | (half + (rest > midpoint || (rest === midpoint && (half & 1)) ? 1 : 0));
  }
  const rest = mantissa & 0x1fff;
  let out = sign | (e << 10) | (mantissa >>> 13);
  if (rest > 0x1000 || (rest === 0x1000 && (out & 1))) out++; // a carry into the exponent is correct rounding
  return out;
}

/** bfloat16 (the top 16 bits of a float32) to a number, exactly. */
export function bfloat16ToFloat(h: number): number {
  u32[0] = h << 16;
  return f32[0];
}

/** A number to bfloat16, rounding the float32 value to nearest even (NaN stays NaN), as PyTorch. */
export function floatToBfloat16(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  if (Number.isNaN(f32[0])) return ((bits >>> 16) | 0x40) & 0xffff;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}
