// The backends the conformance suite runs on: the CPU backend and every gpu.js mode that
// can run here. A mode that cannot run is skipped with its reason, except where it is
// required: headlessgl in CI (CI=true), where a missing WebGL backend means the GPU
// kernels went untested; webgpu in CI when the tests run under the WebGPU runtime
// (DINOTS_WEBGPU_RUNTIME=1, set by scripts/test.sh); and a mode named by DINOTS_GPU_MODE,
// which also narrows the targets to that one mode:
//   DINOTS_GPU_MODE=webgpu npx mocha packages/tensor/dist/test/backends/conformance.test.js
// In a browser (test/browser/conformance.test.ts runs this suite in Chromium) these
// variables come from globalThis.DINOTS_TEST_ENV, which the test's page sets.

import { GPU_MODES, type Device, type GpuMode, GpuBackend, registerBackend } from '../../src/index.js';
import { GpuContext } from '../../src/backends/gpu/context.js';
import { requestedMode } from '../../src/backends/gpu/mode.js';

export interface Target {
  name: string;
  device: Device;
  mode: GpuMode | null;
}

/** An environment variable: Node's, or in a browser the page's DINOTS_TEST_ENV. */
function testEnv(name: string): string | undefined {
  if (typeof process !== 'undefined') return process.env[name];
  return (globalThis as { DINOTS_TEST_ENV?: Record<string, string> }).DINOTS_TEST_ENV?.[name];
}

/** The mode DINOTS_GPU_MODE names, or null (every mode). */
const forced = ((): GpuMode | null => {
  const asked = typeof process !== 'undefined' ? requestedMode(undefined) : requestedMode((testEnv('DINOTS_GPU_MODE') || 'auto') as GpuMode | 'auto');
  return asked === 'auto' ? null : asked;
})();

export const TARGETS: readonly Target[] = [
  ...(forced === null ? [{ name: 'cpu', device: 'cpu' as const, mode: null }] : []),
  ...GPU_MODES.filter((mode) => forced === null || mode === forced).map((mode) => ({ name: `gpu:${mode}`, device: 'gpu' as const, mode })),
];

const backends = new Map<GpuMode, Promise<GpuBackend | string>>();

/**
 * The backend for a gpu.js mode (one per process) once it can run kernels (webgpu:
 * adapter and device acquired), or why that mode cannot run here.
 */
export function gpuBackendFor(mode: GpuMode): Promise<GpuBackend | string> {
  let entry = backends.get(mode);
  if (entry === undefined) {
    entry = (async () => {
      try {
        const backend = new GpuBackend(new GpuContext({ mode }));
        await backend.context.ready();
        return backend;
      } catch (e) {
        return (e as Error).message.split('\n')[0];
      }
    })();
    backends.set(mode, entry);
  }
  return entry;
}

/** Whether a missing mode fails the run instead of being skipped. */
export function isRequired(mode: GpuMode): boolean {
  if (mode === forced) return true;
  if (testEnv('CI') !== 'true') return false;
  return mode === 'headlessgl' || (mode === 'webgpu' && testEnv('DINOTS_WEBGPU_RUNTIME') === '1');
}

const reported = new Set<GpuMode>();

/**
 * The backend of `mode`; where the mode cannot run here, a failure when it is required
 * (isRequired), else a skip of the calling test or suite that prints why (once per mode).
 */
export async function gpuBackendOrSkip(context: Mocha.Context, mode: GpuMode): Promise<GpuBackend> {
  const backend = await gpuBackendFor(mode);
  if (typeof backend !== 'string') return backend;
  if (isRequired(mode)) throw new Error(`gpu mode ${mode} is required here but cannot run: ${backend}`);
  if (!reported.has(mode)) {
    reported.add(mode);
    const elsewhere = mode === 'webgl' || mode === 'webgl2' ? ' (test/browser/conformance.test.ts runs this suite in that mode in Chromium)' : '';
    console.log(`    [gpu] skipping mode ${mode}: not required here and it cannot run: ${backend}${elsewhere}`);
  }
  return context.skip();
}

/** Makes `mode` the backend of device 'gpu', or skips (fails, when required) the calling suite. */
export async function useGpuMode(context: Mocha.Context, mode: GpuMode): Promise<GpuBackend> {
  const backend = await gpuBackendOrSkip(context, mode);
  registerBackend('gpu', () => backend);
  return backend;
}

/**
 * The best GPU backend with synchronous reads available here (auto-detection order
 * without webgpu, whose reads are asynchronous only), made the 'gpu' device's.
 */
export async function useBestGpu(): Promise<GpuBackend> {
  for (const mode of GPU_MODES.filter((m) => m !== 'webgpu')) {
    const backend = await gpuBackendFor(mode);
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
        before(async function () {
          await useGpuMode(this, mode);
        });
      }
      body(target.device);
    });
  }
}
