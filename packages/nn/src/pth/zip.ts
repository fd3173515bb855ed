// The zip container of PyTorch checkpoints, read and written from bytes (PKWARE APPNOTE.TXT,
// https://pkware.cachefly.net/webdocs/casestudies/APPNOTE.TXT):
//
//   [local header 1][data 1] ... [local header n][data n][central directory][end record]
//
// The reader trusts only the central directory (torch.save writes local headers with zero
// sizes and a data descriptor after the data, flag bit 3), finds it through the end record
// (or the zip64 end record where a field is saturated), and checks every entry's CRC-32 when
// it is read, as PyTorch's miniz-based reader does. Entries are stored (method 0, returned
// as views of the input) or deflated (method 8, inflated by a function the caller passes,
// so this file needs no Node API). Every offset and size is checked against the input, and
// a deflated entry may claim at most MAX_DEFLATE_RATIO times its compressed size, so what
// reading allocates is bounded by the input's size.
//
// The writer stores entries uncompressed and pads each local header with an extra field
// (id 'FB', as PyTorch's writer in caffe2/serialize/inline_container.cc) so that every
// entry's data starts at a multiple of 64 bytes; it writes no zip64 records, so archives
// are limited to 4 GiB and 65535 entries.

import { crc32 } from './crc32.js';

/** Inflates raw deflate data (RFC 1951) into at most `size` bytes, e.g. node:zlib's inflateRawSync. */
export type InflateRaw = (compressed: Uint8Array, size: number) => Uint8Array;

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflated. */
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  /** Offset of the entry's local header. */
  headerOffset: number;
}

/** Deflate compresses by at most 1032:1 (RFC 1951's longest match per bit); a larger claim is not deflate data. */
const MAX_DEFLATE_RATIO = 1032;
const END = 0x06054b50;
const END64 = 0x06064b50;
const END64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

function fail(message: string): never {
  throw new Error(`zip: ${message}`);
}

/** Little-endian reads that refuse to run past the input. */
class Reader {
  readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  check(at: number, length: number, what: string): void {
    if (at < 0 || at + length > this.bytes.byteLength) fail(`${what} at byte ${at} (${length} bytes) runs past the end of the ${this.bytes.byteLength}-byte file`);
  }
  u16(at: number, what: string): number {
    this.check(at, 2, what);
    return this.view.getUint16(at, true);
  }
  u32(at: number, what: string): number {
    this.check(at, 4, what);
    return this.view.getUint32(at, true);
  }
  u64(at: number, what: string): number {
    this.check(at, 8, what);
    const v = this.view.getBigUint64(at, true);
    if (v > BigInt(this.bytes.byteLength)) fail(`${what} is ${v}, beyond the ${this.bytes.byteLength}-byte file`);
    return Number(v);
  }
}

/** The entries of a zip archive, by name, from its central directory. */
export function readZipDirectory(bytes: Uint8Array): Map<string, ZipEntry> {
  const r = new Reader(bytes);
  let end = -1;
  for (let at = bytes.byteLength - 22; at >= Math.max(0, bytes.byteLength - 22 - 0xffff); at--) {
    if (r.view.getUint32(at, true) === END) {
      end = at;
      break;
    }
  }
  if (end < 0) fail(`no end-of-central-directory record in the ${bytes.byteLength}-byte file (not a zip archive, or truncated)`);
  let count = r.u16(end + 10, 'entry count');
  let directorySize = r.u32(end + 12, 'central directory size');
  let directoryOffset = r.u32(end + 16, 'central directory offset');
  if (count === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff) {
    if (end < 20 || r.u32(end - 20, 'zip64 locator') !== END64_LOCATOR) fail('the end record is saturated but there is no zip64 locator before it');
    const end64 = r.u64(end - 12, 'zip64 end record offset');
    if (r.u32(end64, 'zip64 end record') !== END64) fail(`no zip64 end record at byte ${end64}`);
    count = r.u64(end64 + 32, 'zip64 entry count');
    directorySize = r.u64(end64 + 40, 'zip64 central directory size');
    directoryOffset = r.u64(end64 + 48, 'zip64 central directory offset');
  }
  r.check(directoryOffset, directorySize, 'the central directory');
  if (count * 46 > directorySize) fail(`${count} entries cannot fit in a ${directorySize}-byte central directory`);

  const entries = new Map<string, ZipEntry>();
  let at = directoryOffset;
  for (let i = 0; i < count; i++) {
    if (r.u32(at, 'central directory entry') !== CENTRAL) fail(`central directory entry ${i} at byte ${at} has a bad signature`);
    const flags = r.u16(at + 8, 'flags');
    const method = r.u16(at + 10, 'method');
    const crc = r.u32(at + 16, 'crc');
    let compressedSize = r.u32(at + 20, 'compressed size');
    let size = r.u32(at + 24, 'size');
    const nameLength = r.u16(at + 28, 'name length');
    const extraLength = r.u16(at + 30, 'extra length');
    const commentLength = r.u16(at + 32, 'comment length');
    let headerOffset = r.u32(at + 42, 'local header offset');
    r.check(at + 46, nameLength + extraLength + commentLength, `entry ${i}'s name and extra fields`);
    const name = new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLength));
    // Zip64 extra field (id 1): 8-byte values for exactly the saturated 4-byte fields, in this order.
    for (let e = at + 46 + nameLength; e + 4 <= at + 46 + nameLength + extraLength; ) {
      const id = r.u16(e, 'extra field id');
      const length = r.u16(e + 2, 'extra field length');
      if (id === 1) {
        let v = e + 4;
        const next = (what: string) => {
          if (v + 8 > e + 4 + length) fail(`entry '${name}': zip64 extra field too short for the ${what}`);
          const value = r.u64(v, `entry '${name}' ${what}`);
          v += 8;
          return value;
        };
        if (size === 0xffffffff) size = next('size');
        if (compressedSize === 0xffffffff) compressedSize = next('compressed size');
        if (headerOffset === 0xffffffff) headerOffset = next('header offset');
      }
      e += 4 + length;
    }
    if (flags & 1) fail(`entry '${name}' is encrypted`);
    if (method !== 0 && method !== 8) fail(`entry '${name}' uses compression method ${method} (only 0, stored, and 8, deflate, are read)`);
    if (method === 0 && compressedSize !== size) fail(`stored entry '${name}' has compressed size ${compressedSize} but size ${size}`);
    if (method === 8 && size > compressedSize * MAX_DEFLATE_RATIO + 64) fail(`deflated entry '${name}' claims ${size} bytes from ${compressedSize}, more than deflate can expand`);
    if (entries.has(name)) fail(`entry '${name}' appears twice`);
    entries.set(name, { name, method, crc, compressedSize, size, headerOffset });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** The uncompressed bytes of `entry` (a view of `bytes` when stored), after checking its CRC-32. */
