// Measures one benchmark case on several implementations with tinybench, after checking
// that every implementation computes the same numbers as the first one.
//
// Each implementation is prepared (inputs built, weights copied, warm-up compile), run
// once to capture its result for the agreement check, then timed by its own tinybench
// Bench so that per-implementation settings (thread count, backend) hold for exactly its
// samples. Every implementation gets as many samples as fit in the time budget, and at
// least 3, except those that take over 20 s a step (tfjs-cpu on the ViT), which get one.
// Before every sample, untimed and for every implementation alike, the harness runs a
// minor garbage collection (the young generation) where Node was started with --expose-gc
// and yields to the event loop: samples then do not pay for the short-lived garbage the
// previous ones left, and memory freed since (dinots' buffer pool, tfjs' disposed
// tensors) is back for reuse. A full collection runs before each implementation (and its
// warm-up), not before each sample: a full collection discards V8's optimized code for
// closures that died and for functions whose hidden classes died (a training step's
// scopes, its per-call callbacks), and the timed step then compiled that code again on
// V8's background threads. On the 2-core VM that was 80-94 ms of compiler CPU per DINO
// step, taken from the 2-thread rows' cores (1-thread rows had the second core to spare):
// 2-thread DINO step 434-458 ms with a full collection before each sample, 395-426 with a
// minor one, 1-thread 672-683 either way (benchmarks/results/NOTES.md, 2026-12-07, sixth
// round). A training loop that never forces a collection ran one full collection in 30
// steps. Then the harness waits until the process is quiet (settle below): V8 sweeps
// after a collection on background threads, and on a 2-core machine those sweepers took
// a core from the next sample of an implementation that uses both (2-thread SGEMM samples at
// 2080x192 @ 192x576 at 5.1 ms, or at 8.4-10.4 ms in a third of them). Node runs with
// V8's default GC otherwise: --single-threaded-gc also cured the 2-thread rows, but it
// took the concurrent collector's second core from tfjs-backend-cpu too, whose ViT train
// step then took 71.8 s instead of 44.4 s. The npm scripts do pass --no-memory-reducer:
// V8's memory reducer starts a collection when the process looks idle, which the waits
// above make it look, and that collection's concurrent marking then ran in the next
// timed step (after tfjs-backend-cpu's rows had grown the heap, 2-thread SGEMM 1024^3
// fell from 82-88 to 58-65 GFLOPS). It only ever runs in idle time, so turning it off
// takes nothing from a step.
// Before the samples, each implementation warms up for WARMUP_MS and WARMUP_STEPS steps
// (tinybench's default count; none for one that samples only 3 times, a step over 2 s):
// JIT tiers, worker threads and caches settle. Two steps were not enough for a training
// step. V8 compiles a step's hundreds of functions on background threads as they turn hot,
// and in the DINO step's first 10 steps that was 186 ms of TurboFan CPU a step (38 in
// steps 10-19, 7 in steps 50-59: --trace-opt). On 2 cores that CPU comes out of a 2-thread
// row only, and the 2-thread rows run first, so with 2 warm-up steps the 2-thread DINO row
// was timed mid-compilation (432 and 451 ms against 373 and 413 after 16 steps, in
// `--only DINO` runs; 1-thread 663-698 ms either way: benchmarks/results/NOTES.md,
// 2026-12-07, seventh round).
// dinots' rows of a model case (the ViT forward and train step, the DINO step: one row per
// thread count) are compared with each other as much as with the peers, and are timed in
// turns instead: each is set up, run once and warmed up as above, one after another, and
// kept; then the first sample of every row is taken, then the second, and so on. tinybench
// takes all of one task's samples before the next task's, so these are timed here around
// each step, as tinybench times one: the same warm-up rule, and a minor collection and a
// wait for quiet before each step. One after another, the 1-thread DINO row took its
// samples 20-odd steps after the 2-thread row, on code V8 had compiled further (TurboFan ran 31 ms a step in
// steps 10-19 and 14 in steps 30-49: benchmarks/results/NOTES.md, 2026-12-07, eighth
// round) and on a VM whose speed drifts by 10 % within minutes; in turns both rows see the
// same. Between the warm-ups and the samples, the rows take TURNS_SETTLE_STEPS more steps
// each, in turns and untimed: a pool worker's V8 isolate compiles the kernel drivers it runs
// from its own calls, half of them. Over long runs of the DINO step in turns (`npm run
// bench:threads`) the thread ratio read 1.67-1.71x over the first 25 pairs of steps and
// 1.69-1.78x over each later 25 (the ViT train step 1.44-1.69x over its first 10 pairs,
// 1.76-1.84x later: benchmarks/results/NOTES.md, 2026-12-07, ninth round). The kernel cases
// stay one row after another, with hot caches for every row, as their peers' rows are.
// An external implementation (PyTorch, in its own process) times itself the same way and
// hands back its latencies and result.
//
// Memory: before each implementation the CPU buffer pool is emptied and garbage collected;
// the RSS then is the row's "RSS at start", and the kernel's peak-RSS mark is reset there
// (Linux: /proc/self/clear_refs), so that a row's peak RSS is the highest while it was
// set up and stepped: its own memory on top of what the process still holds (such as
// tfjs-wasm's heap, which never shrinks). Where the mark cannot be reset, the peak is the
// process' so far. A row timed in turns starts with the rows before it in its group still
// set up, and its peak is read after its warm-up. Allocated bytes per step count the steps
// after the first.

