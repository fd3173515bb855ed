// Memory of a training loop written without scope(): autograd's backward pass and the
// optimizer free their temporaries themselves, and the CPU buffer pool holds only a small,
// adaptive amount of dead memory for its finalizers, so a plain loop's peak RSS stays
// within a small multiple of the same loop run step by step in scope(). Each loop runs in
// its own process. The multiple depends on how often the garbage collector runs, which
// frees the forward activations: measured 1.8x while AdamW's update ran nine kernels with
// temporaries, 2.2x to 2.8x since it runs one fused kernel that leaves the collector less to do.

import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type MemoryInfo, memory, ones, scope } from '@dinots/tensor';

const script = fileURLToPath(new URL('./helpers/plain-loop.js', import.meta.url));
const STEPS = 120;
const D = 512;

function runLoop(mode: 'plain' | 'scope'): { peakMiB: number; memory: MemoryInfo } {
  const r = spawnSync(process.execPath, [script, mode, String(STEPS), String(D)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${mode} loop failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { peakMiB: number; memory: MemoryInfo };
}

describe('memory without scope()', () => {
  it('a plain training loop peaks within 3x the RSS of the same loop in scope()', () => {
    const scoped = runLoop('scope');
    const plain = runLoop('plain');
    expect(plain.peakMiB, `plain ${plain.peakMiB.toFixed(0)} MiB, scoped ${scoped.peakMiB.toFixed(0)} MiB`).to.be.below(3 * scoped.peakMiB);
    // the model, the optimizer state and the input are alive at the end: memory() sees them
    // (parameters and AdamW's two moments for each, float32, and the [64, D] input)
    expect(scoped.memory.cpu.bytes).to.be.at.least(3 * 4 * (2 * D * D + 4 * D) + 64 * D * 4);
  });

  it('memory() counts CPU tensors and their bytes until they are disposed', () => {
    const before = memory().cpu;
    const t = ones([1000], { dtype: 'float64' });
    expect(memory().cpu.bytes - before.bytes).to.equal(8000);
    expect(memory().cpu.storages - before.storages).to.equal(1);
    t.dispose();
    expect(memory().cpu).to.deep.equal(before);
    scope(() => {
      ones([10, 10]).add(1);
    });
    expect(memory().cpu).to.deep.equal(before);
  });
});
