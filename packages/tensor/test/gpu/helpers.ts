// Shared pieces of the GPU tests: inputs laid out as random views, and comparison with a
// float64 CPU reference within float32 tolerances. Reads are `await t.data()`, the one
// read every mode has (webgpu mode has no synchronous read).

import { expect } from 'chai';
import { type Device, Generator, type Tensor, cat, randn, stack, tensor, zeros } from '../../src/index.js';

/** How a test input is laid out in memory: the values are the same, the strides are not. */
export type Layout = 'contiguous' | 'transposed' | 'strided' | 'offset';
export const LAYOUTS: readonly Layout[] = ['contiguous', 'transposed', 'strided', 'offset'];

/** A float32 CPU tensor of N(0, scale^2) draws from `seed`. */
export function sample(shape: readonly number[], seed: number, scale = 1): Tensor {
  return randn(shape, { generator: new Generator(seed) }).mul(scale);
}

/**
 * t's values on `device` as a view with the given layout: reversed dims over a transposed
 * copy, every other element of a twice-as-long last dim, or a slice that starts past
 * other data (a nonzero offset).
 */
export function place(t: Tensor, device: Device, layout: Layout): Tensor {
  const n = t.ndim;
  if (layout === 'transposed' && n >= 2) {
    const reversed = t.shape.map((_, i) => n - 1 - i);
    return t.permute(reversed).contiguous().to(device).permute(reversed);
  }
  if (layout === 'strided' && n >= 1) {
    const wide = stack([t, zeros(t.shape).add(7)], -1).flatten(-2);
    return wide.to(device).slice(-1, 0, null, 2);
  }
  if (layout === 'offset' && n >= 1) {
    const before = zeros([1, ...t.shape.slice(1)]).add(-3);
    return cat([before, t], 0).to(device).narrow(0, 1, t.shape[0]);
  }
  return t.to(device);
}

export interface Tolerance {
  atol: number;
  rtol: number;
}

export const FLOAT32: Tolerance = { atol: 1e-5, rtol: 1e-4 };

/** t (any device) as a CPU tensor, read asynchronously. */
export async function toCpu(t: Tensor): Promise<Tensor> {
  return tensor(await t.data(), { shape: t.shape });
}

/** got (any device, any dtype) equals the float64 reference elementwise within tol (NaN matches NaN). */
export async function expectClose(got: Tensor, reference: Tensor, tol: Tolerance, label: string): Promise<void> {
  expect(got.shape, `${label}: shape`).to.deep.equal(reference.shape);
  const g = await got.data();
  const r = await reference.data();
  for (let i = 0; i < r.length; i++) {
    const a = Number(g[i]);
    const b = Number(r[i]);
    if (Number.isNaN(b) && Number.isNaN(a)) continue;
    if (!(Math.abs(a - b) <= tol.atol + tol.rtol * Math.abs(b))) {
      expect.fail(`${label}: element ${i} of shape [${got.shape.join(', ')}] is ${a}, expected ${b} (atol ${tol.atol}, rtol ${tol.rtol})`);
    }
  }
}

/** How many fast-check runs a property gets on this device (GPU kernels compile per shape). */
export function runs(device: Device): number {
  return device === 'cpu' ? 40 : 12;
}