import { readFileSync, writeFileSync } from 'node:fs';
import { Bench } from 'tinybench';
import { cpuEmptyCache } from '@dinots/tensor';

/** A prepared implementation: `step` runs the computation once; `result` is what the first step produced. */
export interface Runner {
  /** One step; a Promise where the implementation's results arrive asynchronously (the GPU backend in WebGPU mode). */
  step(): void | Promise<void>;
  readonly result: Float32Array;
  dispose?(): void;
  /** Running totals of bytes the implementation allocated, and of those on reused memory, where it tracks them. */
  memory?(): { allocatedBytes: number; reusedBytes: number };
}

/** An implementation that runs in this process: the harness times its `step`. */
export interface InProcessImplementation {
  readonly name: string;
  prepare(): Runner | Promise<Runner>;
  /**
   * Whether this row takes its samples in turns with the rows next to it that say so too
   * (dinots at each thread count: see the header). Its `step` must then set whatever
   * settings it needs (threads, kernels) itself, since other rows' steps run between its own.
   */
  readonly inTurns?: boolean;
}

/** What an implementation that times itself (in another process) reports. */
export interface ExternalRun {
  /** Wall time of each timed step, in ms. */
  readonly latenciesMs: readonly number[];
  /** The first step's result; null where it cannot be compared (timing only). */
  readonly result: Float32Array | null;
  /** RSS of its own process before the case is set up, and the peak from then to the last step. */
  readonly rssAtStartMiB: number;
  readonly peakRssMiB: number;
}

/** An implementation in another process (PyTorch): it follows the same budget and sampling rules. */
export interface ExternalImplementation {
  readonly name: string;
  run(budget: Budget): Promise<ExternalRun>;
}

export type Implementation = InProcessImplementation | ExternalImplementation;

export interface Case {
  readonly family: string;
  readonly name: string;
  /** Floating-point operations per step, where the case defines them (2 per multiply-add). */
  readonly flops?: number;
  /** Largest allowed |result - reference| relative to max |reference| (at least 1). */
  readonly tolerance: number;
  /** Original images per step, where the case trains or runs a model on a batch. */
  readonly imagesPerStep?: number;
  readonly implementations: readonly Implementation[];
}

export interface Measurement {
  readonly family: string;
  readonly case: string;
  readonly implementation: string;
  readonly samples: number;
  readonly medianMs: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly gflops: number | null;
  /** imagesPerStep / median, where the case defines it. */
  readonly imagesPerSecond: number | null;
  /** max |result - reference| / max(1, max |reference|); 0 for the reference itself; null for a timing-only row. */
  readonly error: number | null;
  readonly agrees: boolean | null;
  /** Tensor memory per step (dinots only): MiB allocated, and the share of it on reused buffers. */
  readonly allocatedMiBPerStep?: number;
  readonly reusedShare?: number;
  /** Resident set (MiB) before the row is set up, and its peak from then to the last step. */
  readonly rssAtStartMiB: number;
  readonly peakRssMiB: number;
  /** 'implementation': the peak mark was reset before this row's steps; 'process': the process' peak so far. */
  readonly peakRssScope: 'implementation' | 'process';
}

