import { expect } from 'chai';
import fc from 'fast-check';
import { deflateRawSync } from 'node:zlib';
import { Tensor, tensor } from '@dinots/tensor';
import { Namespace, loadPth, parsePth, serializePth } from '../src/index.js';
import { readZipDirectory, writeZip } from '../src/pth/zip.js';
import { crc32, crc32Reference } from '../src/pth/crc32.js';

// Hand-assembled pickles: numbers are opcode or argument bytes, strings their ASCII text.
type Part = number | string | Uint8Array;
function bytesOf(...parts: Part[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') out.push(p);
    else if (typeof p === 'string') out.push(...new TextEncoder().encode(p));
    else out.push(...p);
  }
  return Uint8Array.from(out);
}
const u32 = (n: number) => bytesOf(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24);
/** BINUNICODE */
const str = (s: string) => bytesOf('X', u32(new TextEncoder().encode(s).length), s);
/** _rebuild_tensor_v2(storage(type, key, numel), offset, size, stride, False, {}) */
function tensorOps(storageType: string, key: string, numel: number, offset: number, size: number[], stride: number[]): Uint8Array {
  const tuple = (xs: number[]) => bytesOf('(', ...xs.flatMap((x) => ['J', u32(x)]), 't');
  return bytesOf('c', 'torch._utils\n_rebuild_tensor_v2\n', '((', str('storage'), 'c', `torch\n${storageType}\n`, str(key), str('cpu'), 'J', u32(numel), 't', 'Q',
    'J', u32(offset), tuple(size), tuple(stride), 0x89, '}', 't', 'R');
}
/** A torch.save-layout zip around a pickle body (protocol 2 header and STOP added) and storages. */
function pth(body: Uint8Array, storages: Record<string, Uint8Array> = {}): Uint8Array {
  return writeZip([
    { name: 'archive/data.pkl', data: bytesOf(0x80, 2, body, '.') },
    ...Object.entries(storages).map(([k, data]) => ({ name: `archive/data/${k}`, data })),
    { name: 'archive/version', data: bytesOf('3\n') },
  ]);
}
const bytesFrom = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** A comparable form of a loaded value: tensors as dtype, shape and values. */
function canon(v: unknown): unknown {
  if (v instanceof Tensor) return { dtype: v.dtype, shape: [...v.shape], values: Array.from(v.contiguous().dataSync()) };
  if (Array.isArray(v)) return v.map(canon);
  if (v instanceof Map) return { map: [...v].map(([k, x]) => [k, canon(x)]) };
  if (v instanceof Namespace) return { namespace: canon({ ...v }) };
  if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array) && !(v instanceof Set)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, canon(x)]));
  return v;
}

const expectError = (f: () => unknown, pattern: RegExp) => expect(f).to.throw(Error, pattern);

