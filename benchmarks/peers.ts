// The implementations every case compares: dinots on the CPU (threads and kernels
// chosen per implementation), TensorFlow.js on its plain-JavaScript CPU backend and on
// its WebAssembly backend, and the naive JavaScript loop.

import { createRequire } from 'node:module';
import path from 'node:path';
// The umbrella package: tfjs-core with every gradient registered, and the CPU backend.
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { CpuBackend, type Tensor, cpuMemoryStats, getBackend, registerBackend, scope, setNumThreads } from '@dinots/tensor';
import type { Implementation, Runner } from './harness.js';

export { tf };

let tfjsReady: Promise<void> | null = null;
/** The flags each tfjs backend ran with, read from tf.env() once it started (run.ts records them). */
export const tfjsFlags: Record<string, Record<string, unknown>> = {};

/** Loads the tfjs-backend-wasm binary from its package (Node has no fetch of relative URLs). */
function initTfjs(): Promise<void> {
  tfjsReady ??= (async () => {
    const require = createRequire(import.meta.url);
    setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + path.sep);
    await tf.ready();
  })();
  return tfjsReady;
}

export interface OursOptions {
  readonly threads: number;
  /** false: the plain TypeScript kernels instead of WebAssembly SIMD. */
  readonly simd?: boolean;
  /** Whether the row takes its samples in turns with the case's other dinots rows (harness.ts; the model steps). */
  readonly inTurns?: boolean;
}

export function oursName({ threads, simd = true }: OursOptions): string {
  return `dinots ${simd ? '' : 'TS kernel, '}${threads} thread${threads === 1 ? '' : 's'}`;
}

/** What a dinots step returns: the result to check, or a Promise of it (a step written once for the CPU and GPU backends). */
export type StepResult = Tensor | Float32Array | Promise<Tensor | Float32Array>;

/**
 * dinots with the given threads and kernels. `build` creates the inputs and returns the
 * step; the step's return value (from the first call) is the result to check. Each step
 * runs in a scope(), which frees everything but its result when it ends.
 */
export function ours(options: OursOptions, build: () => () => StepResult): Implementation {
  return {
    name: oursName(options),
    inTurns: options.inTurns ?? false,
    prepare(): Runner {
      const backend = new CpuBackend({ simd: options.simd ?? true });
      // each step sets its own thread count and kernels: its samples take turns with other rows'
      const use = () => {
        setNumThreads(options.threads);
        if (getBackend('cpu') !== backend) registerBackend('cpu', () => backend);
      };
      use();
      const step = build();
      let result: Float32Array | null = null;
      return {
        step() {
          use();
          const keep = (r: Tensor | Float32Array) => {
            result ??= r instanceof Float32Array ? r : (r.dataSync() as Float32Array);
          };
          // in a scope, as tfjs' steps run in tf.tidy: the step's memory goes back to the pool at its end
          const r = scope(step);
          return r instanceof Promise ? r.then(keep) : keep(r);
        },
        get result() {
          return result!;
        },
        dispose() {
          registerBackend('cpu', () => new CpuBackend());
        },
        memory: cpuMemoryStats,
      };
    },
  };
}

export type TfBackend = 'wasm' | 'cpu';

export function tfjsName(backend: TfBackend): string {
  return backend === 'wasm' ? 'tfjs-backend-wasm (SIMD, 1 thread)' : 'tfjs-backend-cpu';
}

/** TensorFlow.js on `backend`; `build` runs inside the backend and returns the step (its tensors are freed each time). */
export function tfjs(backend: TfBackend, build: () => () => tf.Tensor): Implementation {
  return {
    name: tfjsName(backend),
    async prepare(): Promise<Runner> {
      await initTfjs();
      if (!(await tf.setBackend(backend))) throw new Error(`tfjs: backend ${backend} failed to start`);
      tfjsFlags[backend] = { ...tf.env().getFlags() };
      const step = build();
      let result: Float32Array | null = null;
      return {
        step() {
          tf.tidy(() => {
            const data = step().dataSync() as Float32Array;
            result ??= data.slice();
          });
        },
        get result() {
          return result!;
        },
      };
    },
  };
}

/** A plain JavaScript loop over Float32Arrays; `build` returns the step, which returns its output. */
export function naive(build: () => () => Float32Array): Implementation {
  return {
    name: 'naive JS loop',
    prepare(): Runner {
      const step = build();
      let result: Float32Array | null = null;
      return {
        step() {
          const r = step();
          result ??= r;
        },
        get result() {
          return result!;
        },
      };
    },
  };
}