export interface Budget {
  /** Time budget per implementation, in ms. */
  readonly timeMs: number;
  /** Most samples per implementation. */
  readonly maxSamples: number;
}

export function relativeError(actual: Float32Array, reference: Float32Array): number {
  if (actual.length !== reference.length) return Infinity;
  let worst = 0;
  let scale = 1;
  for (let i = 0; i < reference.length; i++) {
    const d = Math.abs(actual[i] - reference[i]);
    if (!(d <= worst)) worst = d; // NaN counts as the worst
    scale = Math.max(scale, Math.abs(reference[i]));
  }
  return worst / scale;
}

const collectGarbage = (globalThis as { gc?: (options?: { type: 'major' | 'minor' }) => void }).gc;

/** Resolves after `ms` milliseconds. */
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A collection (where exposed: a full one, or with 'minor' only the young generation), one
 * event-loop turn so that finalizers run, then a wait until the process is quiet: a 2 ms
 * sleep of this thread in which all of the process' threads together used under 0.2 ms of
 * CPU (at most QUIET_WAIT_MS). The
 * collection's concurrent sweepers, background compilers and the pool's workers have then
 * finished, and do not take a core from the step that follows.
 */
async function settle(collection: 'full' | 'minor' = 'full'): Promise<void> {
  collectGarbage?.(collection === 'minor' ? { type: 'minor' } : undefined);
  await new Promise((resolve) => setImmediate(resolve));
  const deadline = performance.now() + QUIET_WAIT_MS;
  while (performance.now() < deadline) {
    const before = process.cpuUsage();
    await sleep(2);
    const used = process.cpuUsage(before);
    if (used.user + used.system < 200) return;
  }
}

const MiB = 2 ** 20;
/** Warm-up time per implementation, before its timed samples (and at least WARMUP_STEPS steps); PyTorch's runner gets it in its job. */
export const WARMUP_MS = 300;
/** Warm-up steps per implementation, tinybench's default: enough for V8 to compile a training step's code (see the header). */
export const WARMUP_STEPS = 16;
/**
 * Untimed steps that rows timed in turns take each, in turns, after their warm-ups and before
 * their samples (where they warm up at all): a 2-thread row's pool worker, which runs that
 * row's steps only, has then run 32 before the samples (see the header).
 */
export const TURNS_SETTLE_STEPS = 16;
/** The longest wait for the process to fall quiet before a sample. */
const QUIET_WAIT_MS = 250;

