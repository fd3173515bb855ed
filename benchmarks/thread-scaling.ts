// How a training step scales with threads over a long run: one process alternates a step on
// all cores with a step on one, so that both thread counts see the same JIT state and the
// same machine speed (a VM's speed drifts by 10 % within minutes; benchmarks/results/NOTES.md),
// and reports the ratio of their medians window by window.
//
//   npm run bench:threads                             the DINO step, 60 pairs, windows of 10
//   npm run bench:threads -- --case vit --pairs 40 --window 8
//
// The suite samples a model case's dinots rows after WARMUP_STEPS warm-up steps and
// TURNS_SETTLE_STEPS more in turns (harness.ts); this shows what comes before and after that
// point: the first windows carry the pool worker's own warm-up (its V8 isolate
// compiles the kernel drivers it runs, from half the calls), and the later ones the steady
// state that a training run spends its time in. Each step runs after a minor collection,
// as the suite's samples do, without the suite's wait for a quiet process.
// On Linux it also reads each thread's CPU time and run-queue wait (/proc/self/task/*/schedstat)
// around every step past the first two windows, and sums them per thread count: the calling
// thread, the pool's workers (the busiest other threads during the many-thread steps: every
// thread of a Node process is named "node"), and the rest (V8's compiler and
// garbage-collector threads, which take their CPU from a step that keeps every core busy).
// Writes results/threads-<date>.json with every step's time.

import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { scope, setNumThreads } from '@dinots/tensor';
import { dinoStep } from './dino.js';
import { medianOfSorted } from './harness.js';
import { machine } from './report.js';
import { vitTrainStepCpu } from './vit.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const which = option('--case', 'dino');
const many = Number(option('--threads', String(os.availableParallelism())));
const pairs = Number(option('--pairs', '60'));
const window = Number(option('--window', '10'));
if (which !== 'dino' && which !== 'vit') throw new Error(`thread-scaling: --case must be dino or vit, got ${which}`);
if (!(Number.isInteger(many) && many >= 2)) throw new Error(`thread-scaling: --threads must be an integer >= 2, got ${many}`);
if (!(Number.isInteger(window) && window >= 1 && Number.isInteger(pairs) && pairs >= 3 * window)) {
  throw new Error(`thread-scaling: --pairs (${pairs}) must be at least 3 windows of --window (${window}) steps`);
}

/** A thread's CPU time and run-queue wait, in ms. */
interface Times {
  cpuMs: number;
  waitMs: number;
}
const NO_TIME: Times = { cpuMs: 0, waitMs: 0 };

/** CPU time and run-queue wait of each thread of this process, by thread id; null where /proc has no schedstat. */
function threadTimes(): Map<number, Times> | null {
  try {
    const times = new Map<number, Times>();
    for (const tid of readdirSync('/proc/self/task')) {
      const [cpuNs, waitNs] = readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
      times.set(Number(tid), { cpuMs: cpuNs / 1e6, waitMs: waitNs / 1e6 });
    }
    return times;
  } catch {
    return null;
  }
}

const median = (v: readonly number[]) => medianOfSorted([...v].sort((a, b) => a - b));

const step = which === 'dino' ? dinoStep() : vitTrainStepCpu();
const gc = (globalThis as { gc?: (options: { type: 'minor' }) => void }).gc;

/** Per thread id, the CPU time and run-queue wait summed over the steps of one thread count past the first two windows. */
type ThreadSums = Map<number, Times>;
const sums: Record<'many' | 'one', ThreadSums> = { many: new Map(), one: new Map() };

/** One step, timed, after a minor collection; past the first two windows its threads' times go into sums[kind]. */
function timed(kind: 'many' | 'one', counted: boolean): number {
  gc?.({ type: 'minor' });
  const before = counted ? threadTimes() : null;
  const start = performance.now();
  scope(() => {
    step();
  });
  const ms = performance.now() - start;
  const after = before && threadTimes();
  for (const [tid, t] of after ?? []) {
    const b = before!.get(tid) ?? NO_TIME;
    const sum = sums[kind].get(tid) ?? NO_TIME;
    sums[kind].set(tid, { cpuMs: sum.cpuMs + t.cpuMs - b.cpuMs, waitMs: sum.waitMs + t.waitMs - b.waitMs });
  }
  return ms;
}

