// The GPU backend: the Backend interface on gpu.js kernels.
//
// Each kernel call renders its result into a new texture (see context.ts) which becomes
// the output storage's contents, so consecutive ops chain texture to texture with no
// read-back. Reads are explicit: `await t.data()`; readSync (t.dataSync(), t.to('cpu'))
// also works in the GL modes, where it blocks until the GPU has finished (a pipeline
// stall, as WebGL's readPixels always is), and throws in webgpu mode, whose reads are
// asynchronous only (WebGPU maps buffers with mapAsync).

import type { AdamWStepHyper, Backend, BinaryOp, ReduceOp, UnaryOp } from '../backend.js';
import { type DType, type TypedArray, dtypeOfArray, typedArrayFor } from '../../dtype.js';
import { formatShape, isContiguousLayout } from '../../shape.js';
import type { Tensor } from '../../tensor.js';
import { MAX_EXACT_INDEX, contiguousView, kernelSource } from './codegen.js';
import { type DeviceArray, GpuContext, type GpuTexture, download, downloadSync, release } from './context.js';
import { BINARY_EXPRESSIONS, UNARY_EXPRESSIONS, WHERE_EXPRESSION, isNestedView, mapSource, mergeSource } from './elementwise.js';
import { GpuStorage } from './gpu-storage.js';
import { gatherSource, scatterAddSource } from './indexing.js';
import { meanSource, normalizeSource, rstdSource } from './layer-norm.js';
import { blockCount, blockedMatmulSource, matmulSource, packAlongKSource, packedLength, unblockSource } from './matmul.js';
import { matmulTiling, matmulWorkgroups, wgslMatmulSource } from './wgsl-matmul.js';
import { adamWScalars, adamWWorkgroups, wgslAdamWSource } from './wgsl-adamw.js';
import { REDUCE_CHUNK, argReduceSource, partialReduceSource, reduceSource } from './reduce.js';
import { normalizeExpression, rowExpSumSource, rowStatView } from './softmax.js';
import type { GpuBackendInfo } from './mode.js';

const UPLOAD_SOURCE = kernelSource(['a0'], [], 'a0[this.thread.x]');
const ZEROS_SOURCE = kernelSource([], [], '0.0');

/** WebGPU's default maxComputeWorkgroupsPerDimension: the webgpu matmul's batch items go along one dim. */
const MAX_WORKGROUPS = 65535;

/** The largest float32 (uniforms stand in for +-Infinity with it, which GLSL cannot pass reliably). */
const FLOAT32_MAX = 3.4028234663852886e38;

export class GpuBackend implements Backend {
  readonly device = 'gpu' as const;
  /** The fused AdamW update (fusedAdamW_): webgpu mode only, where a kernel can write three outputs (wgsl-adamw.ts). */
  readonly adamwStep?: (p: Tensor, grad: Tensor, expAvg: Tensor, expAvgSq: Tensor, hyper: AdamWStepHyper) => void;

  constructor(readonly context: GpuContext) {
    if (context.info.mode === 'webgpu') this.adamwStep = (p, grad, expAvg, expAvgSq, hyper) => this.adamwWgsl(p, grad, expAvg, expAvgSq, hyper);
  }

  get info(): GpuBackendInfo {
    return this.context.info;
  }

  allocate(dtype: DType, length: number): GpuStorage {
    this.checkStorage('allocate', dtype, length);
    return new GpuStorage(dtype, length);
  }

  fromArray(data: TypedArray): GpuStorage {
    const dtype = dtypeOfArray(data);
    this.checkStorage('fromArray', dtype, data.length);
    if (data.length === 0) return new GpuStorage(dtype, 0);
    // WebGL and WebGPU refuse views on a SharedArrayBuffer (where the CPU backend keeps large storages when it has threads): copy those.
    const values = data instanceof Float32Array && !(data.buffer instanceof SharedArrayBuffer) ? data : Float32Array.from(data);
    return new GpuStorage(dtype, data.length, this.context.run(UPLOAD_SOURCE, data.length, [values], { resizable: true }));
  }

  readSync(x: Tensor, op: string): TypedArray {
    const { array, temporary } = this.rowMajor(x);
    try {
      return toTyped(this.glRead(array, x.numel) ?? downloadSync(array, op), x.dtype, array);
    } finally {
      if (temporary) release(array);
    }
  }

  async read(x: Tensor): Promise<TypedArray> {
    const { array, temporary } = this.rowMajor(x);
    try {
      return toTyped(this.glRead(array, x.numel) ?? (await download(array)), x.dtype, array);
    } finally {
      if (temporary) release(array);
    }
  }

