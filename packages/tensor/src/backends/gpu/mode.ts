// Which gpu.js mode runs the GPU backend, and why.
//
// gpu.js can run a kernel through WebGPU, WebGL (headless-gl in Node, WebGL2/WebGL in a
// browser) or its own CPU emulation. Auto-detection tries them in the order
//   webgpu -> headlessgl (Node) | webgl2 | webgl (browser) -> cpu
// and records, for every mode it tried, whether it is usable and why not. The CPU
// emulation is a fallback that keeps GPU tensors working everywhere; backendInfo()
// never reports it as a GPU. The choice can be forced with the DINOTS_GPU_MODE
// environment variable or configureGpu({ mode }) before the first GPU op.
//
// WebGPU comes first, as in tfjs, in browsers. Its reads are asynchronous only (`await
// t.data()`; dataSync(), item() and toArray() throw, naming the call), so a program that
// reads synchronously forces a WebGL mode there. Whether WebGPU has an adapter is only known
// asynchronously: `await gpuReady()` before the first GPU op (like tf.ready()) asks for one
// and falls through to the next mode when there is none.
// In Node, auto-detection leaves webgpu out and it runs only when forced: once Dawn (the
// `webgpu` package) has created its instance, it keeps Node's event loop alive after the
// program's last line and polls on a core (measured: 17.5 s of CPU in the 20 s after a
// script that only called backendInfo(); destroying the device does not end it), so
// picking it unasked would leave every program that touches the GPU backend hanging.

import { gpuJs } from '#gpu-js';

export type GpuMode = 'webgpu' | 'headlessgl' | 'webgl2' | 'webgl' | 'cpu';
export const GPU_MODES: readonly GpuMode[] = ['webgpu', 'headlessgl', 'webgl2', 'webgl', 'cpu'];

export interface ModeProbe {
  mode: GpuMode;
  available: boolean;
  /** Why the mode cannot run here (empty when it can). */
  reason: string;
}

/** The GPU backend's live configuration, as backendInfo() reports it. */
export interface GpuBackendInfo {
  /** The gpu.js mode that runs kernels. */
  mode: GpuMode;
  /** True only for modes that run on a GPU (or a GL/WebGPU rasteriser); false for gpu.js's CPU emulation. */
  isGpu: boolean;
  /** What was asked for: 'auto', or a mode forced by option or environment. */
  requested: GpuMode | 'auto';
  /** Every mode that was probed, in probe order. */
  probes: readonly ModeProbe[];
  /** Largest texture side in texels (a tensor holds at most maxTextureSize^2 elements); null in cpu mode. */
  maxTextureSize: number | null;
  /**
   * The GL renderer string (e.g. 'llvmpipe' for Mesa's software rasteriser), or in webgpu
   * mode the adapter's description, once known (after `await gpuReady()`).
   */
  renderer: string | null;
  /** webgpu mode: the adapter's GPUAdapterInfo, once the adapter was acquired (`await gpuReady()`); null otherwise. */
  adapter: WebGpuAdapterInfo | null;
}

/** What WebGPU says about its adapter (GPUAdapterInfo). */
export interface WebGpuAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
}

/** The subset of gpu.js's GPU class that the backend uses. */
export interface GpuJs {
  createKernel(source: string, settings: object): GpuJsKernel;
  addFunction(source: string, settings?: object): void;
  readonly Kernel: { features?: { maxTextureSize?: number } };
}

export interface GpuJsKernel {
  (...args: unknown[]): unknown;
  setOutput(output: number[]): void;
  destroy(removeCanvasReferences?: boolean): void;
  readonly context?: { getParameter(name: number): unknown; getExtension(name: string): unknown } | null;
}

/** What the backend takes from gpu.js's module (see gpu-js.ts and gpu-js.browser.ts). */
export interface GpuJsModule {
  GPU: (new (settings: object) => GpuJs) & { isHeadlessGLSupported: boolean; isWebGL2Supported: boolean; isWebGLSupported: boolean };
}

