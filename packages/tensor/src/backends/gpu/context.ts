// The one gpu.js instance behind the GPU backend, and its compiled-kernel cache.
//
// Every kernel renders a flat float32 output of n elements (gpu.js `output: [n]`, which
// it lays out as a near-square texture of one float per RGBA texel; only the blocked
// matmul's intermediate fills all four channels) with `pipeline: true`, so its result stays
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
//
// WebGPU mode: a gpu.js WebGPU kernel returns a Promise (its first call compiles WGSL on
// the device asynchronously) of a GPU buffer handle. run() still returns at once: a
// PendingBuffer whose promise calls the kernel when its inputs' buffers exist. Since one
// WebGPU queue runs submissions in order, ops chain on the device with no host round
// trip; only reads await. A kernel error rejects that promise and every one that depends
// on it, and surfaces at the next `await t.data()`.
// runCompute() dispatches a WGSL compute shader written by hand (wgsl-matmul.ts: the tiled
// matmul, which needs workgroup memory that gpu.js kernels cannot declare) on gpu.js's own
// device, with the same PendingBuffer plumbing. Its result is a gpu.js WebGPUBufferResult
// over a buffer of its own, so gpu.js kernels take it as an input like any other.

import { ERF32_SOURCE, LOG1P32_SOURCE, POW32_SOURCE, SIN_SHIFT32_SOURCE, TANH32_SOURCE } from './math32.js';
import { type GpuBackendInfo, type GpuJs, type GpuJsKernel, type GpuMode, type WebGpuAdapterInfo, chooseMode, installNavigatorGpu, loadGpuJs, probeModes, requestedMode } from './mode.js';

/** What a GPU storage holds: a gpu.js texture (GL modes), a pending WebGPU buffer, or a Float32Array (gpu.js cpu mode). */
export type DeviceArray = GpuTexture | PendingBuffer | Float32Array;

/** A gpu.js GL texture or WebGPU buffer handle (WebGPUBufferResult, whose toArray() is a Promise). */
export interface GpuTexture {
  toArray(): Float32Array | Promise<Float32Array>;
  delete(): void;
}

/**
 * A WebGPU buffer that a kernel call will produce. `buffer` resolves once the kernel is
 * submitted; `settled` holds it from then on (so that a kernel whose inputs all exist runs
 * at once). Freeing waits for every kernel that reads the buffer to be submitted first:
 * WebGPU keeps a destroyed buffer alive for work already on the queue.
 */
export class PendingBuffer {
  settled: GpuTexture | null = null;
  private readonly readers: Promise<unknown>[] = [];

  constructor(readonly buffer: Promise<GpuTexture>, readonly length: number) {
    // errors surface where the buffer is awaited (a read), never as an unhandled rejection
    buffer.then((b) => (this.settled = b), () => {});
  }

  /** Records a kernel call that reads this buffer (freeing waits for it). */
  readBy(call: Promise<unknown>): void {
    this.readers.push(call);
  }

  /** Frees the buffer once it exists and every recorded reader was submitted; then runs `done`. */
  free(done: () => void): void {
    void Promise.allSettled([this.buffer, ...this.readers]).then(([own]) => {
      if (own.status === 'fulfilled') own.value.delete();
      done();
    });
  }
}

export interface GpuOptions {
  /** Force a gpu.js mode instead of auto-detection (same values as DINOTS_GPU_MODE). */
  mode?: GpuMode | 'auto';
  /** How many compiled kernels to keep (least recently used ones are destroyed). */
  kernelCacheSize?: number;
}

export interface RunOptions {
  /** One kernel for every output size (only for kernels that read no texture: see the top). */
  resizable?: boolean;
  /** Four floats per output texel instead of one. */
  vec4?: boolean;
}

const GL_RENDERER = 0x1f01;

/** The kernel that readTexture packs a storage texture with. */
const PACK_SOURCE = 'function (a0) {\n  return a0[this.thread.x];\n}';

/** Whatever produced a live device array: a cached gpu.js kernel or a WGSL pipeline. */
interface Producer {
  /** Outputs not yet released. */
  live: number;
}

interface CachedKernel extends Producer {
  kernel: GpuJsKernel;
  /** The output length it renders now (GL and cpu modes; a WebGPU call sets its own, see enqueue). */
  size: number;
  resizable: boolean;
  /** webgpu mode: the first call, which compiles the kernel; null once it was submitted. */
  building: Promise<unknown> | null;
}

