// How a training loop's memory habits change its speed: the same ViT train step (depth 6,
// dim 192, 3 heads, batch 32 of 32x32x3 images: forward, loss, grad) run in three loops:
//   plain    step after step, never yielding: the backward pass's temporaries come back at
//            once (backward runs in its own scope), but dead forward outputs only through
//            the garbage collector, whose finalizers run between event-loop tasks, so
//            those land on fresh memory (page faults)
//   gc       a full garbage collection and an event-loop turn between steps (what the
//            benchmark harness does between samples): the pool gets the memory back
//   scope    each step in scope(): its buffers go back to the pool when it ends
// Usage: npm run build, then node --expose-gc benchmarks/dist/loop-memory.js [steps] [threads]

import { VisionTransformer } from '@dinots/nn';
import { cpuEmptyCache, cpuMemoryStats, grad, randn, scope, setNumThreads } from '@dinots/tensor';

const steps = Number(process.argv[2] ?? 6);
setNumThreads(Number(process.argv[3] ?? 1));
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('loop-memory: run node with --expose-gc');

const vit = new VisionTransformer({ imgSize: 32, patchSize: 4, inChans: 3, embedDim: 192, depth: 6, numHeads: 3 });
const params = [...vit.parameters()];
const images = randn([32, 3, 32, 32]);
const step = () => {
  const loss = vit.forward(images).square().mean();
  grad(loss, params);
  return loss.item();
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const mode of ['plain', 'gc', 'scope'] as const) {
  cpuEmptyCache();
  gc();
  await new Promise((resolve) => setImmediate(resolve));
  let before = cpuMemoryStats();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    if (i === 1) before = cpuMemoryStats(); // the first step's allocations are fresh in every mode
    const t0 = performance.now();
    if (mode === 'scope') scope(step);
    else step();
    times.push(performance.now() - t0);
    if (mode === 'gc') {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  const after = cpuMemoryStats();
  const reused = (after.reusedBytes - before.reusedBytes) / (after.allocatedBytes - before.allocatedBytes);
  console.log(`${mode.padEnd(6)} median ${median(times.slice(1)).toFixed(0)} ms per step (steps after the first: ${times.slice(1).map((t) => t.toFixed(0)).join(', ')}), ${(100 * reused).toFixed(1)}% of the bytes after the first step on reused memory`);
}
