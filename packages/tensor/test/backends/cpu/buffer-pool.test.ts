import { expect } from 'chai';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CpuStorage, cpuMemoryStats, getBackend, ones } from '../../../src/index.js';

// A full garbage collection on demand, without starting Node with --expose-gc.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function collect(): Promise<void> {
  gc();
  await new Promise((resolve) => setImmediate(resolve)); // finalizers run between tasks
}

describe('CPU buffer pool', () => {
  it('takes back the memory of a dead storage and hands it out again, zero-filled', async () => {
    const length = 100_003; // a size no other test allocates
    const allocate = () => (getBackend('cpu').allocate('float32', length) as CpuStorage).data;
    allocate().fill(7); // dropped at once
    // A full collection does not always finalize every dead array at once, and earlier tests'
    // garbage may count against the bound on unreclaimed memory: retry a few collections.
    // Each miss's new array is filled and dropped too, so whichever comes back was dirty.
    let before = cpuMemoryStats();
    let after = before;
    let again: CpuStorage['data'] = new Float32Array(0);
    for (let attempt = 0; attempt < 20; attempt++) {
      await collect();
      before = cpuMemoryStats();
      again = allocate();
      after = cpuMemoryStats();
      if (after.reusedBytes - before.reusedBytes === 4 * length) break;
      again.fill(7);
    }
    expect(after.reusedBytes - before.reusedBytes).to.equal(4 * length);
    expect(after.pooledBytes).to.equal(before.pooledBytes - 4 * length);
    expect(after.allocatedBytes - before.allocatedBytes).to.equal(4 * length);
    expect(again.every((v) => v === 0)).to.equal(true);
  });

  it('never recycles memory that is still reachable', async () => {
    const kept = ones([300, 300]);
    const data = (kept.storage as CpuStorage).data;
    await collect();
    for (let i = 0; i < 20; i++) ones([300, 300]).add(1);
    await collect();
    expect(data.every((v) => v === 1)).to.equal(true);
    expect(kept.sum().item()).to.equal(90_000);
  });

  it('a synchronous loop cannot make the pool hold more than its bound (finalizers only run between tasks)', () => {
    // 24 x 64 MiB allocated and dropped without ever yielding: the pool must stop registering
    // buffers once 1 GiB waits for finalizers, leaving the rest to the garbage collector.
    for (let i = 0; i < 24; i++) getBackend('cpu').allocate('float32', 16 * 2 ** 20);
    expect(cpuMemoryStats().unreclaimedBytes).to.be.at.most(2 ** 30);
  });
});