/** The cache entry of the kernel that produced each live device array. */
const producers = new WeakMap<DeviceArray, Producer>();

/** The subset of WebGPU (GPUDevice and friends) that runCompute uses; the project compiles without the DOM's types. */
interface WebGpuBuffer {
  readonly size: number;
  destroy(): void;
  mapAsync(mode: number): Promise<void>;
  getMappedRange(): ArrayBuffer;
  unmap(): void;
}
interface WebGpuPipeline {
  getBindGroupLayout(index: number): unknown;
}
interface WebGpuDevice {
  createShaderModule(descriptor: { code: string }): unknown;
  createComputePipelineAsync(descriptor: { layout: 'auto'; compute: { module: unknown; entryPoint: string } }): Promise<WebGpuPipeline>;
  createBuffer(descriptor: { size: number; usage: number }): WebGpuBuffer;
  createBindGroup(descriptor: { layout: unknown; entries: { binding: number; resource: { buffer: WebGpuBuffer } }[] }): unknown;
  createCommandEncoder(): {
    beginComputePass(): { setPipeline(p: WebGpuPipeline): void; setBindGroup(i: number, g: unknown): void; dispatchWorkgroups(x: number, y: number, z: number): void; end(): void };
    copyBufferToBuffer(from: WebGpuBuffer, fromOffset: number, to: WebGpuBuffer, toOffset: number, bytes: number): void;
    finish(): unknown;
  };
  readonly queue: { submit(buffers: unknown[]): void; writeBuffer(buffer: WebGpuBuffer, offset: number, data: Float32Array): void };
}
/** gpu.js's shared WebGPU context (WebGPUContext.acquire()), which its buffer handles carry. */
interface GpuJsWebGpuContext {
  readonly device: WebGpuDevice;
  readonly isLost: boolean;
}
/** gpu.js's buffer handle, as runCompute reads it (its inputs) and makes it (its results). */
interface WebGpuBufferResult extends GpuTexture {
  readonly buffer: WebGpuBuffer;
}
type WebGpuBufferResultClass = new (settings: { buffer: WebGpuBuffer; output: number[]; context: GpuJsWebGpuContext; kernel: { readBufferResult(handle: WebGpuBufferResult): Promise<Float32Array> } }) => WebGpuBufferResult;

// GPUBufferUsage and GPUMapMode flags
const USAGE_MAP_READ = 0x1;
const USAGE_COPY_SRC = 0x4;
const USAGE_COPY_DST = 0x8;
const USAGE_STORAGE = 0x80;
const MAP_READ = 0x1;

/** A compiled WGSL compute pipeline (runCompute's cache). */
interface CachedPipeline extends Producer {
  pipeline: Promise<WebGpuPipeline>;
  /** The pipeline once compiled (calls whose inputs exist then submit at once). */
  ready: WebGpuPipeline | null;
}

export class GpuContext {
  readonly info: GpuBackendInfo;
  private readonly gpu: GpuJs;
  private readonly kernels = new Map<string, CachedKernel>();
  private readonly cacheSize: number;
  /** webgpu mode: the adapter and device request; other modes: resolved. */
  private readonly started: Promise<GpuBackendInfo>;
  /** webgpu mode: gpu.js's shared context, once acquired (runCompute dispatches on its device). */
  private webgpu: GpuJsWebGpuContext | null = null;
  /** runCompute's compiled pipelines, by source. */
  private readonly pipelines = new Map<string, CachedPipeline>();

  constructor(options: GpuOptions = {}) {
    const { GPU } = loadGpuJs();
    const requested = requestedMode(options.mode);
    const probes = probeModes(GPU);
    const mode = chooseMode(requested, probes);
    if (mode === 'webgpu' && typeof process !== 'undefined' && process.versions?.node !== undefined) installNavigatorGpu();
    this.gpu = new GPU({ mode });
    for (const source of [ERF32_SOURCE, TANH32_SOURCE, LOG1P32_SOURCE, POW32_SOURCE, SIN_SHIFT32_SOURCE]) this.gpu.addFunction(source);
    this.cacheSize = options.kernelCacheSize ?? 512;
    const gl = mode !== 'cpu' && mode !== 'webgpu'; // this.isGl, before info exists
    const maxTextureSize = gl ? (this.gpu.Kernel.features?.maxTextureSize ?? null) : null;
    this.info = { mode, isGpu: mode !== 'cpu', requested, probes, maxTextureSize, renderer: gl ? this.renderer() : null, adapter: null };
    this.started = mode === 'webgpu' ? this.acquireWebGpu() : Promise.resolve(this.info);
    this.started.catch(() => {}); // the reason surfaces through ready() and the first read
  }

