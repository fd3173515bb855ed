// DINO's per-iteration schedules (the official utils.py `cosine_scheduler`), value for value:
//   warmup (W = warmupEpochs * itersPerEpoch iterations): numpy.linspace(startWarmup, base, W),
//     i.e. startWarmup + i * (base - startWarmup) / (W - 1), the last one exactly `base`;
//   then for the R remaining iterations i = 0..R-1:  final + 0.5 (base - final) (1 + cos(pi i / R)).
// DINO uses it for the learning rate (with warmup), the weight decay (0.04 -> 0.4, rising) and
// the teacher momentum (0.996 -> 1).

export interface CosineScheduleOptions {
  warmupEpochs?: number;
  /** The value of the first warmup iteration (default 0). */
  startWarmup?: number;
}

export function cosineSchedule(base: number, final: number, epochs: number, itersPerEpoch: number, options: CosineScheduleOptions = {}): number[] {
  const { warmupEpochs = 0, startWarmup = 0 } = options;
  const total = epochs * itersPerEpoch;
  const warmupIters = warmupEpochs * itersPerEpoch;
  if (!Number.isInteger(total) || !Number.isInteger(warmupIters) || total < 0 || warmupIters < 0 || warmupIters > total) {
    throw new Error(`cosineSchedule: need whole, non-negative iteration counts with warmup <= total; got ${epochs} epochs x ${itersPerEpoch} iterations, ${warmupEpochs} warmup epochs`);
  }
  const schedule: number[] = [];
  const step = warmupIters > 1 ? (base - startWarmup) / (warmupIters - 1) : 0; // numpy.linspace(a, b, 1) is [a]
  for (let i = 0; i < warmupIters; i++) schedule.push(i === warmupIters - 1 && warmupIters > 1 ? base : startWarmup + i * step);
  const R = total - warmupIters;
  for (let i = 0; i < R; i++) schedule.push(final + 0.5 * (base - final) * (1 + Math.cos((Math.PI * i) / R)));
  return schedule;
}