const manyMs: number[] = [];
const oneMs: number[] = [];
for (let p = 0; p < pairs; p++) {
  setNumThreads(many);
  manyMs.push(timed('many', p >= 2 * window));
  setNumThreads(1);
  oneMs.push(timed('one', p >= 2 * window));
}

console.log(`${which} step, ${many} threads against 1, alternating; medians of each window of ${window} pairs:`);
const windows = [];
for (let w = 0; w < pairs; w += window) {
  const m = median(manyMs.slice(w, w + window));
  const o = median(oneMs.slice(w, w + window));
  windows.push({ pairs: [w, Math.min(w + window, pairs)], manyMs: m, oneMs: o, ratio: o / m });
  console.log(`  pairs ${String(w).padStart(3)}-${String(Math.min(w + window, pairs) - 1).padEnd(3)} ${m.toFixed(1).padStart(7)} / ${o.toFixed(1).padStart(7)} ms  ${(o / m).toFixed(2)}x`);
}
const steady = { manyMs: median(manyMs.slice(2 * window)), oneMs: median(oneMs.slice(2 * window)) };
console.log(`past the first two windows: ${steady.manyMs.toFixed(1)} / ${steady.oneMs.toFixed(1)} ms, ${(steady.oneMs / steady.manyMs).toFixed(2)}x`);

const total = (threads: readonly Times[]): Times => ({ cpuMs: threads.reduce((s, t) => s + t.cpuMs, 0), waitMs: threads.reduce((s, t) => s + t.waitMs, 0) });

/** Per step of `kind`: the calling thread, the pool's workers together (many-thread steps only) and every other thread together. */
function threadSummary(kind: 'many' | 'one'): { main: Times; workers: Times | null; rest: Times } {
  const steps = pairs - 2 * window;
  const perStep = [...sums[kind]].map(([tid, t]) => ({ tid, cpuMs: t.cpuMs / steps, waitMs: t.waitMs / steps }));
  const main = perStep.find((t) => t.tid === process.pid) ?? NO_TIME;
  const others = perStep.filter((t) => t.tid !== process.pid).sort((a, b) => b.cpuMs - a.cpuMs);
  const workers = kind === 'many' ? total(others.splice(0, many - 1)) : null;
  return { main: { cpuMs: main.cpuMs, waitMs: main.waitMs }, workers, rest: total(others) };
}
const threads = sums.many.size > 0 ? { many: threadSummary('many'), one: threadSummary('one') } : null;
if (threads !== null) {
  const f = (t: Times) => `${t.cpuMs.toFixed(1)} ms CPU, ${t.waitMs.toFixed(1)} ms waiting to run`;
  console.log('per step past the first two windows (CPU includes the threads\' polls while they wait for work):');
  console.log(`  ${many} threads: calling thread ${f(threads.many.main)}; the pool's ${many - 1} worker(s) ${f(threads.many.workers!)}; every other thread ${f(threads.many.rest)}`);
  console.log(`  1 thread:  calling thread ${f(threads.one.main)}; every other thread ${f(threads.one.rest)}`);
}

const date = new Date().toISOString();
const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'results');
mkdirSync(dir, { recursive: true });
const file = path.join(dir, `threads-${date.replace(/:/g, '-').replace(/\..*/, '')}.json`);
writeFileSync(file, `${JSON.stringify({ date, machine: machine(), case: which, threads: many, pairs, window, windows, steady, threadTimes: threads, manyMs, oneMs }, null, 1)}\n`);
console.log(`wrote ${path.relative(process.cwd(), file)}`);