  /**
   * Resolves once the GPU can run kernels: in webgpu mode, after gpu.js's shared adapter
   * and device were acquired (rejecting with the reason where there is none); other
   * modes at once.
   */
  ready(): Promise<GpuBackendInfo> {
    return this.started;
  }

  /** Requests the WebGPU adapter and device and records the adapter in info. */
  private async acquireWebGpu(): Promise<GpuBackendInfo> {
    const { WebGPUContext } = loadGpuJs() as unknown as { WebGPUContext: { acquire(): Promise<GpuJsWebGpuContext & { adapter: { info: WebGpuAdapterInfo } }> } };
    const context = await WebGPUContext.acquire();
    const { adapter } = context;
    this.webgpu = context;
    const { vendor, architecture, device, description } = adapter.info;
    this.info.adapter = { vendor, architecture, device, description };
    this.info.renderer = description || device || vendor;
    return this.info;
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

  /** Whether kernels are GL fragment shaders (headlessgl, webgl, webgl2). */
  get isGl(): boolean {
    return this.info.mode !== 'cpu' && this.info.mode !== 'webgpu';
  }

  /** The largest number of elements one storage can hold (a maxTextureSize^2 texture). */
  get maxElements(): number {
    const side = this.info.maxTextureSize;
    return side === null ? Number.MAX_SAFE_INTEGER : side * side;
  }

  /**
   * Runs the kernel with this source (compiling it on first use) over `n` outputs: floats,
   * or with `vec4` texels of four floats each (a kernel returning `[a, b, c, d]`, which
   * only kernels that know the layout read, see matmul.ts).
   */
  run(source: string, n: number, args: readonly unknown[], { resizable = false, vec4 = false }: RunOptions = {}): DeviceArray {
    // Input sizes are part of a fixed kernel's key: gpu.js then bakes the texture sizes into
    // the shader as constants, which makes indexing about 3x faster than size uniforms.
    const key = resizable ? source : `${n}|${args.map(sizeOf).join(',')}|${source}`;
    const entry = this.cached(key, n, resizable, () =>
      this.gpu.createKernel(source, {
        output: [n],
        pipeline: true,
        immutable: true,
        precision: 'single',
        tactic: 'precision',
        ...(vec4 && { returnType: 'Array(4)' }),
        dynamicArguments: resizable,
        dynamicOutput: resizable,
      }),
    );
    const result = this.info.mode === 'webgpu' ? this.enqueue(entry, n, args) : (entry.kernel(...args) as DeviceArray);
    entry.live++;
    producers.set(result, entry);
    return result;
  }

  /** The cache entry under `key` (created on first use), marked as the most recently used and sized for `n` outputs. */
  private cached(key: string, n: number, resizable: boolean, create: () => GpuJsKernel): CachedKernel {
    let entry = this.kernels.get(key);
    if (entry === undefined) {
      const kernel = create();
      this.evict();
      entry = { kernel, live: 0, size: n, resizable, building: null };
      this.kernels.set(key, entry);
      return entry;
    }
    // Map order is insertion order: re-inserting marks the kernel as recently used.
    this.kernels.delete(key);
    this.kernels.set(key, entry);
    if (entry.size !== n && this.info.mode !== 'webgpu') {
      entry.kernel.setOutput([n]);
      entry.size = n;
    }
    return entry;
  }

  /**
   * GL modes: the n values of a storage texture, read through a kernel that first packs
   * them four to a texel (gpu.js' memory-optimized float output). A storage texture holds
   * one float per RGBA texel, the layout every kernel reads, so reading it directly would
   * transfer and then unpack four times the data: 7.6 against 1.8 ms for 400k floats on
   * llvmpipe. The packing kernel renders into a texture of its own, never handed out.
   */
  readTexture(texture: GpuTexture, n: number): Float32Array {
    const entry = this.cached(`pack|${n}`, n, false, () =>
      this.gpu.createKernel(PACK_SOURCE, { output: [n], pipeline: false, optimizeFloatMemory: true, precision: 'single', tactic: 'precision' }),
    );
    const values = entry.kernel(texture) as Float32Array;
    // gpu.js returns a view of the whole texture's values: copy unless it spans its buffer
    return values.length * 4 === values.buffer.byteLength ? values : values.slice();
  }

  /**
   * webgpu mode: calls the kernel now when every input buffer exists, else once they do.
   * A resizable kernel gets its output size right before each call: gpu.js reads the size
   * when a call runs, and a kernel's first call runs only once its WGSL compiled, so a
   * size set at enqueue time would also resize the calls still waiting for the compiler
   * (two uploads of different sizes in a row gave the first one the second's size).
   * Calls made while the first compiles wait for it, in order.
   */
  private enqueue(entry: CachedKernel, n: number, args: readonly unknown[]): PendingBuffer {
    const { kernel } = entry;
    const invoke = (values: readonly unknown[]) => {
      if (entry.resizable) kernel.setOutput([n]);
      return kernel(...values) as Promise<GpuTexture>;
    };
    const pending = args.filter((a): a is PendingBuffer => a instanceof PendingBuffer);
    let call: Promise<GpuTexture>;
    if (entry.building === null && pending.every((a) => a.settled !== null)) {
      call = invoke(args.map((a) => (a instanceof PendingBuffer ? a.settled : a)));
    } else {
      call = Promise.all([entry.building, ...args.map((a) => (a instanceof PendingBuffer ? a.buffer : a))]).then(([, ...values]) => invoke(values));
    }
    if (!(kernel as { built?: boolean }).built) {
      const building = call.then(() => {}, () => {});
      entry.building = building;
      void building.then(() => {
        if (entry.building === building) entry.building = null;
      });
    }
    for (const input of pending) input.readBy(call);
    return new PendingBuffer(call, n);
  }

  /**
   * webgpu mode: runs a WGSL compute shader (entry point `main`) over `groups` workgroups.
   * Bindings 0 .. k - 1 are the k inputs, in order: device arrays, or host Float32Arrays
   * (small ones, such as a step's hyperparameters), which are written to a buffer of their
   * own on the queue, with no kernel; bindings k .. are one fresh buffer per entry of
   * `outputs` (its length in floats), returned in order. Pipelines are cached by source
   * (the least recently used ones leave the cache past the kernel cache's size).
   */
  runCompute(source: string, inputs: readonly DeviceArray[], outputs: readonly number[], groups: readonly [number, number, number]): PendingBuffer[] {
    if (this.info.mode !== 'webgpu') throw new Error(`gpu: runCompute needs webgpu mode, the backend runs in ${this.info.mode}`);
    if (outputs.some((n) => !(n >= 1))) throw new Error(`gpu: runCompute needs at least one element in every output, got [${outputs.join(', ')}]`);
    const pending = inputs.filter((input): input is PendingBuffer => input instanceof PendingBuffer);
    if (inputs.some((input) => !(input instanceof PendingBuffer) && !(input instanceof Float32Array))) {
      throw new Error('gpu: runCompute takes WebGPU buffers and Float32Arrays only (an input is neither)');
    }
    let entry = this.pipelines.get(source);
    if (entry === undefined) {
      const pipeline = this.started.then(() => {
        const device = this.webgpu!.device;
        return device.createComputePipelineAsync({ layout: 'auto', compute: { module: device.createShaderModule({ code: source }), entryPoint: 'main' } });
      });
      const created: CachedPipeline = { pipeline, ready: null, live: 0 };
      pipeline.then((p) => (created.ready = p), () => {});
      entry = created;
      if (this.pipelines.size >= this.cacheSize) this.pipelines.delete(this.pipelines.keys().next().value!);
    } else {
      this.pipelines.delete(source); // re-inserted below: Map order is recency
    }
    this.pipelines.set(source, entry);
    const { ready } = entry;
    const settled = (values: readonly unknown[]) => {
      let next = 0;
      return inputs.map((input) => (input instanceof PendingBuffer ? (values[next++] as WebGpuBufferResult) : (input as Float32Array)));
    };
    let call: Promise<WebGpuBufferResult[]>;
    if (ready !== null && pending.every((input) => input.settled !== null)) {
      call = Promise.resolve(this.dispatch(ready, settled(pending.map((input) => input.settled)), outputs, groups));
    } else {
      call = Promise.all([entry.pipeline, ...pending.map((input) => input.buffer)]).then(([pipeline, ...handles]) =>
        this.dispatch(pipeline as WebGpuPipeline, settled(handles), outputs, groups));
    }
    for (const input of pending) input.readBy(call);
    return outputs.map((n, i) => {
      const result = new PendingBuffer(call.then((handles) => handles[i]), n);
      entry.live++;
      producers.set(result, entry);
      return result;
    });
  }

  /** Encodes and submits one dispatch of `pipeline`; each output wraps a buffer of its own as gpu.js does. */
  private dispatch(pipeline: WebGpuPipeline, inputs: readonly (WebGpuBufferResult | Float32Array)[], outputs: readonly number[], groups: readonly [number, number, number]): WebGpuBufferResult[] {
    const context = this.webgpu!;
    if (context.isLost) throw new Error('gpu: the WebGPU device was lost');
    const { device } = context;
    const uploads: WebGpuBuffer[] = [];
    const bound = inputs.map((input) => {
      if (!(input instanceof Float32Array)) return input.buffer;
      const buffer = device.createBuffer({ size: Math.max(input.byteLength, 4), usage: USAGE_STORAGE | USAGE_COPY_DST });
      device.queue.writeBuffer(buffer, 0, input);
      uploads.push(buffer);
      return buffer;
    });
    const results = outputs.map((n) => device.createBuffer({ size: n * 4, usage: USAGE_STORAGE | USAGE_COPY_SRC }));
    const bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [...bound, ...results].map((buffer, binding) => ({ binding, resource: { buffer } })) });
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(groups[0], groups[1], groups[2]);
    pass.end();
    device.queue.submit([encoder.finish()]);
    for (const buffer of uploads) buffer.destroy(); // freed once the submitted dispatch has run
    const { WebGPUBufferResult } = loadGpuJs() as unknown as { WebGPUBufferResult: WebGpuBufferResultClass };
    return results.map((buffer, i) => new WebGPUBufferResult({ buffer, output: [outputs[i]], context, kernel: { readBufferResult: (handle) => readBuffer(device, handle.buffer, outputs[i]) } }));
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

/** webgpu mode: the first n floats of a storage buffer, through a staging buffer mapped for reading. */
async function readBuffer(device: WebGpuDevice, buffer: WebGpuBuffer, n: number): Promise<Float32Array> {
  const staging = device.createBuffer({ size: n * 4, usage: USAGE_MAP_READ | USAGE_COPY_DST });
  try {
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(buffer, 0, staging, 0, n * 4);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(MAP_READ);
    const values = new Float32Array(staging.getMappedRange().slice(0));
    staging.unmap();
    return values;
  } finally {
    staging.destroy();
  }
}

/** The element count of a kernel argument ('s' for a scalar). */
function sizeOf(arg: unknown): string {
  if (typeof arg === 'number') return 's';
  if (arg instanceof Float32Array || arg instanceof PendingBuffer) return String(arg.length);
  return String((arg as { output: number[] }).output[0]);
}

/** Reads a device array back as a Float32Array of its n elements. */
export async function download(array: DeviceArray): Promise<Float32Array> {
  if (array instanceof Float32Array) return array;
  if (array instanceof PendingBuffer) return await (await array.buffer).toArray();
  return await array.toArray();
}

/** Reads a device array back at once; `op` names the public call in the error of async-only modes. */
export function downloadSync(array: DeviceArray, op: string): Float32Array {
  const asyncOnly = `${op}: GPU tensors in webgpu mode can only be read asynchronously; use \`await t.data()\`, ` +
    `or run the GPU backend in a mode with synchronous reads (DINOTS_GPU_MODE=headlessgl, or configureGpu({ mode: 'headlessgl' }) in Node; 'webgl2' in a browser)`;
  if (array instanceof Float32Array) return array;
  if (array instanceof PendingBuffer) throw new Error(asyncOnly);
  const values = array.toArray();
  if (values instanceof Promise) throw new Error(asyncOnly);
  return values;
}

/** Frees a device array (once: later calls do nothing). */
export function release(array: DeviceArray): void {
  const entry = producers.get(array);
  if (entry === undefined) return;
  producers.delete(array);
  if (array instanceof PendingBuffer) {
    // the kernel stays in the cache (live) until its queued calls were submitted
    array.free(() => entry.live--);
    return;
  }
  entry.live--;
  if (!(array instanceof Float32Array)) array.delete();
}