  unary(op: UnaryOp, x: Tensor, out: Tensor, params: readonly number[] = []): void {
    const p = params.map((v) => Math.max(-FLOAT32_MAX, Math.min(FLOAT32_MAX, v)));
    this.write(out, mapSource(UNARY_EXPRESSIONS[op], out.shape, [x], p.length, out.dtype), [this.input(x, op)], p);
  }

  binary(op: BinaryOp, a: Tensor, b: Tensor, out: Tensor): void {
    this.write(out, mapSource(BINARY_EXPRESSIONS[op], out.shape, [a, b], 0, out.dtype), [this.input(a, op), this.input(b, op)]);
  }

  /** The teacher's EMA, target = target * m + source * (1 - m), in one kernel (fusedEma_). */
  emaStep(target: Tensor, source: Tensor, momentum: number): boolean {
    this.write(target, mapSource('x * p0 + y * p1', target.shape, [target, source], 2, target.dtype), [this.input(target, 'emaStep'), this.input(source, 'emaStep')], [momentum, 1 - momentum]);
    return true;
  }

  /** webgpu mode: p, m and v updated by one WGSL kernel (wgsl-adamw.ts) instead of the composed update's twenty. */
  private adamwWgsl(p: Tensor, grad: Tensor, expAvg: Tensor, expAvgSq: Tensor, hyper: AdamWStepHyper): void {
    const n = p.numel;
    if (n === 0) return;
    const source = wgslAdamWSource(n, [p.offset, grad.offset, expAvg.offset, expAvgSq.offset]);
    const inputs = [p, grad, expAvg, expAvgSq].map((t) => this.input(t, 'adamwStep'));
    const outputs = this.context.runCompute(source, [...inputs, adamWScalars(hyper)], [n, n, n], adamWWorkgroups(n));
    [p, expAvg, expAvgSq].forEach((t, i) => this.store(t, outputs[i]));
  }

  where(cond: Tensor, a: Tensor, b: Tensor, out: Tensor): void {
    const inputs = [this.input(cond, 'where'), this.input(a, 'where'), this.input(b, 'where')];
    this.write(out, mapSource(WHERE_EXPRESSION, out.shape, [cond, a, b], 0, out.dtype), inputs);
  }

  fill(out: Tensor, value: number): void {
    this.write(out, mapSource('p0', out.shape, [], 1, out.dtype), [], [value]);
  }

  reduce(op: ReduceOp, x: Tensor, dims: readonly number[], out: Tensor): void {
    const R = dims.reduce((p, d) => p * x.shape[d], 1);
    if (R <= REDUCE_CHUNK || out.numel === 0) {
      this.write(out, reduceSource(op, x, dims, out.dtype), [this.input(x, op)]);
      return;
    }
    // Long rows: lay x out as [rows, R] (kept dims first), reduce chunks, then the chunks.
    // A storage already in that layout (a whole contiguous tensor summed, as a norm does) is
    // read as it is, with no copy first.
    const kept = x.shape.map((_, d) => d).filter((d) => !dims.includes(d));
    const order = [...kept, ...dims];
    const rowsView = { shape: order.map((d) => x.shape[d]), strides: order.map((d) => x.strides[d]), offset: x.offset };
    const rows = out.numel;
    const inPlace = this.coversStorage(x) && isContiguousLayout(rowsView.shape, rowsView.strides);
    const xa = this.input(x, op);
    const flat = inPlace ? xa : this.context.run(mapSource('x', rowsView.shape, [rowsView], 0, 'float32'), rows * R, [xa]);
    const chunks = Math.ceil(R / REDUCE_CHUNK);
    const partial = this.context.run(partialReduceSource(op, rows, R), rows * chunks, [flat]);
    if (!inPlace) release(flat);
    this.write(out, reduceSource(op, contiguousView([rows, chunks]), [1], out.dtype), [partial]);
    release(partial);
  }

  argReduce(op: 'max' | 'min', x: Tensor, dim: number, values: Tensor, indices: Tensor): void {
    const xa = this.input(x, `arg${op}`);
    this.write(values, argReduceSource(op, x, dim, 'value'), [xa]);
    this.write(indices, argReduceSource(op, x, dim, 'index'), [xa]);
  }

  /**
   * webgpu mode's WGSL matmul (wgsl-matmul.ts) adds a bias in the kernel and reads any
   * number of strided batch dims; gpu.js kernels do neither.
   */
  get matmulBias(): boolean {
    return this.context.info.mode === 'webgpu';
  }

  get matmulBatchViews(): boolean {
    return this.context.info.mode === 'webgpu';
  }