/** Resets the kernel's peak-RSS mark to the current RSS (Linux only); false where it cannot. */
function resetPeakRss(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

/** The peak RSS in MiB: VmHWM where /proc exists (it follows resets), else getrusage's maxRSS. */
function peakRssMiB(): number {
  try {
    const kib = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (kib !== undefined) return Number(kib) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}

/**
 * Samples for an implementation whose first step took `firstMs`: as many as fit the budget,
 * and at least 5 for a step of up to 2 s (the DINO and ViT train steps: 3 samples without a
 * warm-up put their quick-suite medians 10-20 % apart from run to run), 3 up to 20 s, 1 above.
 */
export function sampleCount(firstMs: number, budget: Budget): number {
  const least = firstMs > 20_000 ? 1 : firstMs > 2_000 ? 3 : 5;
  return Math.max(least, Math.min(budget.maxSamples, Math.floor(budget.timeMs / Math.max(firstMs, 1e-3))));
}

interface Timed {
  samples: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  result: Float32Array | null;
  memory?: { allocatedMiBPerStep: number; reusedShare: number };
  rssAtStartMiB: number;
  peakRssMiB: number;
  peakRssScope: 'implementation' | 'process';
}

/** A row set up and stepped once (its result), with its sample count and where its memory started. */
interface SetUpRow {
  readonly runner: Runner;
  readonly samples: number;
  readonly rssAtStartMiB: number;
  readonly peakRssScope: 'implementation' | 'process';
}

/**
 * Frees what earlier rows left (releaseEarlierRows), marks the RSS and resets the peak,
 * prepares `impl` and runs its first step: its result is checked, it warms up the JIT, and
 * its time (the step's own, after the process fell quiet) sets the row's sample count.
 */
async function setUp(impl: InProcessImplementation, budget: Budget): Promise<SetUpRow> {
  await releaseEarlierRows();
  const rssAtStartMiB = process.memoryUsage.rss() / MiB;
  const peakRssScope = resetPeakRss() ? 'implementation' : 'process';
  const runner = await impl.prepare();
  await settle();
  const first = performance.now();
  await runner.step();
  return { runner, samples: sampleCount(performance.now() - first, budget), rssAtStartMiB, peakRssScope };
}

async function timeInProcess(impl: InProcessImplementation, budget: Budget): Promise<Timed> {
  // The peak covers everything the row does: setup, the first step, warm-up and samples.
  const { runner, samples, rssAtStartMiB, peakRssScope: scope } = await setUp(impl, budget);
  const bench = new Bench({ time: 0, iterations: samples, warmup: samples > 3, warmupIterations: WARMUP_STEPS, warmupTime: WARMUP_MS, throws: true });
  let steps = 0;
  bench.add(impl.name, async () => {
    steps++;
    await runner.step();
  }, { beforeEach: () => settle('minor') });
  const memoryBefore = runner.memory?.();
  await bench.run();
  const memoryAfter = runner.memory?.();
  const peak = peakRssMiB();
  const result = runner.result;
  runner.dispose?.();
  const r = bench.tasks[0].result;
  if (r.state !== 'completed') throw new Error(`${impl.name}: benchmark ${r.state}`);
  const allocated = memoryBefore && memoryAfter ? memoryAfter.allocatedBytes - memoryBefore.allocatedBytes : 0;
  return {
    samples: r.latency.samplesCount,
    medianMs: r.latency.p50,
    minMs: r.latency.min,
    maxMs: r.latency.max,
    result,
    ...(memoryBefore && memoryAfter && {
      memory: { allocatedMiBPerStep: allocated / steps / MiB, reusedShare: (memoryAfter.reusedBytes - memoryBefore.reusedBytes) / Math.max(allocated, 1) },
    }),
    rssAtStartMiB,
    peakRssMiB: peak,
    peakRssScope: scope,
  };
}

/**
 * Frees what earlier rows left before a row is set up: it is not this row's memory. Their
 * dead buffers reach the CPU buffer pool through finalizers after a collection, then leave
 * it, then a second collection frees them.
 */
async function releaseEarlierRows(): Promise<void> {
  await settle();
  cpuEmptyCache();
  await settle();
}

/** A row of a group timed in turns, set up and warmed up, waiting for its samples. */
interface WarmRow {
  readonly runner: Runner;
  readonly samples: number;
  readonly latencies: number[];
  readonly rssAtStartMiB: number;
  readonly peakRssMiB: number;
  readonly peakRssScope: 'implementation' | 'process';
  /** Steps after the first, and the bytes they allocated (and of those, on reused memory). */
  steps: number;
  allocated: number;
  reused: number;
}

/** Runs one step of `row` (after a minor collection and a wait for quiet, as before every sample), counting its memory; returns its wall time in ms. */
async function stepOf(row: Pick<WarmRow, 'runner' | 'steps' | 'allocated' | 'reused'>): Promise<number> {
  await settle('minor');
  const before = row.runner.memory?.();
  const start = performance.now();
  await row.runner.step();
  const ms = performance.now() - start;
  const after = row.runner.memory?.();
  if (before && after) {
    row.allocated += after.allocatedBytes - before.allocatedBytes;
    row.reused += after.reusedBytes - before.reusedBytes;
  }
  row.steps++;
  return ms;
}

/**
 * Sets `impl` up and warms it up as tinybench does for the other rows: at least WARMUP_STEPS
 * steps and WARMUP_MS of step time (where it takes more than 3 samples). Its peak RSS covers
 * these.
 */
async function warmUp(impl: InProcessImplementation, budget: Budget): Promise<WarmRow> {
  const { runner, samples, rssAtStartMiB, peakRssScope } = await setUp(impl, budget);
  const row = { runner, steps: 0, allocated: 0, reused: 0 };
  if (samples > 3) {
    for (let i = 0, warmedMs = 0; i < WARMUP_STEPS || warmedMs < WARMUP_MS; i++) warmedMs += await stepOf(row);
  }
  return { ...row, samples, latencies: [], rssAtStartMiB, peakRssMiB: peakRssMiB(), peakRssScope };
}

/**
 * Rows timed in turns (see the header): each is set up and warmed up in order, and kept;
 * then those that warmed up take TURNS_SETTLE_STEPS more steps in turns; then sample k of
 * every row is taken before sample k + 1 of any.
 */
async function timeInTurns(impls: readonly InProcessImplementation[], budget: Budget): Promise<Timed[]> {
  const rows: WarmRow[] = [];
  try {
    for (const impl of impls) rows.push(await warmUp(impl, budget));
    for (let k = 0; k < TURNS_SETTLE_STEPS; k++) {
      for (const row of rows) if (row.samples > 3) await stepOf(row);
    }
    const most = Math.max(...rows.map((r) => r.samples));
    for (let k = 0; k < most; k++) {
      for (const row of rows) if (k < row.samples) row.latencies.push(await stepOf(row));
    }
  } finally {
    for (const row of rows) row.runner.dispose?.();
  }
  return rows.map((row) => {
    const sorted = [...row.latencies].sort((a, b) => a - b);
    return {
      ...summary(sorted),
      result: row.runner.result,
      ...(row.runner.memory && row.steps > 0 && {
        memory: { allocatedMiBPerStep: row.allocated / row.steps / MiB, reusedShare: row.reused / Math.max(row.allocated, 1) },
      }),
      rssAtStartMiB: row.rssAtStartMiB,
      peakRssMiB: row.peakRssMiB,
      peakRssScope: row.peakRssScope,
    };
  });
}

/** The median of ascending values (the mean of the middle two for an even count). */
export function medianOfSorted(sorted: readonly number[]): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Samples, median, min and max of ascending latencies. */
function summary(sorted: readonly number[]): Pick<Timed, 'samples' | 'medianMs' | 'minMs' | 'maxMs'> {
  return {
    samples: sorted.length,
    medianMs: medianOfSorted(sorted),
    minMs: sorted[0],
    maxMs: sorted[sorted.length - 1],
  };
}

async function timeExternal(impl: ExternalImplementation, budget: Budget): Promise<Timed> {
  const run = await impl.run(budget);
  return {
    ...summary([...run.latenciesMs].sort((a, b) => a - b)),
    result: run.result,
    rssAtStartMiB: run.rssAtStartMiB,
    peakRssMiB: run.peakRssMiB,
    peakRssScope: 'implementation',
  };
}

/** Whether `impl` takes its samples in turns with its neighbours that do too. */
const inTurns = (impl: Implementation): impl is InProcessImplementation => !('run' in impl) && impl.inTurns === true;

export async function measureCase(c: Case, budget: Budget): Promise<Measurement[]> {
  // the case's rows, with each run of adjacent rows timed in turns as one group
  const groups: Implementation[][] = [];
  for (const impl of c.implementations) {
    const last = groups.at(-1);
    if (last !== undefined && inTurns(impl) && inTurns(last[0])) last.push(impl);
    else groups.push([impl]);
  }
  const timed: [Implementation, Timed][] = [];
  for (const group of groups) {
    const names = group.map((impl) => impl.name).join(', ');
    try {
      if (group.length > 1) {
        const times = await timeInTurns(group as InProcessImplementation[], budget);
        group.forEach((impl, i) => timed.push([impl, times[i]]));
        continue;
      }
      const impl = group[0];
      if ('run' in impl) {
        await releaseEarlierRows();
        timed.push([impl, await timeExternal(impl, budget)]);
      } else {
        timed.push([impl, await timeInProcess(impl, budget)]);
      }
    } catch (e) {
      throw new Error(`${c.name} / ${names}: ${(e as Error).message}`, { cause: e });
    }
  }
  const out: Measurement[] = [];
  let reference: Float32Array | null = null;
  for (const [impl, t] of timed) {
    reference ??= t.result;
    const error = t.result === null || reference === null ? null : relativeError(t.result, reference);
    out.push({
      family: c.family,
      case: c.name,
      implementation: impl.name,
      samples: t.samples,
      medianMs: t.medianMs,
      minMs: t.minMs,
      maxMs: t.maxMs,
      gflops: c.flops === undefined ? null : c.flops / t.medianMs / 1e6,
      imagesPerSecond: c.imagesPerStep === undefined ? null : c.imagesPerStep / (t.medianMs / 1000),
      error,
      agrees: error === null ? null : error <= c.tolerance,
      ...(t.memory && t.memory),
      rssAtStartMiB: t.rssAtStartMiB,
      peakRssMiB: t.peakRssMiB,
      peakRssScope: t.peakRssScope,
    });
  }
  return out;
}