describe('pth: torch.save format', () => {
  it('round-trips every dinots dtype, keeping shapes, strides, offsets and shared storages', () => {
    const base = tensor([0, 1.5, -2, 3, 4, 5], { shape: [2, 3] });
    const value = {
      base,
      transposed: base.transpose(0, 1),
      row: base.select(0, 1),
      f64: tensor([1e-300, -0.1], { dtype: 'float64' }),
      i32: tensor([-(2 ** 31), 2 ** 31 - 1, 0], { dtype: 'int32' }),
      mask: tensor([true, false, true]),
      scalar: tensor(Float32Array.of(7), { shape: [] }),
      empty: tensor(new Float32Array(0), { shape: [0, 4] }),
    };
    const loaded = parsePth(serializePth(value)) as Record<string, Tensor>;
    expect(canon(loaded)).to.deep.equal(canon(value));
    expect(loaded.transposed.strides).to.deep.equal([1, 3]);
    expect(loaded.row.offset).to.equal(3);
    expect(loaded.transposed.storage).to.equal(loaded.base.storage);
    expect(loaded.row.storage).to.equal(loaded.base.storage);
    expect(loaded.f64.dtype).to.equal('float64');
  });

  it('round-trips plain data: ints of every width, floats, strings, Maps with int keys, Namespaces, shared objects, long lists', () => {
    const shared = { lr: 0.5 };
    const value = {
      ints: [0, 255, 256, 65535, 65536, -1, -(2 ** 31), 2 ** 31, Number.MAX_SAFE_INTEGER, -(2 ** 40)],
      big: [2n ** 64n, -(2n ** 70n)],
      floats: [0.1, -1e-310, Infinity, -Infinity],
      text: ['', 'ViT ∞ 🦖', '__proto__'],
      flags: [true, false, null],
      state: new Map<number, unknown>([[0, { step: 3 }], [7, { step: 4 }]]),
      args: new Namespace({ arch: 'vit_small', patch_size: 16 }),
      groups: [shared, shared],
      // Past the pickler's first buffer, past one memo byte (256 entries) and one APPENDS batch (1000 items).
      many: Array.from({ length: 2500 }, (_, i) => ({ i, x: i + 0.25, name: `p${i}` })),
    };
    const loaded = parsePth(serializePth(value)) as Record<string, unknown>;
    expect(canon(loaded)).to.deep.equal(canon(value));
    expect(loaded.args).to.be.instanceOf(Namespace);
    const groups = loaded.groups as unknown[];
    expect(groups[0]).to.equal(groups[1]);
    const nan = parsePth(serializePth({ x: NaN })) as { x: number };
    expect(nan.x).to.be.NaN;
  });

  it('refuses cyclic data and values torch cannot load, naming where they are', () => {
    const cyclic: unknown[] = [];
    cyclic.push({ again: cyclic });
    expectError(() => serializePth({ a: cyclic }), /savePth: the object at 'a\[0\]\.again' contains itself/);
    expectError(() => serializePth({ f: () => 1 }), /savePth: cannot save the function at 'f'/);
    expectError(() => serializePth({ d: new Date() }), /savePth: cannot save the Date at 'd'/);
  });

  it('converts float16, bfloat16, int64, uint8, int8 and int16 storages exactly', () => {
    const cases: [string, Uint8Array, number[], string][] = [
      ['HalfStorage', bytesFrom(Uint16Array.of(0x3c00, 0xc000, 0x0001, 0x7c00)), [1, -2, 2 ** -24, Infinity], 'float32'],
      ['BFloat16Storage', bytesFrom(Uint16Array.of(0x3f80, 0xc040, 0x0080)), [1, -3, 2 ** -126], 'float32'],
      ['LongStorage', bytesFrom(BigInt64Array.of(-(2n ** 31n), 2n ** 31n - 1n, 5n)), [-(2 ** 31), 2 ** 31 - 1, 5], 'int32'],
      ['ByteStorage', Uint8Array.of(0, 200, 255), [0, 200, 255], 'int32'],
      ['CharStorage', Uint8Array.of(0x80, 0x7f, 0xff), [-128, 127, -1], 'int32'],
      ['ShortStorage', bytesFrom(Int16Array.of(-32768, 32767, 0)), [-32768, 32767, 0], 'int32'],
    ];
    for (const [type, data, values, dtype] of cases) {
      const n = values.length;
      const t = parsePth(pth(tensorOps(type, '0', n, 0, [n], [1]), { 0: data })) as Tensor;
      expect(t.dtype, type).to.equal(dtype);
      expect(Array.from(t.dataSync()), type).to.deep.equal(values);
    }
    const wide = pth(tensorOps('LongStorage', '0', 2, 0, [2], [1]), { 0: bytesFrom(BigInt64Array.of(1n, 2n ** 40n)) });
    expectError(() => parsePth(wide), /storage '0': int64 value 1099511627776 at element 1 does not fit in int32/);
  });

  it("reads a state_dict()'s OrderedDict, dropping its _metadata attribute, and protocol 4 opcodes", () => {
    const stateDict = bytesOf('c', 'collections\nOrderedDict\n', ')', 'R', str('w'), 'K', 1, 's', '}', str('_metadata'), '}', 's', 'b');
    expect(parsePth(pth(stateDict))).to.deep.equal({ w: 1 });
    // FRAME, SHORT_BINUNICODE, MEMOIZE, BINGET, EMPTY_SET/ADDITEMS, BINBYTES, LONG1 as pickle.dumps(protocol=4) writes them.
    const protocol4 = bytesOf(0x95, 8, 0, 0, 0, 0, 0, 0, 0, ']', 0x94, '(', 0x8c, 1, 'a', 0x94, 'h', 1, 0x8f, '(', 'K', 2, 0x90, 'C', 2, 'hi', 0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 1, 'e');
    expect(parsePth(pth(protocol4))).to.deep.equal(['a', 'a', new Set([2]), Uint8Array.of(0x68, 0x69), 2n ** 64n]);
  });

  it('refuses every global outside the allow-list by name, before calling anything', () => {
    const call = (global: Uint8Array) => pth(bytesOf(global, str('touch /tmp/pwned'), 0x85, 'R'));
    expectError(() => parsePth(call(bytesOf('c', 'os\nsystem\n'))), /global 'os\.system' is not allowed/);
    expectError(() => parsePth(call(bytesOf('c', 'posix\nsystem\n'))), /global 'posix\.system' is not allowed/);
    // Protocol 4's STACK_GLOBAL takes the names from the stack.
    expectError(() => parsePth(call(bytesOf(0x8c, 8, 'builtins', 0x8c, 4, 'eval', 0x93))), /global 'builtins\.eval' is not allowed/);
    expectError(() => parsePth(call(bytesOf('c', 'torch\nload\n'))), /global 'torch\.load' is not allowed/);
    // The refusal comes before any storage is read: the tensor met first has data that fails its CRC.
    const corruptData = (file: Uint8Array) => {
      const entry = readZipDirectory(file).get('archive/data/0')!;
      file[Math.ceil((entry.headerOffset + 30 + entry.name.length) / 64) * 64] ^= 1; // the writer aligns data to 64 bytes
      return file;
    };
    const one = { 0: bytesFrom(Float32Array.of(1)) };
    expectError(() => parsePth(corruptData(pth(tensorOps('FloatStorage', '0', 1, 0, [1], [1]), one))), /fails its CRC-32 check/);
    const tensorFirst = corruptData(pth(bytesOf(tensorOps('FloatStorage', '0', 1, 0, [1], [1]), 'c', 'os\nsystem\n', str('ls'), 0x85, 'R', 0x86), one));
    expectError(() => parsePth(tensorFirst), /global 'os\.system' is not allowed/);
    // Allowed globals only do what they declare: a storage class cannot be called.
    expectError(() => parsePth(call(bytesOf('c', 'torch\nFloatStorage\n'))), /torch\.FloatStorage cannot be called/);
  });

  it('refuses views outside their storage, mismatched storages, cycles, huge lengths and non-torch files', () => {
    const four = bytesFrom(Float32Array.of(1, 2, 3, 4));
    expectError(() => parsePth(pth(tensorOps('FloatStorage', '0', 4, 2, [3], [1]), { 0: four })), /size \[3\], stride \[1\] and offset 2 reaches past storage '0' of 4 elements/);
    expectError(() => parsePth(pth(tensorOps('FloatStorage', '0', 4, 0, [2, 2], [3, 1]), { 0: four })), /reaches past storage '0'/);
    expectError(() => parsePth(pth(tensorOps('FloatStorage', '0', 5, 0, [4], [1]), { 0: four })), /should hold 5 float32 \(20 bytes\) but its entry has 16 bytes/);
    expectError(() => parsePth(pth(tensorOps('FloatStorage', '1', 4, 0, [4], [1]), { 0: four })), /storage '1' has no entry archive\/data\/1/);
    expectError(() => parsePth(pth(tensorOps('ComplexFloatStorage', '0', 2, 0, [2], [1]), { 0: four })), /global 'torch\.ComplexFloatStorage' is not allowed/);
    // A list that contains itself through the memo.
    expectError(() => parsePth(pth(bytesOf(']', 'q', 0, 'h', 0, 'a'))), /a container contains itself/);
    expectError(() => parsePth(pth(bytesOf('X', u32(0xffffffff), 'abc'))), /needs 4294967295 more bytes but only/);
    expectError(() => parsePth(bytesOf(0x80, 2, 'N.')), /legacy torch\.save file/);
    expectError(() => parsePth(writeZip([{ name: 'x/other.pkl', data: bytesOf('N.') }])), /expected one <folder>\/data\.pkl/);
    expectError(() => parsePth(new Uint8Array(100)), /zip: no end-of-central-directory record/);
  });

  it('reads deflated entries through loadPth and checks every CRC-32', () => {
    expect(crc32(bytesOf('123456789'))).to.equal(0xcbf43926); // the standard check value
    fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), (b) => crc32(b) === crc32Reference(b)), { numRuns: 300 });
    const stored = serializePth({ w: tensor([1, 2, 3, 4, 5, 6, 7, 8]) });
    // Rebuild the archive with every entry deflated, as Python's zipfile.ZIP_DEFLATED would.
    const entries = readZipDirectory(stored);
    const files = [...entries.values()].map((e) => {
      const start = e.headerOffset + 30 + new DataView(stored.buffer).getUint16(e.headerOffset + 26, true) + new DataView(stored.buffer).getUint16(e.headerOffset + 28, true);
      return { name: e.name, data: stored.subarray(start, start + e.size) };
    });
    const deflated = deflatedZip(files);
    expect(canon(loadPth(deflated))).to.deep.equal(canon({ w: tensor([1, 2, 3, 4, 5, 6, 7, 8]) }));
    expectError(() => parsePth(deflated), /is deflated; pass an inflateRaw function/);
    // A deflated entry claiming more than deflate can expand to (a zip bomb) is refused before inflating.
    const bomb = deflated.slice();
    const bombView = new DataView(bomb.buffer);
    const directory = bombView.getUint32(bomb.length - 22 + 16, true);
    bombView.setUint32(directory + 24, 0xfffffff0, true); // the first entry's size
    expectError(() => loadPth(bomb), /deflated entry 'archive\/data\.pkl' claims 4294967280 bytes from \d+, more than deflate can expand/);
    const corrupt = stored.slice();
    corrupt[readZipDirectory(corrupt).get('archive/data/0')!.headerOffset + 64 + 2] ^= 1;
    expectError(() => parsePth(corrupt), /entry 'archive\/data\/0' fails its CRC-32 check/);
  });

  describe('fuzzing: every corrupt input gives a clear Error', () => {
    const valid = serializePth({
      student: { 'module.w': tensor([1, 2, 3, 4, 5, 6], { shape: [2, 3] }), 'module.b': tensor([0.5]) },
      optimizer: { state: new Map([[0, { step: 1 }]]), param_groups: [{ lr: 0.001, params: [0, 1] }] },
      args: new Namespace({ arch: 'vit_small' }), epoch: 3,
    });
    const expected = canon(parsePth(valid));
    const clear = /^(zip|pickle|loadPth): /;
    const outcome = (bytes: Uint8Array): { ok: true; value: unknown } | { ok: false } => {
      try {
        return { ok: true, value: canon(parsePth(bytes)) };
      } catch (e) {
        expect(e).to.be.instanceOf(Error);
        expect((e as Error).message).to.match(clear);
        return { ok: false };
      }
    };

    it('truncated files', () => {
      fc.assert(fc.property(fc.integer({ min: 0, max: valid.length - 1 }), (n) => !outcome(valid.subarray(0, n)).ok), { numRuns: 300 });
    });

    it('flipped bytes are refused or change nothing the file holds', () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: valid.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, mask) => {
          const corrupt = valid.slice();
          corrupt[at] ^= mask;
          const r = outcome(corrupt);
          if (r.ok) expect(r.value).to.deep.equal(expected);
        }),
        { numRuns: 500 },
      );
    });

    it('random opcode streams, huge lengths and bogus memo references', () => {
      const opcodes = [0x80, 0x95, 0x28, 0x30, 0x31, 0x32, 0x4e, 0x88, 0x89, 0x4a, 0x4b, 0x4d, 0x8a, 0x8b, 0x47, 0x58, 0x8c, 0x8d, 0x55, 0x42, 0x43, 0x8e,
        0x29, 0x74, 0x85, 0x86, 0x87, 0x5d, 0x61, 0x65, 0x6c, 0x7d, 0x64, 0x73, 0x75, 0x8f, 0x90, 0x91, 0x63, 0x93, 0x52, 0x81, 0x92, 0x62, 0x51,
        0x68, 0x6a, 0x71, 0x72, 0x94, 0x2e, 0x00, 0xff];
      const token = fc.oneof(
        fc.constantFrom(...opcodes).map((op) => [op]),
        fc.uint8Array({ maxLength: 9 }).map((b) => [...b]),
        fc.constantFrom([0xff, 0xff, 0xff, 0xff], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]),
      );
      fc.assert(
        fc.property(fc.array(token, { maxLength: 40 }), (tokens) => {
          outcome(pth(Uint8Array.from(tokens.flat())));
        }),
        { numRuns: 1000 },
      );
    });

    it('tensors with random offsets, sizes and strides are refused or stay inside their storage', () => {
      const count = fc.integer({ min: 0, max: 2 ** 31 - 1 });
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 40 }), count, fc.array(fc.tuple(fc.oneof(fc.integer({ min: 0, max: 8 }), count), fc.oneof(fc.integer({ min: 0, max: 8 }), count)), { maxLength: 4 }), (numel, offset, dims) => {
          const file = pth(tensorOps('FloatStorage', '0', numel, offset, dims.map((d) => d[0]), dims.map((d) => d[1])), { 0: new Uint8Array(4 * Math.min(numel, 8)) });
          const r = outcome(file);
          if (r.ok) {
            const t = (r.value as { values: number[] }).values;
            expect(t.every((x) => x === 0)).to.equal(true);
          }
        }),
        { numRuns: 500 },
      );
    });
  });
});