/** Node's require relative to `from` (no static node: import, so that browser bundles load this file). */
function nodeRequire(id: string, from: string = import.meta.url): NodeJS.Require {
  const getBuiltin = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule;
  const nodeModule = getBuiltin?.('node:module') as typeof import('node:module') | undefined;
  if (nodeModule === undefined) throw new Error(`gpu: cannot load ${id} here: it exists only in Node`);
  return nodeModule.createRequire(from);
}

/** Node's require from this module. */
function requireHere(id: string): unknown {
  return nodeRequire(id)(id);
}

/** gpu.js itself: its CommonJS entry in Node, its browser bundle in a browser (package.json's "#gpu-js"). */
export function loadGpuJs(): GpuJsModule {
  return gpuJs();
}

const isNode = typeof process !== 'undefined' && process.versions?.node !== undefined;

/** The subset of WebGPU's GPU object (navigator.gpu) that gpu.js uses. */
interface NavigatorGpu {
  requestAdapter(options?: object): Promise<WebGpuAdapter | null>;
}

interface WebGpuAdapter {
  readonly info: WebGpuAdapterInfo;
  requestDevice(descriptor?: object): Promise<object>;
}

/** Dawn's Node binding (the `webgpu` package, a dependency of gpu.js): `create(flags)` makes a navigator.gpu. */
interface Dawn {
  create(flags: string[]): NavigatorGpu;
}

/** Loads the `webgpu` package's Dawn binary, resolved from gpu.js (whose dependency it is). */
function loadDawn(): Dawn {
  const id = `webgpu/dist/${process.platform}-${process.arch}.dawn.node`;
  return nodeRequire(id, nodeRequire(id).resolve('gpu.js'))(id) as Dawn;
}

/**
 * WebGPU is there when navigator.gpu is (a browser), or in Node when the `webgpu`
 * package's Dawn binary loads: it needs GLIBCXX_3.4.32 and glibc 2.38 (Debian 13,
 * Ubuntu 24.04), newer than Debian 12's. Whether an adapter exists is only known
 * asynchronously (see gpuReady()).
 */
function probeWebGpu(): ModeProbe {
  if (!isNode) {
    const nav = (globalThis as { navigator?: { gpu?: unknown } }).navigator;
    return { mode: 'webgpu', available: nav?.gpu !== undefined, reason: nav?.gpu ? '' : 'navigator.gpu is missing' };
  }
  try {
    loadDawn();
  } catch (e) {
    const message = (e as Error).message.split('\n')[0];
    const hint = /GLIBC/.test(message) ? ' (Dawn needs GLIBCXX_3.4.32 and glibc 2.38, e.g. Debian 13; see scripts/webgpu-runtime.sh)' : '';
    return { mode: 'webgpu', available: false, reason: `the webgpu package's Dawn binary does not load: ${message}${hint}` };
  }
  return { mode: 'webgpu', available: true, reason: '' };
}

/**
 * Gives gpu.js a navigator.gpu in Node (Dawn's), once. Dawn's device rejects the
 * function gpu.js assigns to onuncapturederror ("not of the correct interface type"), so
 * each device gets an own onuncapturederror property that accepts and ignores it: Dawn
 * prints uncaptured errors itself, and kernel errors reach dinots through gpu.js's promises.
 */
export function installNavigatorGpu(): void {
  const global = globalThis as { navigator?: { gpu?: NavigatorGpu } };
  if (global.navigator?.gpu !== undefined) return;
  const dawn = loadDawn().create([]);
  const gpu: NavigatorGpu = {
    async requestAdapter(options) {
      const adapter = await dawn.requestAdapter(options);
      if (adapter === null) return null;
      const requestDevice = adapter.requestDevice.bind(adapter);
      return {
        info: adapter.info,
        get limits() {
          return (adapter as unknown as { limits: object }).limits;
        },
        async requestDevice(descriptor) {
          const device = await requestDevice(descriptor);
          Object.defineProperty(device, 'onuncapturederror', { set() {}, configurable: true });
          return device;
        },
      } as WebGpuAdapter;
    },
  };
  if (global.navigator === undefined) global.navigator = { gpu };
  else Object.defineProperty(global.navigator, 'gpu', { value: gpu, configurable: true });
}

