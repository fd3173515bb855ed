// A small training loop (Linear - LayerNorm - Linear, AdamW, batch 64) run in a child process
// by loop-memory.test.ts: `node plain-loop.js <plain|scope> <steps> <D>` prints the peak RSS in
// MiB and memory() as JSON. `plain` never yields and never opens a scope().

import { memory, randn, manualSeed, scope } from '@dinots/tensor';
import { AdamW, LayerNorm, Linear, Sequential } from '../../src/index.js';

const [mode, stepsText] = process.argv.slice(2);
const D = Number(process.argv[4] ?? 256);
manualSeed(0);
const model = new Sequential(new Linear(D, D), new LayerNorm(D), new Linear(D, D));
const optimizer = new AdamW([...model.parameters()], { lr: 1e-3 });
const x = randn([64, D]);
const step = () => {
  const loss = model.forward(x).square().mean();
  optimizer.zeroGrad();
  loss.backward();
  optimizer.step();
  return loss.item();
};
const rss = () => process.memoryUsage.rss() / 2 ** 20;
let peak = rss();
for (let i = 0; i < Number(stepsText); i++) {
  if (mode === 'scope') scope(step);
  else step();
  peak = Math.max(peak, rss());
}
console.log(JSON.stringify({ peakMiB: peak, memory: memory() }));
