// Where the time of a step goes, by op family (in the spirit of torch.profiler).
//
//   const { result, report } = profile(() => step());
//   report.rows        [{ phase: 'forward', family: 'GEMM', calls, ms }, ...]
//
// While `fn` runs, the device's backend is swapped for a wrapper that times every kernel
// call (backends/backend.ts), and each call is filed under
//   family: what the kernel computes (GEMM, batched GEMM, softmax, LayerNorm, GELU, copy,
//           elementwise, reduction, indexing, fused optimizer, allocation, read-back), from the method and
//           its operands (classifyKernel below);
//   phase:  the innermost open recordFunction range: 'backward' (autograd/grad.ts),
//           'optimizer' (nn's Optimizer.step), 'gradient clipping', 'EMA' (dino's
//           updateTeacher), ... and 'forward' outside all of them,
// as torch.profiler files aten ops under `record_function` ranges. Each range's own wall
// time is kept too (report.ranges), so that what a phase spends outside kernels (autograd
// bookkeeping, dispatch, JavaScript) is its range time minus its kernels' time.
// Kernels are synchronous on the CPU backend; on the GPU backend a kernel call only
// enqueues work, so its times there are launch costs, not GPU time.
// Outside profile(), recordFunction is one boolean test.

import { type Backend, getBackend, replaceBackendInstance } from './backends/backend.js';
import type { Device } from './storage.js';
import type { Tensor } from './tensor.js';

/** Time spent in one (phase, family) cell. */
export interface ProfileRow {
  readonly phase: string;
  readonly family: string;
  calls: number;
  ms: number;
}

/** Wall time of every recordFunction range with one name (nested ranges of the same name count once). */
export interface ProfileRange {
  readonly name: string;
  calls: number;
  ms: number;
}

export interface ProfileReport {
  /** Wall time of the whole profiled function, in milliseconds. */
  readonly totalMs: number;
  readonly rows: readonly ProfileRow[];
  readonly ranges: readonly ProfileRange[];
}

/** The phase of calls made outside every recordFunction range. */
export const FORWARD_PHASE = 'forward';

const KERNELS = [
  'allocate', 'fromArray', 'readSync', 'read', 'unary', 'binary', 'addScaled', 'emaStep', 'emaStepForeach', 'where', 'fill', 'reduce',
  'sumOfSquares', 'sumOfSquaresForeach', 'argReduce', 'matmul', 'softmax', 'softmaxBackward', 'layerNorm', 'layerNormBackward', 'gather',
  'scatterAdd', 'adamwStep', 'adamwStepForeach',
] as const;
type Kernel = (typeof KERNELS)[number];

/** The op family of one backend call. */
export function classifyKernel(kernel: Kernel, args: readonly unknown[]): string {
  switch (kernel) {
    case 'allocate':
    case 'fromArray':
      return 'allocation';
    case 'readSync':
    case 'read':
      return 'read-back';
    case 'matmul': {
      // Batched with a batch stride on both operands: attention's QK^T and AV (and their
      // gradients). A shared (stride-0) operand is a Linear layer's weight.
      const [a, b] = args as [Tensor, Tensor];
      const batched = a.shape[0] > 1 && a.strides[0] !== 0 && b.strides[0] !== 0;
      return batched ? 'batched GEMM' : 'GEMM';
    }
    case 'softmax':
    case 'softmaxBackward':
      return 'softmax';
    case 'layerNorm':
    case 'layerNormBackward':
      return 'LayerNorm';
    case 'unary': {
      const op = args[0] as string;
      if (op === 'gelu' || op === 'geluTanh') return 'GELU';
      return op === 'copy' ? 'copy' : 'elementwise';
    }
    case 'binary':
      return args[0] === 'geluBackward' ? 'GELU' : 'elementwise';
    case 'addScaled':
    case 'emaStep':
    case 'emaStepForeach':
    case 'where':
    case 'fill':
      return 'elementwise';
    case 'reduce':
    case 'sumOfSquares':
    case 'sumOfSquaresForeach':
    case 'argReduce':
      return 'reduction';
    case 'gather':
    case 'scatterAdd':
      return 'indexing';
    case 'adamwStep':
    case 'adamwStepForeach':
      return 'fused optimizer';
  }
}

interface Recorder {
  readonly cells: Map<string, ProfileRow>;
  readonly ranges: Map<string, ProfileRange>;
  readonly open: string[];
}

let active: Recorder | null = null;

/**
 * Runs `fn` as a named range (torch.profiler.record_function): kernel calls inside it are
 * filed under `name`. Costs one test when no profile() is running.
 */
export function recordFunction<T>(name: string, fn: () => T): T {
  const recorder = active;
  if (recorder === null) return fn();
  const outer = recorder.open.includes(name);
  recorder.open.push(name);
  const start = performance.now();
  try {
    return fn();
  } finally {
    recorder.open.pop();
    if (!outer) {
      const range = recorder.ranges.get(name) ?? { name, calls: 0, ms: 0 };
      range.calls++;
      range.ms += performance.now() - start;
      recorder.ranges.set(name, range);
    }
  }
}

function timedBackend(base: Backend, recorder: Recorder): Backend {
  const wrapper = Object.create(base) as Record<string, unknown>;
  const methods = base as unknown as Record<Kernel, ((...args: unknown[]) => unknown) | undefined>;
  for (const kernel of KERNELS) {
    const method = methods[kernel];
    if (method === undefined) continue;
    wrapper[kernel] = (...args: unknown[]) => {
      const start = performance.now();
      try {
        return method.apply(base, args);
      } finally {
        const phase = recorder.open.at(-1) ?? FORWARD_PHASE;
        const family = classifyKernel(kernel, args);
        const key = `${phase}\u0000${family}`;
        const cell = recorder.cells.get(key) ?? { phase, family, calls: 0, ms: 0 };
        cell.calls++;
        cell.ms += performance.now() - start;
        recorder.cells.set(key, cell);
      }
    };
  }
  return wrapper as unknown as Backend;
}

/** Runs `fn` once with every kernel call on `device` timed, and reports the time per phase and op family. */
export function profile<T>(fn: () => T, device: Device = 'cpu'): { result: T; report: ProfileReport } {
  if (active !== null) throw new Error('profile: a profile is already running (profiles do not nest)');
  const recorder: Recorder = { cells: new Map(), ranges: new Map(), open: [] };
  const base = getBackend(device);
  replaceBackendInstance(device, timedBackend(base, recorder));
  active = recorder;
  const start = performance.now();
  try {
    const result = fn();
    const totalMs = performance.now() - start;
    return { result, report: { totalMs, rows: [...recorder.cells.values()], ranges: [...recorder.ranges.values()] } };
  } finally {
    active = null;
    replaceBackendInstance(device, base);
  }
}