function probeHeadlessGl(GPU: GpuJsModule['GPU']): ModeProbe {
  if (!isNode) return { mode: 'headlessgl', available: false, reason: 'headless-gl only exists in Node' };
  try {
    requireHere('gl');
  } catch (e) {
    return { mode: 'headlessgl', available: false, reason: `the optional native package gl is not built: ${(e as Error).message.split('\n')[0]}` };
  }
  if (GPU.isHeadlessGLSupported) return { mode: 'headlessgl', available: true, reason: '' };
  const display = process.env.DISPLAY;
  return {
    mode: 'headlessgl',
    available: false,
    reason: display ? `gl could not create a context on DISPLAY=${display}` : 'gl could not create a context: no X display (run under `xvfb-run -a`)',
  };
}

function probeBrowserGl(mode: 'webgl2' | 'webgl', GPU: GpuJsModule['GPU']): ModeProbe {
  if (isNode) return { mode, available: false, reason: `${mode} only exists in a browser` };
  const ok = mode === 'webgl2' ? GPU.isWebGL2Supported : GPU.isWebGLSupported;
  return { mode, available: ok, reason: ok ? '' : `this browser has no ${mode} context` };
}

/** Why WebGPU cannot run although it loads (no adapter), once gpuReady() found out; null until then. */
let webGpuAdapterMissing: string | null = null;

/**
 * Asks WebGPU for an adapter (installing Dawn's navigator.gpu in Node) and records why
 * there is none, so that auto-detection skips webgpu. Resolves once known; never rejects.
 */
export async function probeWebGpuAdapter(): Promise<void> {
  if (isNode || !probeWebGpu().available) return; // Node never auto-selects webgpu (see the header)
  try {
    if (isNode) installNavigatorGpu();
    const gpu = (globalThis as { navigator?: { gpu?: NavigatorGpu } }).navigator?.gpu;
    const adapter = await gpu?.requestAdapter();
    if (adapter == null) webGpuAdapterMissing = 'WebGPU loads but has no adapter (no GPU, or no Vulkan/Metal/D3D12 driver for it)';
  } catch (e) {
    webGpuAdapterMissing = `WebGPU loads but requesting an adapter failed: ${(e as Error).message.split('\n')[0]}`;
  }
}

/** Probes every mode (cpu always works) in auto-detection order. */
export function probeModes(GPU: GpuJsModule['GPU']): ModeProbe[] {
  const webGpu = probeWebGpu();
  return [
    webGpu.available && webGpuAdapterMissing !== null ? { mode: 'webgpu', available: false, reason: webGpuAdapterMissing } : webGpu,
    probeHeadlessGl(GPU),
    probeBrowserGl('webgl2', GPU),
    probeBrowserGl('webgl', GPU),
    { mode: 'cpu', available: true, reason: '' },
  ];
}

/** The mode asked for by `option`, else DINOTS_GPU_MODE, else 'auto'. */
export function requestedMode(option: GpuMode | 'auto' | undefined): GpuMode | 'auto' {
  const env = typeof process !== 'undefined' ? process.env.DINOTS_GPU_MODE : undefined;
  const asked = option ?? (env === undefined || env === '' ? 'auto' : env);
  if (asked !== 'auto' && !(GPU_MODES as readonly string[]).includes(asked)) {
    throw new Error(`gpu: unknown mode '${asked}' (from ${option === undefined ? 'DINOTS_GPU_MODE' : 'configureGpu'}); expected auto or one of ${GPU_MODES.join(', ')}`);
  }
  return asked as GpuMode | 'auto';
}

/**
 * The mode to run: the first available one in probe order (in Node, leaving out webgpu,
 * which runs there only when forced: see the header), or the requested one (an error when
 * it is unavailable).
 */
export function chooseMode(requested: GpuMode | 'auto', probes: readonly ModeProbe[], node: boolean = isNode): GpuMode {
  if (requested === 'auto') return probes.find((p) => p.available && !(node && p.mode === 'webgpu'))!.mode;
  const probe = probes.find((p) => p.mode === requested)!;
  if (!probe.available) throw new Error(`gpu: mode '${requested}' was requested but cannot run here: ${probe.reason}`);
  return requested;
}
