// Plugging the GPU backend in: configureGpu() before the first GPU op, backendInfo() any time.

import { getBackend, registerBackend } from '../backend.js';
import { GpuContext, type GpuOptions } from './context.js';
import { GpuBackend } from './gpu-backend.js';
import { type GpuBackendInfo, probeWebGpuAdapter, requestedMode } from './mode.js';

let started: GpuBackend | null = null;
/** The options the backend will start with. */
let pending: GpuOptions = {};

function register(options: GpuOptions): void {
  pending = options;
  registerBackend('gpu', () => (started = new GpuBackend(new GpuContext(options))));
}

register({});

/**
 * Sets the GPU backend's options (mode, kernel cache size). The backend starts on the
 * first GPU op; after that its mode is fixed, since textures belong to one GL context.
 */
export function configureGpu(options: GpuOptions): void {
  if (started !== null) {
    throw new Error(`configureGpu: the GPU backend already runs in mode '${started.info.mode}'; configure it before the first GPU op`);
  }
  register(options);
}

/**
 * Starts the GPU backend and waits until it can run kernels (like tf.ready()). Called
 * before the first GPU op with the mode left to auto-detection in a browser, it first asks
 * WebGPU for an adapter, so that webgpu is chosen only where one exists and the next mode
 * otherwise (in Node auto-detection never picks webgpu: see mode.ts).
 * In webgpu mode it resolves once the adapter and device exist (rejecting with the reason
 * where there is none), after which backendInfo().adapter describes the adapter. Other
 * modes resolve at once.
 */
export async function gpuReady(): Promise<GpuBackendInfo> {
  if (started === null && requestedMode(pending.mode) === 'auto') await probeWebGpuAdapter();
  return (getBackend('gpu') as GpuBackend).context.ready();
}

/** Which gpu.js mode runs GPU tensors, whether it is a real GPU, and why other modes were skipped. Starts the backend. */
export function backendInfo(): GpuBackendInfo {
  return (getBackend('gpu') as GpuBackend).info;
}