/** A zip archive with every entry deflated (method 8). */
function deflatedZip(files: { name: string; data: Uint8Array }[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const f of files) {
    const name = new TextEncoder().encode(f.name);
    const packed = deflateRawSync(f.data);
    const header = (signature: number, size: number) => {
      const h = new Uint8Array(size + name.length);
      const v = new DataView(h.buffer);
      v.setUint32(0, signature, true);
      const p = signature === 0x02014b50 ? 6 : 4;
      v.setUint16(p, 20, true);
      v.setUint16(p + 4, 8, true);
      v.setUint32(p + 10, crc32(f.data), true);
      v.setUint32(p + 14, packed.length, true);
      v.setUint32(p + 18, f.data.length, true);
      v.setUint16(p + 22, name.length, true);
      if (signature === 0x02014b50) v.setUint32(42, offset, true);
      h.set(name, size);
      return h;
    };
    const local = header(0x04034b50, 30);
    central.push(header(0x02014b50, 46));
    parts.push(local, packed);
    offset += local.length + packed.length;
  }
  const directory = bytesOf(...central);
  const end = new Uint8Array(22);
  const v = new DataView(end.buffer);
  v.setUint32(0, 0x06054b50, true);
  v.setUint16(8, files.length, true);
  v.setUint16(10, files.length, true);
  v.setUint32(12, directory.length, true);
  v.setUint32(16, offset, true);
  return bytesOf(...parts, directory, end);
}
