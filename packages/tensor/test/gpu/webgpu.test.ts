// What is particular to webgpu mode: reads are asynchronous only, kernel errors surface at
// the next await (never as unhandled rejections), calls queued behind a kernel's
// compilation keep their own output sizes, and freeing a tensor frees its WebGPU
// buffer once the kernels that read it were submitted, so a training loop stays flat.
// Skipped with the reason where WebGPU cannot run (required in CI under the runtime).

import { expect } from 'chai';
import * as T from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { PendingBuffer, download, release } from '../../src/backends/gpu/context.js';
import { GpuStorage } from '../../src/backends/gpu/gpu-storage.js';
import { useGpuMode } from './targets.js';
import { gpuTrainingLoop, heldStorages as held } from './helpers.js';
import type { GpuBackend } from '../../src/index.js';

/** The gpu.js buffer handle behind t's storage, once its kernel was submitted. */
async function handleOf(t: Tensor): Promise<{ _deleted: boolean }> {
  const array = (t.storage as GpuStorage).array('test');
  expect(array).to.be.instanceOf(PendingBuffer);
  return (await (array as PendingBuffer).buffer) as unknown as { _deleted: boolean };
}

/** Lets queued frees (which wait for promises) run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('gpu webgpu mode', () => {
  let backend: GpuBackend;
  before(async function () {
    backend = await useGpuMode(this, 'webgpu');
  });

  it('backendInfo reports the WebGPU adapter', () => {
    expect(backend.info.mode).to.equal('webgpu');
    expect(backend.info.adapter).to.not.equal(null);
    expect(backend.info.renderer).to.equal(backend.info.adapter!.description || backend.info.adapter!.device || backend.info.adapter!.vendor);
  });

  it('synchronous reads throw, naming the call and pointing to await t.data()', async () => {
    const x = T.ones([2, 3]).to('gpu').mul(2);
    expect(() => x.dataSync()).to.throw(/dataSync: GPU tensors in webgpu mode can only be read asynchronously; use `await t.data\(\)`/);
    expect(() => x.sum().item()).to.throw(/^item: .*await t\.data\(\)/);
    expect(() => x.toArray()).to.throw(/^toArray: /);
    expect(() => x.T.to('cpu')).to.throw(/^to\('cpu'\): /);
    expect(Array.from(await x.T.data())).to.deep.equal([2, 2, 2, 2, 2, 2]);
  });

  it('a failing kernel rejects at the next await, and downstream ops fail there too, with no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const input = backend.context.run('function (a0) { return a0[this.thread.x]; }', 4, [new Float32Array(4)], { resizable: true });
      // a kernel that reads a pending input is called later, so its translation error rejects instead of throwing
      const bad = backend.context.run('function (a0) { return notAFunction(a0[this.thread.x]); }', 4, [input]);
      const after = backend.context.run('function (a0) { return a0[this.thread.x] + 1.0; }', 4, [bad]);
      await settle();
      let message = '';
      try {
        await (after as PendingBuffer).buffer;
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message, 'the translation error').to.match(/notAFunction|unhandled/);
      await settle();
      expect(unhandled).to.deep.equal([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('a resizable kernel called at two sizes while its WGSL compiles renders each call at its own size', async () => {
    // a source no other test compiles, so that both calls are made before the first one built it
    const source = 'function (a0) { return a0[this.thread.x] * 1.0; }';
    const long = backend.context.run(source, 6, [Float32Array.of(1, 2, 3, 4, 5, 6)], { resizable: true });
    const short = backend.context.run(source, 3, [Float32Array.of(7, 8, 9)], { resizable: true });
    expect(Array.from(await download(long))).to.deep.equal([1, 2, 3, 4, 5, 6]);
    expect(Array.from(await download(short))).to.deep.equal([7, 8, 9]);
    release(long);
    release(short);
  });

  it('dispose() and scope() free the WebGPU buffers', async () => {
    const x = T.ones([4]).to('gpu');
    const handle = await handleOf(x);
    const y = x.exp();
    x.dispose();
    for (const v of await y.data()) expect(v).to.be.closeTo(Math.E, 1e-6);
    await settle();
    expect(handle._deleted, 'freed after its reader was submitted').to.equal(true);
    const before = held();
    let inner: Promise<{ _deleted: boolean }> | null = null;
    const kept = T.scope(() => {
      const h = y.mul(2);
      inner = handleOf(h);
      return h.add(1);
    });
    const innerHandle = await inner!;
    await kept.data();
    await settle();
    expect(innerHandle._deleted).to.equal(true);
    expect(held()).to.equal(before + 1);
    kept.dispose();
    y.dispose();
  });

  it('a training step in a loop does not grow memory() (reading the loss with await)', async () => {
    const { losses, counts } = await gpuTrainingLoop(async (loss) => (await loss.data())[0]);
    expect(losses[11]).to.be.lessThan(losses[0]);
    expect(new Set(counts.slice(2)).size, `live storages per step: ${counts.join(', ')}`).to.equal(1);
  });
});
