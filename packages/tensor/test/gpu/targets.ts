// The backends the conformance suite runs on: the CPU backend and every gpu.js mode that
// can run here. A mode that cannot run is skipped with its reason, except headlessgl in
// CI (CI=true), where a missing WebGL backend means the GPU kernels went untested: a failure.

import { GPU_MODES, type Device, type GpuMode, GpuBackend, registerBackend } from '../../src/index.js';
import { GpuContext } from '../../src/backends/gpu/context.js';

export interface Target {
  name: string;
  device: Device;
  mode: GpuMode | null;
}

export const TARGETS: readonly Target[] = [
  { name: 'cpu', device: 'cpu', mode: null },
  ...GPU_MODES.map((mode) => ({ name: `gpu:${mode}`, device: 'gpu' as const, mode })),
];

const backends = new Map<GpuMode, GpuBackend | string>();

/** The backend for a gpu.js mode (one per process), or why that mode cannot run here. */
export function gpuBackendFor(mode: GpuMode): GpuBackend | string {
  let entry = backends.get(mode);
  if (entry === undefined) {
    try {
      entry = new GpuBackend(new GpuContext({ mode }));
    } catch (e) {
      entry = (e as Error).message;
    }
    backends.set(mode, entry);
  }
  return entry;
}

/** Whether a missing mode fails the run instead of being skipped. */
export function isRequired(mode: GpuMode): boolean {
  return process.env.CI === 'true' && mode === 'headlessgl';
}

const reported = new Set<GpuMode>();

/** Makes `mode` the backend of device 'gpu', or skips (fails, when required) the calling suite. */
export function useGpuMode(context: Mocha.Context, mode: GpuMode): GpuBackend {
  const backend = gpuBackendFor(mode);
  if (typeof backend === 'string') {
    if (isRequired(mode)) throw new Error(`gpu mode ${mode} is required in CI but cannot run: ${backend}`);
    if (!reported.has(mode)) {
      reported.add(mode);
      console.log(`    [gpu] skipping mode ${mode}: ${backend}`);
    }
    context.skip();
  }
  registerBackend('gpu', () => backend);
  return backend;
}

/** The best GPU backend available here (auto-detection order), made the 'gpu' device's. */
export function useBestGpu(): GpuBackend {
  for (const mode of GPU_MODES) {
    const backend = gpuBackendFor(mode);
    if (typeof backend !== 'string') {
      registerBackend('gpu', () => backend);
      return backend;
    }
  }
  throw new Error('no gpu.js mode can run (even cpu failed)');
}

/** describe() once per target; `body` gets the device to create tensors on. */
export function describeTargets(title: string, body: (device: Device) => void): void {
  for (const target of TARGETS) {
    describe(`${title} [${target.name}]`, function () {
      if (target.mode !== null) {
        const mode = target.mode;
        before(function () {
          useGpuMode(this, mode);
        });
      }
      body(target.device);
    });
  }
}