  matmul(a: Tensor, b: Tensor, out: Tensor, bias: Tensor | null = null): void {
    if (a.shape[a.ndim - 1] === 0) {
      // K = 0: the empty sums are zeros (plus the bias), and a and b have no storage to read
      if (bias === null) this.fill(out, 0);
      else this.write(out, mapSource('x', out.shape, [{ shape: out.shape, strides: out.shape.map((_, d) => (d === out.ndim - 1 ? bias.strides[0] : 0)), offset: bias.offset }], 0, out.dtype), [this.input(bias, 'matmul')]);
      return;
    }
    const inputs = [this.input(a, 'matmul'), this.input(b, 'matmul')];
    if (this.context.info.mode === 'webgpu') {
      this.matmulWgsl(a, b, out, bias, inputs);
      return;
    }
    const [B, M, K] = a.shape;
    const N = b.shape[2];
    if (bias !== null) throw new Error(`matmul: the GPU backend in ${this.context.info.mode} mode adds no bias inside a product (matmulBias is false)`);
    // 2x2 blocks in GL modes (see matmul.ts); a matrix-vector product would waste half of each
    if (!this.context.isGl || M < 2 || N < 2 || K === 0 || out.numel === 0) {
      this.write(out, matmulSource(a, b), inputs);
      return;
    }
    const K4 = packedLength(K);
    const rows = this.context.run(packAlongKSource(a, 2), B * M * K4, [inputs[0]], { vec4: true });
    const columns = this.context.run(packAlongKSource(b, 1), B * N * K4, [inputs[1]], { vec4: true });
    const blocks = this.context.run(blockedMatmulSource(B, M, K, N), blockCount(B, M, N), [rows, columns], { vec4: true });
    release(rows);
    release(columns);
    this.write(out, unblockSource(B, M, N), [blocks]);
    release(blocks);
  }

  /** webgpu mode: the tiled WGSL kernel, specialised to this shape and these strides, over a [...batch, M, K] x [...batch, K, N] product. */
  private matmulWgsl(a: Tensor, b: Tensor, out: Tensor, bias: Tensor | null, inputs: DeviceArray[]): void {
    if (out.numel === 0) return;
    const M = a.shape[a.ndim - 2];
    const N = b.shape[b.ndim - 1];
    const items = out.numel / (M * N);
    if (items > MAX_WORKGROUPS) {
      throw new RangeError(`matmul: ${formatShape(a.shape)} x ${formatShape(b.shape)} on the GPU in webgpu mode is ${items} products, over WebGPU's ${MAX_WORKGROUPS} workgroups along one dim; fold the batch into the rows or split it`);
    }
    const tiling = matmulTiling(M, N);
    const source = wgslMatmulSource(a, b, tiling, bias);
    if (bias !== null) inputs.push(this.input(bias, 'matmul'));
    const [result] = this.context.runCompute(source, inputs, [out.numel], matmulWorkgroups(items, M, N, tiling));
    this.store(out, result);
  }

  softmax(x: Tensor, dim: number, log: boolean, out: Tensor): void {
    if (out.numel === 0) return;
    const op = log ? 'logSoftmax' : 'softmax';
    const xa = this.input(x, op);
    const rows = x.numel / x.shape[dim];
    const max = this.context.run(reduceSource('max', x, [dim], 'float32'), rows, [xa]);
    const sum = this.context.run(rowExpSumSource(x, dim), rows, [xa, max]);
    const stat = rowStatView(x.shape, dim);
    this.write(out, mapSource(normalizeExpression(log), x.shape, [x, stat, stat], 0, 'float32'), [xa, max, sum]);
    release(max);
    release(sum);
  }

  layerNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps: number, out: Tensor, mean: Tensor, rstd: Tensor): void {
    for (const t of [mean, rstd]) {
      if (!this.coversStorage(t)) throw new Error(`layerNorm: gpu expects fresh contiguous mean/rstd outputs, got shape ${formatShape(t.shape)} strides ${formatShape(t.strides)}`);
    }
    const xa = this.input(x, 'layerNorm');
    this.write(mean, meanSource(x), [xa]);
    const ma = this.input(mean, 'layerNorm');
    this.write(rstd, rstdSource(x), [xa, ma], [eps]);
    const inputs = [xa, ma, this.input(rstd, 'layerNorm')];
    if (weight !== null) inputs.push(this.input(weight, 'layerNorm'));
    if (bias !== null) inputs.push(this.input(bias, 'layerNorm'));
    this.write(out, normalizeSource(x, weight, bias), inputs);
  }

  gather(x: Tensor, dim: number, index: Tensor, out: Tensor): void {
    this.write(out, gatherSource(x, dim, index), [this.input(x, 'gather'), this.input(index, 'gather')]);
  }

  scatterAdd(out: Tensor, dim: number, index: Tensor, src: Tensor): void {
    const inputs = [this.input(out, 'scatterAdd'), this.input(index, 'scatterAdd'), this.input(src, 'scatterAdd')];
    this.write(out, scatterAddSource(out, dim, index, src), inputs);
  }

  // ------------------------------------------------------------------ storage plumbing

  private checkStorage(op: string, dtype: DType, length: number): void {
    if (dtype === 'float64') {
      throw new TypeError(`${op}: float64 tensors cannot live on the GPU (WebGL computes in float32); convert with .float() first`);
    }
    const limit = Math.min(this.context.maxElements, MAX_EXACT_INDEX);
    if (length > limit) {
      throw new RangeError(
        `${op}: a GPU tensor of ${length} elements exceeds the backend's limit of ${limit} ` +
          `(float32 addressing is exact to 2^24, textures hold maxTextureSize^2 = ${this.context.maxElements}); keep it on the CPU or split it`,
      );
    }
  }

  /** The device array behind x's storage (materialising a zeros texture for a never-written storage). */
  private input(x: Tensor, op: string): DeviceArray {
    const storage = gpuStorage(x, op);
    const array = storage.array(op);
    if (array !== null || storage.length === 0) return array!;
    const zeros = this.context.run(ZEROS_SOURCE, storage.length, [], { resizable: true });
    storage.replace(zeros);
    return zeros;
  }

  /** Whether `out` addresses its whole storage in row-major order (so a result can replace it). */
  private coversStorage(out: Tensor): boolean {
    return out.offset === 0 && out.numel === out.storage.length && isContiguousLayout(out.shape, out.strides);
  }

  /** Runs the kernel over out's elements and stores the result into out (merging into a view). */
  private write(out: Tensor, source: string, inputs: readonly DeviceArray[], params: readonly number[] = []): void {
    gpuStorage(out, 'write').array('write');
    if (out.numel === 0) return;
    this.store(out, this.context.run(source, out.numel, [...inputs, ...params]));
  }

  /** Stores `result`, out's elements in row-major order, into out: its storage's new contents, or merged into the view. */
  private store(out: Tensor, result: DeviceArray): void {
    const storage = gpuStorage(out, 'write');
    storage.array('write');
    if (this.coversStorage(out)) {
      storage.replace(result);
      return;
    }
    if (!isNestedView(out)) {
      release(result);
      throw new Error(`gpu: cannot write through a view with shape ${formatShape(out.shape)} and strides ${formatShape(out.strides)} (its elements overlap or interleave); write into a contiguous tensor`);
    }
    // a storage never written holds zeros: the merge writes them instead of reading a zeros texture
    const keepsOld = storage.array('write') !== null;
    const merged = this.context.run(mergeSource(out, keepsOld), storage.length, keepsOld ? [this.input(out, 'write'), result] : [result]);
    release(result);
    storage.replace(merged);
  }

  /** GL modes: a texture's n values, packed before the read (context.readTexture); null in the other modes. */
  private glRead(array: DeviceArray, n: number): Float32Array | null {
    return this.context.isGl && !(array instanceof Float32Array) ? this.context.readTexture(array as GpuTexture, n) : null;
  }

  /** A device array holding x's elements in row-major order: its storage's, or a temporary copy. */
  private rowMajor(x: Tensor): { array: DeviceArray; temporary: boolean } {
    if (x.numel === 0) return { array: new Float32Array(0), temporary: false };
    const array = this.input(x, 'read');
    if (this.coversStorage(x)) return { array, temporary: false };
    return { array: this.context.run(mapSource('x', x.shape, [x], 0, 'float32'), x.numel, [array]), temporary: true };
  }
}

/** Float32 values as a fresh typed array of `dtype` (never the storage's own array, which gpu.js cpu mode hands out). */
function toTyped(values: Float32Array, dtype: DType, source: DeviceArray): TypedArray {
  if (dtype === 'float32') return values === source ? values.slice() : values;
  const typed = typedArrayFor(dtype, values.length);
  typed.set(values);
  return typed;
}

function gpuStorage(t: Tensor, op: string): GpuStorage {
  if (!(t.storage instanceof GpuStorage)) throw new Error(`${op}: expected a GPU tensor, got one on '${t.device}' (shape ${formatShape(t.shape)})`);
  return t.storage;
}
