import { expect } from 'chai';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuStorage, tensor } from '@dinots/tensor';
import { Linear, loadSafetensors, parseSafetensors, saveSafetensors, serializeSafetensors } from '../src/index.js';
import { bfloat16ToFloat, floatToBfloat16, floatToHalf, halfToFloat } from '../src/safetensors.js';

/** A file from a header object and raw data bytes, as a hand-written (or corrupt) writer would make it. */
function craft(header: unknown, data: number[] | Uint8Array, headerLength?: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength ?? json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const headerText = (bytes: Uint8Array) => new TextDecoder().decode(bytes.subarray(8, 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true))));

describe('safetensors', () => {
  it('writes the reference layout: sorted by dtype then name, __metadata__ first, header padded with spaces to 8 bytes', () => {
    const bytes = serializeSafetensors({ attn0: tensor([0, 1, 2, 3, 4, 5], { shape: [1, 1, 2, 3] }) });
    // The same bytes as the reference implementation's own serialisation test.
    expect(new DataView(bytes.buffer).getBigUint64(0, true)).to.equal(72n);
    expect(headerText(bytes)).to.equal('{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       ');
    expect(Array.from(bytes.subarray(80, 88))).to.deep.equal([0, 0, 0, 0, 0, 0, 128, 63]);
    expect(headerText(serializeSafetensors({}, { framework: 'pt' }))).to.equal('{"__metadata__":{"framework":"pt"}}     ');
    const mixed = serializeSafetensors({ b: tensor([1]), a: tensor([true]), c: tensor([1], { dtype: 'float64' }), d: tensor([7], { dtype: 'int32' }) });
    expect(Object.keys(JSON.parse(headerText(mixed)))).to.deep.equal(['c', 'b', 'd', 'a']);
  });

  it('round-trips F64, F32, I32, BOOL and metadata through a file, with zero-copy views', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dinots-st-'));
    try {
      const tensors = {
        w: tensor([[1.5, -2.25e-300], [Math.PI, -0]], { dtype: 'float64' }),
        f: tensor([0.1, 3e38, -7], { dtype: 'float32' }),
        i: tensor([-2147483648, 0, 2147483647], { dtype: 'int32' }),
        m: tensor([true, false, true]),
        scalar: tensor(2.5, { dtype: 'float64' }),
      };
      saveSafetensors(join(dir, 'x.safetensors'), tensors, { format: 'pt', note: 'é' });
      const loaded = loadSafetensors(join(dir, 'x.safetensors'));
      for (const [k, t] of Object.entries(tensors)) {
        expect(loaded[k].dtype, k).to.equal(t.dtype);
        expect(loaded[k].shape, k).to.deep.equal(t.shape);
        expect(Array.from(loaded[k].dataSync()), k).to.deep.equal(Array.from(t.dataSync()));
      }
      const bytes = serializeSafetensors(tensors, { format: 'pt' });
      const parsed = parseSafetensors(bytes);
      expect(parsed.metadata).to.deep.equal({ format: 'pt' });
      expect((parsed.tensors.w.storage as CpuStorage).data.buffer).to.equal(bytes.buffer);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it("keeps a tensor named '__proto__' as data", () => {
    const tensors = Object.fromEntries([['__proto__', tensor([1, 2])]]);
    const back = parseSafetensors(serializeSafetensors(tensors)).tensors;
    expect(Object.keys(back)).to.deep.equal(['__proto__']);
    expect(Array.from(Object.getOwnPropertyDescriptor(back, '__proto__')!.value.dataSync())).to.deep.equal([1, 2]);
  });

  it('copies instead of viewing when the data is misaligned', () => {
    const bytes = serializeSafetensors({ w: tensor([1, 2, 3], { dtype: 'float64' }) });
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const t = parseSafetensors(shifted.subarray(1)).tensors.w;
    expect(Array.from(t.dataSync())).to.deep.equal([1, 2, 3]);
    expect((t.storage as CpuStorage).data.buffer).to.not.equal(shifted.buffer);
  });

  it('loads a model state dict saved by itself (round trip through loadStateDict)', () => {
    const a = new Linear(3, 2, { dtype: 'float64' });
    const b = new Linear(3, 2, { dtype: 'float64' });
    b.loadStateDict(parseSafetensors(serializeSafetensors(a.stateDict())).tensors);
    expect(b.weight.toArray()).to.deep.equal(a.weight.toArray());
  });

  it('round-trips any float64 values exactly (property)', () => {
    fc.assert(
      fc.property(fc.float64Array({ minLength: 0, maxLength: 40 }), (values) => {
        const back = parseSafetensors(serializeSafetensors({ t: tensor(values, { dtype: 'float64' }) })).tensors.t.dataSync();
        return back.length === values.length && values.every((v, i) => Object.is(v, back[i]));
      }),
      { numRuns: 200 },
    );
  });

  it('stores float32 as F16/BF16 and int32 as I64 on request, and loads them as float32/int32', () => {
    const f = tensor([1, -2.5, 65504, 1e-7, 1 + 2 ** -8], { dtype: 'float32' });
    const i = tensor([-5, 2147483647], { dtype: 'int32' });
    const half = parseSafetensors(serializeSafetensors({ f }, undefined, { storeAs: { float32: 'F16' } })).tensors.f;
    expect(half.dtype).to.equal('float32');
    expect(Array.from(half.dataSync())).to.deep.equal([1, -2.5, 65504, 2 * 2 ** -24, 1 + 2 ** -8]);
    const bf = parseSafetensors(serializeSafetensors({ f }, undefined, { storeAs: { float32: 'BF16' } })).tensors.f;
    expect(Array.from(bf.dataSync())).to.deep.equal([1, -2.5, 65536, 1.0011717677116394e-7, 1]);
    const wide = serializeSafetensors({ i }, undefined, { storeAs: { int32: 'I64' } });
    expect(JSON.parse(headerText(wide)).i.dtype).to.equal('I64');
    const back = parseSafetensors(wide).tensors.i;
    expect(back.dtype).to.equal('int32');
    expect(Array.from(back.dataSync())).to.deep.equal([-5, 2147483647]);
    expect(() => serializeSafetensors({ i }, undefined, { storeAs: { int32: 'F16' } })).to.throw("safetensors: cannot store 'i' (dtype int32) as F16");
  });

  it('converts 16-bit floats exactly: every F16 and BF16 bit pattern survives decode + encode', () => {
    for (let h = 0; h < 65536; h++) {
      const x = halfToFloat(h);
      if (Number.isNaN(x)) continue;
      if (floatToHalf(x) !== h) throw new Error(`F16 0x${h.toString(16)} -> ${x} -> 0x${floatToHalf(x).toString(16)}`);
      const y = bfloat16ToFloat(h);
      if (!Number.isNaN(y) && floatToBfloat16(y) !== h) throw new Error(`BF16 0x${h.toString(16)} -> ${y}`);
    }
    // Rounding to nearest even, overflow to infinity, subnormals, NaN.
    expect(floatToHalf(65520)).to.equal(0x7c00);
    expect(floatToHalf(2 ** -25)).to.equal(0);
    expect(floatToHalf(1.5 * 2 ** -24)).to.equal(2);
    expect(floatToHalf(1 + 3 * 2 ** -11)).to.equal(0x3c02);
    expect(floatToHalf(NaN) & 0x7c00).to.equal(0x7c00);
    expect(floatToBfloat16(1 + 3 * 2 ** -8)).to.equal(0x3f82);
    expect(Number.isNaN(bfloat16ToFloat(floatToBfloat16(NaN)))).to.equal(true);
  });

  describe('rejects corrupt input with a clear error', () => {
    const entry = (dtype: string, shape: number[], offsets: [number, number]) => ({ dtype, shape, data_offsets: offsets });
    const cases: [string, Uint8Array, string | RegExp][] = [
      ['a truncated file (shorter than the length field)', new Uint8Array(5), 'safetensors: file is 5 bytes, too short for the 8-byte header length'],
      ['a truncated file (data cut off)', craft({ a: entry('F64', [2], [0, 16]) }, new Uint8Array(10)), "safetensors: tensor 'a': data_offsets [0, 16] run past the end of the 10-byte data section"],
      ['a header length past the end', craft({ a: entry('F32', [1], [0, 4]) }, new Uint8Array(4), 5000), /header length 5000 runs past the end of the \d+-byte file/],
      ['offsets out of range', craft({ a: entry('F32', [1], [0, 4]), b: entry('F32', [1], [8, 12]) }, new Uint8Array(8)), /tensor 'b': data_offsets \[8, 12\] run past the end/],
      ['overlapping offsets', craft({ a: entry('F32', [2], [0, 8]), b: entry('F32', [1], [4, 8]) }, new Uint8Array(8)), "safetensors: tensor 'b': data_offsets [4, 8] overlap the previous tensor (which ends at 8)"],
      ['a gap between tensors', craft({ a: entry('F32', [1], [0, 4]), b: entry('F32', [1], [8, 12]) }, new Uint8Array(12)), /leave a gap after byte 4/],
      ['trailing bytes', craft({ a: entry('F32', [1], [0, 4]) }, new Uint8Array(6)), 'safetensors: tensors cover 4 bytes but the data section has 6'],
      ['an unknown dtype', craft({ a: entry('F8_E4M3', [1], [0, 1]) }, new Uint8Array(1)), /tensor 'a': unknown dtype "F8_E4M3"/],
      ['shape/size disagreement', craft({ a: entry('F32', [2, 3], [0, 16]) }, new Uint8Array(16)), "safetensors: tensor 'a': shape [2, 3] of F32 needs 24 bytes but data_offsets [0, 16] hold 16"],
      ['a header that is not JSON', craft('x', []).map((b, i) => (i === 8 ? 0x7b : b)), /header is not valid UTF-8 JSON/],
      ['an I64 value outside int32', craft({ a: entry('I64', [1], [0, 8]) }, [0, 0, 0, 0, 1, 0, 0, 0]), "safetensors: tensor 'a': I64 value 4294967296 at index 0 does not fit in int32"],
      ['non-string metadata', craft({ __metadata__: { n: 1 } }, []), '__metadata__ must be an object of string values'],
    ];
    for (const [name, bytes, message] of cases) {
      it(name, () => {
        expect(() => parseSafetensors(bytes)).to.throw(message);
      });
    }
  });

  it('refuses non-string metadata when writing, which its own loader would refuse when reading', () => {
    const t = { a: tensor([1]) };
    const bad = <V>(v: unknown) => v as V;
    expect(() => serializeSafetensors(t, bad({ epoch: 3 }))).to.throw(TypeError, /^saveSafetensors: metadata value 'epoch' must be a string \(safetensors __metadata__ holds strings only\), got 3 \(a number\)/);
    expect(() => serializeSafetensors(t, bad({ w: tensor([1]) }))).to.throw(TypeError, /metadata value 'w' must be a string .*got a Tensor of shape \[1\]/);
    expect(() => serializeSafetensors(t, bad('epoch=3'))).to.throw(TypeError, /^saveSafetensors: metadata must be an object of string values/);
    expect(() => serializeSafetensors(bad({ a: [1, 2] }))).to.throw(TypeError, /^saveSafetensors: argument 'tensors\['a'\]' must be a Tensor/);
    const dir = mkdtempSync(join(tmpdir(), 'dinots-st-'));
    try {
      expect(() => saveSafetensors(join(dir, 'x.safetensors'), t, bad({ epoch: 3 }))).to.throw(/metadata value 'epoch'/);
      saveSafetensors(join(dir, 'y.safetensors'), t, { epoch: '3' });
      expect(parseSafetensors(serializeSafetensors(t, { epoch: '3' })).metadata).to.deep.equal({ epoch: '3' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
