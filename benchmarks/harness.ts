// Measures one benchmark case on several implementations with tinybench, after checking
// that every implementation computes the same numbers as the first one.
//
// Each implementation is prepared (inputs built, weights copied, warm-up compile), run
// once to capture its result for the agreement check, then timed by its own tinybench
// Bench so that per-implementation settings (thread count, backend) hold for exactly its
// samples. Every implementation gets as many samples as fit in the time budget, and at
// least 3, except those that take over 20 s a step (tfjs-cpu on the ViT), which get one.
// Before every sample, untimed and for every implementation alike, the harness runs a
// full garbage collection where Node was started with --expose-gc and yields to the
// event loop: samples then do not pay for garbage the previous ones left, and memory
// freed since (dinots' buffer pool, tfjs' disposed tensors) is back for reuse.

import { Bench } from 'tinybench';

/** A prepared implementation: `step` runs the computation once; `result` is what the first step produced. */
export interface Runner {
  step(): void;
  readonly result: Float32Array;
  dispose?(): void;
  /** Running totals of bytes the implementation allocated, and of those on reused memory, where it tracks them. */
  memory?(): { allocatedBytes: number; reusedBytes: number };
}

export interface Implementation {
  readonly name: string;
  prepare(): Runner | Promise<Runner>;
}

export interface Case {
  readonly family: string;
  readonly name: string;
  /** Floating-point operations per step, where the case defines them (2 per multiply-add). */
  readonly flops?: number;
  /** Largest allowed |result - reference| relative to max |reference| (at least 1). */
  readonly tolerance: number;
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
  /** max |result - reference| / max(1, max |reference|); 0 for the reference itself. */
  readonly error: number;
  readonly agrees: boolean;
  /** Tensor memory per step (dinots only): MiB allocated, and the share of it on reused buffers. */
  readonly allocatedMiBPerStep?: number;
  readonly reusedShare?: number;
  /** The process' peak resident set so far, in MiB. */
  readonly peakRssMiB: number;
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

const collectGarbage = (globalThis as { gc?: () => void }).gc;

/** A full collection (where exposed) and one event-loop turn, so that finalizers run. */
async function settle(): Promise<void> {
  collectGarbage?.();
  await new Promise((resolve) => setImmediate(resolve));
}

export async function measureCase(c: Case, budget: Budget): Promise<Measurement[]> {
  const out: Measurement[] = [];
  let reference: Float32Array | null = null;
  for (const impl of c.implementations) {
    const runner = await impl.prepare();
    const first = performance.now();
    await settle();
    runner.step(); // the first step: its result is checked, and it warms up the JIT
    const firstMs = performance.now() - first;
    const result = runner.result;
    reference ??= result;
    const error = relativeError(result, reference);
    // As many samples as fit the budget; at least 3 unless one step takes over 20 s.
    const samples = Math.max(firstMs > 20_000 ? 1 : 3, Math.min(budget.maxSamples, Math.floor(budget.timeMs / Math.max(firstMs, 1e-3))));
    const bench = new Bench({ time: 0, iterations: samples, warmup: samples > 3, warmupIterations: 2, warmupTime: 0, throws: true });
    let steps = 0;
    bench.add(impl.name, () => {
      steps++;
      runner.step();
    }, { beforeEach: settle });
    const memoryBefore = runner.memory?.();
    await bench.run();
    const memoryAfter = runner.memory?.();
    runner.dispose?.();
    const r = bench.tasks[0].result;
    if (r.state !== 'completed') throw new Error(`${c.name} / ${impl.name}: benchmark ${r.state}`);
    const medianMs = r.latency.p50;
    out.push({
      family: c.family,
      case: c.name,
      implementation: impl.name,
      samples: r.latency.samplesCount,
      medianMs,
      minMs: r.latency.min,
      maxMs: r.latency.max,
      gflops: c.flops === undefined ? null : c.flops / medianMs / 1e6,
      error,
      agrees: error <= c.tolerance,
      ...(memoryBefore && memoryAfter && {
        allocatedMiBPerStep: (memoryAfter.allocatedBytes - memoryBefore.allocatedBytes) / steps / 2 ** 20,
        reusedShare: (memoryAfter.reusedBytes - memoryBefore.reusedBytes) / Math.max(memoryAfter.allocatedBytes - memoryBefore.allocatedBytes, 1),
      }),
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
    });
  }
  return out;
}
