// The one gpu.js instance behind the GPU backend, and its compiled-kernel cache.
//
// Every kernel renders a flat float32 output of n elements (gpu.js `output: [n]`,
// which it lays out as a near-square texture) with `pipeline: true`, so its result stays
// on the device as a texture that the next kernel reads directly, and `immutable: true`,
// so each call returns a texture of its own rather than overwriting the previous result.
// Kernel sources are generated per op, shape and strides (the index arithmetic is baked
// into the source as literals) and compiled once: the cache maps source text to kernel,
// keyed by source and output size. Only kernels that read no texture (uploads, zeros)
// are resizable (one kernel for every size): gpu.js recycles a resizable kernel's old
// output texture when a kernel is fed its own output, which would render into a texture
// of the wrong size.
// Scalars that change from call to call (fill values, clamp bounds, eps) are kernel
// arguments instead, so they never cause a recompile.

import { ERF32_SOURCE, LOG1P32_SOURCE, POW32_SOURCE, TANH32_SOURCE } from './math32.js';
import { type GpuBackendInfo, type GpuJs, type GpuJsKernel, type GpuMode, chooseMode, loadGpuJs, probeModes, requestedMode } from './mode.js';

/** What a GPU storage holds: a gpu.js texture (GL modes) or a Float32Array (gpu.js cpu mode). */
export type DeviceArray = GpuTexture | Float32Array;

export interface GpuTexture {
  toArray(): Float32Array | Promise<Float32Array>;
  delete(): void;
}

export interface GpuOptions {
  /** Force a gpu.js mode instead of auto-detection (same values as DINOTS_GPU_MODE). */
  mode?: GpuMode | 'auto';
  /** How many compiled kernels to keep (least recently used ones are destroyed). */
  kernelCacheSize?: number;
}

const GL_RENDERER = 0x1f01;

interface CachedKernel {
  kernel: GpuJsKernel;
  /** Outputs of this kernel not yet released. */
  live: number;
  /** The output length it renders now. */
  size: number;
}

/** The cache entry of the kernel that produced each live device array. */
const producers = new WeakMap<DeviceArray, CachedKernel>();

export class GpuContext {
  readonly info: GpuBackendInfo;
  private readonly gpu: GpuJs;
  private readonly kernels = new Map<string, CachedKernel>();
  private readonly cacheSize: number;

  constructor(options: GpuOptions = {}) {
    const { GPU } = loadGpuJs();
    const requested = requestedMode(options.mode);
    const probes = probeModes(GPU);
    const mode = chooseMode(requested, probes);
    this.gpu = new GPU({ mode });
    for (const source of [ERF32_SOURCE, TANH32_SOURCE, LOG1P32_SOURCE, POW32_SOURCE]) this.gpu.addFunction(source);
    this.cacheSize = options.kernelCacheSize ?? 512;
    const maxTextureSize = mode === 'cpu' ? null : (this.gpu.Kernel.features?.maxTextureSize ?? null);
    this.info = { mode, isGpu: mode !== 'cpu', requested, probes, maxTextureSize, renderer: this.renderer() };
  }

  /** The GL renderer behind the context (e.g. 'llvmpipe' for Mesa's software rasteriser), from a one-texel kernel. */
  private renderer(): string | null {
    const kernel = this.gpu.createKernel('function () { return 0.0; }', { output: [1], precision: 'single' });
    kernel();
    const gl = kernel.context;
    kernel.destroy();
    if (gl == null) return null;
    const debug = gl.getExtension('WEBGL_debug_renderer_info') as { UNMASKED_RENDERER_WEBGL: number } | null;
    return String(gl.getParameter(debug?.UNMASKED_RENDERER_WEBGL ?? GL_RENDERER));
  }

  /** The largest number of elements one storage can hold (a maxTextureSize^2 texture). */
  get maxElements(): number {
    const side = this.info.maxTextureSize;
    return side === null ? Number.MAX_SAFE_INTEGER : side * side;
  }

  /** Runs the kernel with this source (compiling it on first use) over `n` output elements. */
  run(source: string, n: number, args: readonly unknown[], resizable = false): DeviceArray {
    // Input sizes are part of a fixed kernel's key: gpu.js then bakes the texture sizes into
    // the shader as constants, which makes indexing about 3x faster than size uniforms.
    const key = resizable ? source : `${n}|${args.map(sizeOf).join(',')}|${source}`;
    let entry = this.kernels.get(key);
    if (entry === undefined) {
      const kernel = this.gpu.createKernel(source, {
        output: [n],
        pipeline: true,
        immutable: true,
        precision: 'single',
        tactic: 'precision',
        dynamicArguments: resizable,
        dynamicOutput: resizable,
      });
      this.evict();
      entry = { kernel, live: 0, size: n };
      this.kernels.set(key, entry);
    } else {
      // Map order is insertion order: re-inserting marks the kernel as recently used.
      this.kernels.delete(key);
      this.kernels.set(key, entry);
      if (entry.size !== n) {
        entry.kernel.setOutput([n]);
        entry.size = n;
      }
    }
    const result = entry.kernel(...args) as DeviceArray;
    entry.live++;
    producers.set(result, entry);
    return result;
  }

  /** Number of compiled kernels held by the cache (each also keeps one output texture of its own). */
  get compiledKernels(): number {
    return this.kernels.size;
  }

  /**
   * Makes room for one more kernel by destroying least recently used ones. Only kernels none of whose
   * outputs is alive: gpu.js reads a texture through the kernel that rendered it, and its
   * destroy() deletes every texture the kernel rendered.
   */
  private evict(): void {
    for (const [key, entry] of this.kernels) {
      if (this.kernels.size < this.cacheSize) return;
      if (entry.live > 0) continue;
      this.kernels.delete(key);
      entry.kernel.destroy();
    }
  }
}

/** The element count of a kernel argument ('s' for a scalar). */
function sizeOf(arg: unknown): string {
  if (typeof arg === 'number') return 's';
  return String(arg instanceof Float32Array ? arg.length : (arg as { output: number[] }).output[0]);
}

/** Reads a device array back as a Float32Array of its n elements. */
export async function download(array: DeviceArray): Promise<Float32Array> {
  return array instanceof Float32Array ? array : await array.toArray();
}

export function downloadSync(array: DeviceArray, op: string): Float32Array {
  if (array instanceof Float32Array) return array;
  const values = array.toArray();
  if (values instanceof Promise) throw new Error(`${op}: this gpu.js mode only reads asynchronously; use await t.data()`);
  return values;
}

/** Frees a device array (once: later calls do nothing). */
export function release(array: DeviceArray): void {
  const entry = producers.get(array);
  if (entry === undefined) return;
  producers.delete(array);
  entry.live--;
  if (!(array instanceof Float32Array)) array.delete();
}