export function readZipEntry(bytes: Uint8Array, entry: ZipEntry, inflateRaw?: InflateRaw): Uint8Array {
  const r = new Reader(bytes);
  const at = entry.headerOffset;
  if (r.u32(at, `local header of '${entry.name}'`) !== LOCAL) fail(`entry '${entry.name}': no local header at byte ${at}`);
  const start = at + 30 + r.u16(at + 26, 'name length') + r.u16(at + 28, 'extra length');
  r.check(start, entry.compressedSize, `the data of '${entry.name}'`);
  const raw = bytes.subarray(start, start + entry.compressedSize);
  let data = raw;
  if (entry.method === 8) {
    if (inflateRaw === undefined) fail(`entry '${entry.name}' is deflated; pass an inflateRaw function (loadPth does)`);
    try {
      data = inflateRaw(raw, entry.size);
    } catch (e) {
      fail(`entry '${entry.name}': inflating failed (${(e as Error).message})`);
    }
    if (data.byteLength !== entry.size) fail(`entry '${entry.name}' inflates to ${data.byteLength} bytes, the directory says ${entry.size}`);
  }
  const crc = crc32(data);
  if (crc !== entry.crc) fail(`entry '${entry.name}' fails its CRC-32 check (computed ${hex(crc)}, stored ${hex(entry.crc)}): the file is corrupt`);
  return data;
}

const hex = (v: number) => `0x${v.toString(16).padStart(8, '0')}`;

/** A zip archive of `files`, stored uncompressed, each file's data aligned to `alignment` bytes. */
export function writeZip(files: readonly { name: string; data: Uint8Array }[], alignment = 64): Uint8Array {
  if (files.length > 0xffff) fail(`cannot write ${files.length} entries without zip64 (at most 65535)`);
  const encoder = new TextEncoder();
  const items = files.map((f) => ({ ...f, nameBytes: encoder.encode(f.name), crc: crc32(f.data), offset: 0, padding: 0 }));
  let at = 0;
  for (const item of items) {
    item.offset = at;
    const unpadded = at + 30 + item.nameBytes.length;
    item.padding = unpadded % alignment === 0 ? 0 : 4 + ((alignment - ((unpadded + 4) % alignment)) % alignment);
    at = unpadded + item.padding + item.data.byteLength;
  }
  const directoryOffset = at;
  const directorySize = items.reduce((n, item) => n + 46 + item.nameBytes.length, 0);
  const total = directoryOffset + directorySize + 22;
  if (total > 0xffffffff) fail(`an archive of ${total} bytes needs zip64, which this writer does not produce (at most 4 GiB)`);

  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  const common = (p: number, item: (typeof items)[number]) => {
    view.setUint16(p, 20, true); // version needed: 2.0
    view.setUint16(p + 2, 0x0800, true); // flags: names are UTF-8
    view.setUint16(p + 4, 0, true); // stored
    view.setUint32(p + 6, 0, true); // DOS time and date: none, so that output is reproducible
    view.setUint32(p + 10, item.crc, true);
    view.setUint32(p + 14, item.data.byteLength, true);
    view.setUint32(p + 18, item.data.byteLength, true);
    view.setUint16(p + 22, item.nameBytes.length, true);
  };
  for (const item of items) {
    const p = item.offset;
    view.setUint32(p, LOCAL, true);
    common(p + 4, item);
    view.setUint16(p + 28, item.padding, true);
    out.set(item.nameBytes, p + 30);
    if (item.padding > 0) {
      const e = p + 30 + item.nameBytes.length;
      view.setUint16(e, 0x4246, true); // 'FB'
      view.setUint16(e + 2, item.padding - 4, true);
      out.fill(0x5a, e + 4, e + item.padding); // 'Z'
    }
    out.set(item.data, p + 30 + item.nameBytes.length + item.padding);
  }
  let p = directoryOffset;
  for (const item of items) {
    view.setUint32(p, CENTRAL, true);
    view.setUint16(p + 4, 20, true); // version made by
    common(p + 6, item);
    // extra length, comment length, disk, internal and external attributes: 0
    view.setUint32(p + 42, item.offset, true);
    out.set(item.nameBytes, p + 46);
    p += 46 + item.nameBytes.length;
  }
  view.setUint32(p, END, true);
  view.setUint16(p + 8, items.length, true);
  view.setUint16(p + 10, items.length, true);
  view.setUint32(p + 12, directorySize, true);
  view.setUint32(p + 16, directoryOffset, true);
  return out;
}
