// Shared pieces of the GPU tests: inputs laid out as random views, and comparison with a
// float64 CPU reference within float32 tolerances. Reads are `await t.data()`, the one
// read every mode has (webgpu mode has no synchronous read).

import { expect } from 'chai';
import { type Device, Generator, type Tensor, cat, layerNorm, memory, noGrad, ones, randn, scope, stack, tensor, zeros } from '../../src/index.js';

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

/** got (any device, any dtype) equals the float64 reference elementwise within tol (NaN matches NaN, an infinity itself). */
export async function expectClose(got: Tensor, reference: Tensor, tol: Tolerance, label: string): Promise<void> {
  expect(got.shape, `${label}: shape`).to.deep.equal(reference.shape);
  const g = await got.data();
  const r = await reference.data();
  for (let i = 0; i < r.length; i++) {
    const a = Number(g[i]);
    const b = Number(r[i]);
    if (a === b || (Number.isNaN(b) && Number.isNaN(a))) continue; // equal infinities too
    if (!(Math.abs(a - b) <= tol.atol + tol.rtol * Math.abs(b))) {
      expect.fail(`${label}: element ${i} of shape [${got.shape.join(', ')}] is ${a}, expected ${b} (atol ${tol.atol}, rtol ${tol.rtol})`);
    }
  }
}

/** How many fast-check runs a property gets on this device (GPU kernels compile per shape). */
export function runs(device: Device): number {
  return device === 'cpu' ? 40 : 12;
}

/**
 * GPU storages allocated and not explicitly freed: unlike memory().storages it does not move
 * when the garbage collector frees tensors that earlier tests forgot.
 */
export function heldStorages(): number {
  const m = memory();
  return m.allocated - m.disposed;
}

/**
 * Twelve SGD steps of a small LayerNorm-GELU MLP on the GPU, each inside a scope that keeps
 * only the loss; `read` reads the loss (synchronously or not). Returns the losses and
 * heldStorages() after each step, for tests that memory stays flat while the loss falls.
 */
export async function gpuTrainingLoop(read: (loss: Tensor) => number | Promise<number>): Promise<{ losses: number[]; counts: number[] }> {
  const g = new Generator(0);
  const w1 = randn([8, 16], { generator: g }).mul(0.3).to('gpu').requiresGrad_();
  const w2 = randn([16, 4], { generator: g }).mul(0.3).to('gpu').requiresGrad_();
  const gamma = ones([16], { device: 'gpu' }).requiresGrad_();
  const params = [w1, w2, gamma];
  const x = randn([6, 8], { generator: g }).to('gpu');
  const labels = tensor([0, 1, 2, 3, 0, 1], { dtype: 'int32' }).to('gpu');
  const losses: number[] = [];
  const counts: number[] = [];
  for (let step = 0; step < 12; step++) {
    const loss = scope(() => {
      const h = layerNorm(x.matmul(w1), [16], gamma, null).gelu();
      const nll = h.matmul(w2).logSoftmax(-1).gather(1, labels.unsqueeze(1)).mean().neg();
      nll.backward();
      noGrad(() => {
        for (const p of params) p.sub_(p.grad!.mul(0.5));
      });
      for (const p of params) p.grad = null;
      return nll;
    });
    losses.push(await read(loss));
    loss.dispose();
    counts.push(heldStorages());
  }
  return { losses, counts };
}
