// Test-only reader for the golden PyTorch tensors in test/fixtures/golden (safetensors:
// 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}},
// then the raw little-endian bytes). Only F64 is needed: every golden tensor is float64.

import { readFileSync } from 'node:fs';
import { type Tensor, tensor } from '@dinots/tensor';

const file = new URL('../../../../test/fixtures/golden/dino-tiny.safetensors', import.meta.url);

let cache: Map<string, Tensor> | null = null;

function load(): Map<string, Tensor> {
  const bytes = readFileSync(file);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const base = 8 + headerLength;
  const out = new Map<string, Tensor>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (entry.dtype !== 'F64') throw new Error(`golden: ${name} has dtype ${entry.dtype}, expected F64`);
    const [start, end] = entry.data_offsets;
    const values = new Float64Array((end - start) / 8);
    for (let i = 0; i < values.length; i++) values[i] = bytes.readDoubleLE(base + start + 8 * i);
    out.set(name, tensor(values, { shape: entry.shape, dtype: 'float64' }));
  }
  return out;
}

/** The golden tensor called `name` (float64). */
export function golden(name: string): Tensor {
  cache ??= load();
  const t = cache.get(name);
  if (t === undefined) throw new Error(`golden: no tensor named ${name}`);
  return t;
}

/** The largest absolute elementwise difference between two tensors of the same shape. */
export function maxAbsDiff(a: Tensor, b: Tensor): number {
  if (a.shape.join() !== b.shape.join()) throw new Error(`maxAbsDiff: shapes [${a.shape}] and [${b.shape}] differ`);
  const x = a.dataSync();
  const y = b.dataSync();
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
  return Number.isNaN(worst) ? Infinity : worst;
}
