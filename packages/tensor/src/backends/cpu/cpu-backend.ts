// The CPU backend: one class that dispatches every op to a kernel (backends/cpu/README.md
// says which file is the fast path and which the reference, op by op). Matrix products and
// float32 add/sub/mul/div, GELU, softmax and LayerNorm run on WebAssembly SIMD kernels
// (matmul/gemm-wasm.ts, elementwise/elementwise-wasm.ts,
// softmax-layer-norm/softmax-layer-norm-wasm.ts); large kernels are split over a
// worker-thread pool (threads/pool.ts), and outputs go on memory recycled from dead tensors
// (buffer-pool.ts). The plain TypeScript kernels remain the reference and the fallback.

import type { AdamWStepHyper, AdamWStepItem, Backend, BinaryOp, ReduceOp, UnaryOp } from '../backend.js';
import { type DType, type TypedArray, typedArrayFor } from '../../dtype.js';
import { contiguousStrides, numel } from '../../shape.js';
import { CpuStorage, sharedMemoryThreshold } from '../../storage.js';
import type { Tensor } from '../../tensor.js';
import { allocatePooled } from './buffer-pool.js';
import { BINARY_EXPRESSIONS, UNARY_EXPRESSIONS, reduceLoop, runStrided, simplifyStrided, stridedSlab } from './elementwise/elementwise.js';
import { COLUMN_BLOCK, columnSums, columnSumsOf } from './elementwise/column-sums.js';
import { rowSums, rowSumsOf } from './elementwise/row-sums.js';
import { copyRuns, copyRunsApply } from './elementwise/copy-runs.js';
import { SUM_CHUNK, addPartials, sumChunks, sumOfSquaresChunks, sumOfSquaresParts } from './elementwise/sum-chunks.js';
import { wasmSumChunksAvailable } from './elementwise/sum-chunks-wasm.js';
import { wasmColumnSumsAvailable } from './elementwise/column-sums-wasm.js';
import { type SimdArgs, elementwiseSlabWasm, wasmElementwiseAvailable, wasmPlan } from './elementwise/elementwise-wasm.js';
import type { Operand } from './elementwise/strided-loop.js';
import { gatherStrided, scatterAddStrided } from './indexing.js';
import { gemmPart } from './matmul/gemm-part.js';
import { adamwStepPart } from './optim/adamw-step-part.js';
import { rowOffsets } from './row-offsets.js';
import { PARAM_GRAD_BLOCK, layerNormBackwardRows, layerNormParamGradColumns, layerNormRows, layerNormRowsContiguous } from './softmax-layer-norm/layer-norm.js';
import { softmaxBackwardRows, softmaxRows, softmaxRowsContiguous } from './softmax-layer-norm/softmax.js';
import { layerNormRowsWasm, softmaxRowsWasm, wasmSoftmaxLayerNormAvailable } from './softmax-layer-norm/softmax-layer-norm-wasm.js';
import { layerNormParamGradFits, wasmLayerNormGradAvailable } from './softmax-layer-norm/layer-norm-grad-wasm.js';
import { wasmLayerNormBackwardAvailable } from './softmax-layer-norm/layer-norm-backward-wasm.js';
import { getNumThreads, onSharedMemory, parallelFor, parallelForEach } from './threads/pool.js';

/** The typed array behind a CPU tensor. */
export function cpuData(t: Tensor): TypedArray {
  if (!(t.storage instanceof CpuStorage)) throw new Error(`expected a CPU tensor, got one on '${t.device}'`);
  return t.storage.data;
}

function operand(t: Tensor): Operand {
  return { data: cpuData(t), offset: t.offset, strides: t.strides };
}

// A split costs a message to each worker and a wake-up of the caller (tens of
// microseconds on an idle machine, a scheduler time slice on a busy one; a worker that
// has just finished a task polls for the next one for a while, threads/worker.ts), so each
// thread's share must be worth a hundred microseconds or more. The grains below were
// measured on the DINO benchmark step on 2 cores (median of 12 steps: 1 << 17 and 1 << 20
// gave 780 ms, these 720 ms; 1 << 14 and 1 << 17 735 ms).
/** Each thread of a split matmul gets at least this many multiply-adds. */
export const MATMUL_GRAIN = 1 << 22;
/**
 * What one item of a batched matmul costs beyond its multiply-adds (staging, packing and
 * copying out a small product), counted as multiply-adds toward MATMUL_GRAIN: about 5 us on
 * the benchmark machine. Without it, attention's [48, 3] products of 17 x 64 by 64 x 17 (2.7M
 * multiply-adds in 144 items) stayed on one thread: 0.97-0.98 ms, split 0.68-0.87 ms.
 */
export const MATMUL_ITEM_COST = 1 << 17;
/** Each thread of a split elementwise, softmax or LayerNorm kernel gets at least this many elements. */
export const ELEMENTWISE_GRAIN = 1 << 15;
/**
 * The same for the SIMD softmax and LayerNorm (softmax-layer-norm-wasm.ts), about ten times
 * faster per element, and (MEMORY_BOUND_GRAIN) for kernels that only move memory: SIMD add,
 * sub, mul and div, and copies. At 1 << 16 the DINO step's [16, 65, 192] residual adds and
 * [16, 3, 65, 65] softmaxes (about 200k elements) split in two: a 200k-element add 0.20 ->
 * 0.12 ms with the worker awake, the step 602 -> 579 ms (mean of 5 interleaved medians of 12
 * steps against 1 << 18; 1 << 17, which leaves 200k on one thread, measured as 1 << 18, and
 * 1 << 15 as 1 << 16).
 */
export const SIMD_ROWS_GRAIN = 1 << 16;
/** The same for kernels that only move memory (see SIMD_ROWS_GRAIN). */
export const MEMORY_BOUND_GRAIN = 1 << 16;

/** Whether a kernel over `total` indices with `grain` per thread will be split over threads. */
function willSplit(total: number, grain: number): boolean {
  return Math.min(getNumThreads(), Math.floor(total / Math.max(grain, 1))) > 1;
}

/**
 * An input operand that worker threads can read: small inputs (a bias, a LayerNorm weight,
 * a scalar) are usually on ordinary memory, and one such array would otherwise keep the
 * whole kernel on one thread; copying the span it covers costs next to nothing.
 */
function sharedOperand(t: Tensor): Operand {
  const { data, offset } = onSharedMemory(cpuData(t), t.offset, t.shape, t.strides);
  return { data, offset, strides: t.strides };
}

/** Runs `out = expr(inputs)` elementwise, split over threads by slabs of the outermost (merged) dim. */
function elementwise(arity: 0 | 1 | 2 | 3, expr: string, out: Tensor, inputs: readonly Tensor[], params: readonly number[] = []): void {
  const split = willSplit(out.numel, ELEMENTWISE_GRAIN);
  const args = simplifyStrided(arity, expr, out.shape, operand(out), inputs.map(split ? sharedOperand : operand), params);
  const outer = args.shape.length === 0 ? 1 : args.shape[0];
  parallelFor(stridedSlab, args, outer, Math.ceil((ELEMENTWISE_GRAIN * outer) / Math.max(out.numel, 1)));
}

/** Rows along `dim` of a tensor of `shape`, and the rows per thread that make a worthwhile share of `grain` elements. */
function rowsAndGrain(shape: readonly number[], dim: number, grain = ELEMENTWISE_GRAIN): [number, number] {
  const rows = shape.reduce((n, d, i) => (i === dim ? n : n * d), 1);
  return [rows, Math.ceil(grain / Math.max(shape[dim], 1))];
}

export interface CpuBackendOptions {
  /** Use the WebAssembly SIMD kernels where the runtime has them (default true); false runs the plain TypeScript ones. */
  readonly simd?: boolean;
  /**
   * Fuse each multiply-add of a matrix product (relaxed SIMD's madd; default true) where the
   * engine has relaxed SIMD: faster, and each product rounds once, so results can differ in
   * the last bit between machines. false rounds twice everywhere: the same bits on every machine.
   */
  readonly fma?: boolean;
}

export class CpuBackend implements Backend {
  readonly device = 'cpu' as const;
  readonly simd: boolean;
  readonly fma: boolean;

  constructor(options: CpuBackendOptions = {}) {
    this.simd = options.simd ?? true;
    this.fma = options.fma ?? true;
  }

  allocate(dtype: DType, length: number, zeroed = true): CpuStorage {
    return new CpuStorage(allocatePooled(dtype, length, length >= sharedMemoryThreshold.elements, zeroed), true);
  }

  fromArray(data: TypedArray): CpuStorage {
    return new CpuStorage(data);
  }

  readSync(x: Tensor): TypedArray {
    const out = typedArrayFor(x.dtype, x.numel);
    runStrided(1, 'x', x.shape, { data: out, offset: 0, strides: contiguousStrides(x.shape) }, [operand(x)]);
    return out;
  }

  read(x: Tensor): Promise<TypedArray> {
    return Promise.resolve(this.readSync(x));
  }

  unary(op: UnaryOp, x: Tensor, out: Tensor, params: readonly number[] = []): void {
    if (op === 'copy' && this.copyByRuns(x, out)) return;
    if (!this.simdElementwise(op, UNARY_EXPRESSIONS[op], out, [x])) elementwise(1, UNARY_EXPRESSIONS[op], out, [x], params);
  }

  /** A same-dtype copy whose innermost dim is contiguous on both sides, run by run (copy-runs.ts); false where it is not one. */
  private copyByRuns(x: Tensor, out: Tensor): boolean {
    if (x.dtype !== out.dtype || out.numel === 0) return false;
    const split = willSplit(out.numel, MEMORY_BOUND_GRAIN);
    const args = simplifyStrided(1, 'x', out.shape, operand(out), [split ? sharedOperand(x) : operand(x)]);
    if (!copyRunsApply(args)) return false;
    parallelFor(copyRuns, args, args.shape[0], Math.ceil((MEMORY_BOUND_GRAIN * args.shape[0]) / out.numel));
    return true;
  }

  binary(op: BinaryOp, a: Tensor, b: Tensor, out: Tensor): void {
    if (!this.simdElementwise(op, BINARY_EXPRESSIONS[op], out, [a, b])) elementwise(2, BINARY_EXPRESSIONS[op], out, [a, b]);
  }

  addScaled(a: Tensor, b: Tensor, alpha: number, out: Tensor): boolean {
    return this.simdElementwise('addScaled', 'x + y * p0', out, [a, b], [alpha]);
  }

  emaStep(target: Tensor, source: Tensor, momentum: number): boolean {
    // float32 only: the TypeScript loop would not round the two products to float32
    return this.simdElementwise('scaledSum', 'x * p0 + y * p1', target, [target, source], [momentum, 1 - momentum]);
  }

  emaStepForeach(targets: readonly Tensor[], sources: readonly Tensor[], momentum: number): boolean {
    const all = [...targets, ...sources];
    if (!this.simd || !wasmElementwiseAvailable('scaledSum') || !all.every((t) => t.dtype === 'float32' && t.isContiguous())) return false;
    // each pair as emaStep runs it once simplifyStrided has merged its dims: one contiguous run
    const run = (t: Tensor): Operand => ({ data: cpuData(t), offset: t.offset, strides: [1] });
    const items = targets.map((t, i): SimdArgs => ({
      arity: 2, expr: 'x * p0 + y * p1', shape: [t.numel], operands: [run(t), run(t), run(sources[i])],
      params: [momentum, 1 - momentum], op: 'scaledSum', plan: ['contiguous', 'contiguous'],
    }));
    parallelForEach(elementwiseSlabWasm, items, targets.map((t) => t.numel), MEMORY_BOUND_GRAIN);
    return true;
  }

  /** Whether a float32 kernel on WebAssembly SIMD takes x: SIMD on, x float32, and the kernel's module running here. */
  private float32Simd(x: Tensor, kernelRuns: () => boolean): boolean {
    return this.simd && x.dtype === 'float32' && kernelRuns();
  }

  /** Runs a float32 op on the SIMD kernels when they have it and the layout suits them (see wasmPlan); false otherwise. */
  private simdElementwise(op: UnaryOp | BinaryOp | 'addScaled' | 'scaledSum', expr: string, out: Tensor, inputs: readonly Tensor[], params: readonly number[] = []): boolean {
    if (!this.simd || out.numel === 0 || ![out, ...inputs].every((t) => t.dtype === 'float32') || !wasmElementwiseAvailable(op)) return false;
    const grain = op === 'gelu' || op === 'geluBackward' ? ELEMENTWISE_GRAIN : MEMORY_BOUND_GRAIN;
    const split = willSplit(out.numel, grain);
    const args = simplifyStrided(inputs.length as 1 | 2, expr, out.shape, operand(out), inputs.map(split ? sharedOperand : operand), params);
    const plan = wasmPlan(args);
    if (plan === null) return false;
    parallelFor(elementwiseSlabWasm, { ...args, op, plan }, args.shape[0], Math.ceil((grain * args.shape[0]) / out.numel));
    return true;
  }

  where(cond: Tensor, a: Tensor, b: Tensor, out: Tensor): void {
    elementwise(3, 'x ? y : z', out, [cond, a, b]);
  }

  fill(out: Tensor, value: number): void {
    elementwise(0, 'p0', out, [], [value]);
  }

  reduce(op: ReduceOp, x: Tensor, _dims: readonly number[], out: Tensor): void {
    if (op === 'sum' && out.numel === 1 && this.sumByChunks(sumChunks, x, out)) return;
    const split = willSplit(x.numel, ELEMENTWISE_GRAIN) && out.numel >= 2;
    const acc = typedArrayFor('float64', out.numel, split) as Float64Array;
    const args = reduceLoop(op, x.shape, split ? sharedOperand(x) : operand(x), acc, out.shape);
    const columns = op === 'sum' ? columnSumsOf(args, this.float32Simd(x, wasmColumnSumsAvailable)) : null;
    const rows = op === 'sum' && columns === null ? rowSumsOf(args) : null;
    if (rows !== null) {
      // a sum along unit-stride rows (row-sums.ts): split over rows
      parallelFor(rowSums, rows, rows.rows, Math.ceil(ELEMENTWISE_GRAIN / Math.max(rows.n, 1)));
    } else if (columns !== null) {
      // a bias gradient's sum down the rows (column-sums.ts): split over blocks of columns
      const blocks = Math.ceil(columns.n / COLUMN_BLOCK);
      parallelFor(columnSums, columns, blocks, Math.ceil((ELEMENTWISE_GRAIN * blocks) / x.numel));
    } else if (split) {
      // split over the kept dims (each thread sums whole rows into its own accumulators)
      const size = args.shape[args.splitDim!] ?? 1;
      parallelFor(stridedSlab, args, size, Math.ceil((ELEMENTWISE_GRAIN * size) / x.numel));
    } else {
      stridedSlab(args, 0, Infinity);
    }
    runStrided(1, 'x', out.shape, operand(out), [{ data: acc, offset: 0, strides: contiguousStrides(out.shape) }]);
  }

  sumOfSquares(x: Tensor, out: Tensor): boolean {
    return (x.dtype === 'float32' || x.dtype === 'float64') && this.sumByChunks(sumOfSquaresChunks, x, out);
  }

  /** A sum over all of a large contiguous x in fixed chunks over threads (sum-chunks.ts); false where x does not suit. */
  private sumByChunks(kernel: typeof sumChunks | typeof sumOfSquaresChunks, x: Tensor, out: Tensor): boolean {
    if (x.numel < 2 * SUM_CHUNK || !x.isContiguous()) return false;
    const partials = typedArrayFor('float64', Math.ceil(x.numel / SUM_CHUNK), getNumThreads() > 1) as Float64Array;
    const { data, offset } = sharedOperand(x);
    const simd = this.float32Simd(x, wasmSumChunksAvailable);
    parallelFor(kernel, { data, offset, n: x.numel, partials, simd }, partials.length, 1);
    cpuData(out)[out.offset] = addPartials(partials);
    return true;
  }

  sumOfSquaresForeach(xs: readonly Tensor[], out: Tensor): boolean {
    const dtype = out.dtype;
    if ((dtype !== 'float32' && dtype !== 'float64') || !xs.every((x) => x.dtype === dtype && x.isContiguous())) return false;
    // partials: a tensor's chunks where it has two or more (sumByChunks' bits), else one in-order sum
    const chunks = xs.map((x) => (x.numel >= 2 * SUM_CHUNK ? Math.ceil(x.numel / SUM_CHUNK) : 1));
    const partials = typedArrayFor('float64', chunks.reduce((a, b) => a + b, 0), getNumThreads() > 1) as Float64Array;
    const simd = this.float32Simd(out, wasmSumChunksAvailable);
    let at = 0;
    const items = xs.map((x, i) => {
      const item = { data: cpuData(x), offset: x.offset, n: x.numel, partials: partials.subarray(at, at + chunks[i]), simd };
      at += chunks[i];
      return item;
    });
    parallelForEach(sumOfSquaresParts, items, xs.map((x) => x.numel), MEMORY_BOUND_GRAIN);
    const o = cpuData(out);
    items.forEach((item, i) => {
      o[out.offset + i * out.strides[0]] = addPartials(item.partials);
    });
    return true;
  }

  argReduce(op: 'max' | 'min', x: Tensor, dim: number, values: Tensor, indices: Tensor): void {
    const xd = cpuData(x);
    const vd = cpuData(values);
    const id = cpuData(indices);
    const n = x.shape[dim];
    const xs = x.strides[dim];
    const xRows = rowOffsets(x.shape, x.strides, x.offset, dim);
    const vRows = rowOffsets(values.shape, values.strides, values.offset, dim);
    const iRows = rowOffsets(indices.shape, indices.strides, indices.offset, dim);
    const better = op === 'max' ? (v: number, best: number) => v > best : (v: number, best: number) => v < best;
    for (let r = 0; r < xRows.length; r++) {
      let best = xd[xRows[r]];
      let at = 0;
      for (let j = 1; j < n && best === best; j++) {
        const v = xd[xRows[r] + j * xs];
        if (better(v, best) || v !== v) {
          best = v;
          at = j;
        }
      }
      vd[vRows[r]] = best;
      id[iRows[r]] = at;
    }
  }

  /** Takes any number of batch dims with any strides, and a bias (see Backend.matmul). */
  readonly matmulBatchViews = true;
  readonly matmulBias = true;

  matmul(a: Tensor, b: Tensor, out: Tensor, bias: Tensor | null = null): void {
    const batchShape = a.shape.slice(0, -2);
    const [M, K] = a.shape.slice(-2);
    const N = b.shape[b.ndim - 1];
    const B = numel(batchShape);
    // One matrix with more columns than rows: each thread takes columns (see gemm-part.ts).
    const byColumns = B === 1 && N > M;
    const total = byColumns ? N : B * M;
    // what one unit of `total` (a column, or a row and its share of its item's fixed cost) costs
    const unitCost = byColumns ? M * K : N * K + (B > 1 && M > 0 ? MATMUL_ITEM_COST / M : 0);
    const grain = Math.ceil(MATMUL_GRAIN / Math.max(unitCost, 1));
    const split = total >= 2 * grain;
    const stack = (t: Tensor, data: TypedArray, offset: number) => {
      const s = t.strides;
      return { data, offset, batchStrides: s.slice(0, -2), rowStride: s[s.length - 2], colStride: s[s.length - 1] };
    };
    const shared = (t: Tensor) => (split ? onSharedMemory(cpuData(t), t.offset, t.shape, t.strides) : { data: cpuData(t), offset: t.offset });
    const input = (t: Tensor) => {
      const { data, offset } = shared(t);
      return stack(t, data, offset);
    };
    const c = stack(out, cpuData(out), out.offset);
    const vector = bias && { ...shared(bias), stride: bias.strides[0] };
    parallelFor(gemmPart, { batchShape, M, N, K, a: input(a), b: input(b), c, wasm: this.simd, fma: this.fma, byColumns, bias: vector }, total, grain);
  }

  softmax(x: Tensor, dim: number, log: boolean, out: Tensor): void {
    const args = { x: cpuData(x), xShape: x.shape, xStrides: x.strides, xOffset: x.offset, out: cpuData(out), outStrides: out.strides, outOffset: out.offset, dim, log };
    const rows = dim === x.ndim - 1 && this.float32Rows(x, [out]);
    if (rows === 'simd') parallelFor(softmaxRowsWasm, args, ...rowsAndGrain(x.shape, dim, SIMD_ROWS_GRAIN));
    else parallelFor(rows === 'contiguous' ? softmaxRowsContiguous : softmaxRows, args, ...rowsAndGrain(x.shape, dim));
  }

  /**
   * Which kernel can run a float32 op along the last dim of x, when x has stride 1 along it
   * and `others` are contiguous: the SIMD one (softmax-layer-norm-wasm.ts) where available, else the
   * contiguous TypeScript one if x is contiguous too; false (the general kernel) otherwise.
   */
  private float32Rows(x: Tensor, others: readonly (Tensor | null)[]): 'simd' | 'contiguous' | false {
    const last = x.ndim - 1;
    if (x.dtype !== 'float32' || (x.shape[last] !== 1 && x.strides[last] !== 1)) return false;
    if (!others.every((t) => t === null || (t.dtype === 'float32' && t.isContiguous()))) return false;
    if (this.simd && wasmSoftmaxLayerNormAvailable()) return 'simd';
    return x.isContiguous() ? 'contiguous' : false;
  }

  softmaxBackward(g: Tensor, y: Tensor, dim: number, log: boolean, out: Tensor): void {
    const input = willSplit(y.numel, ELEMENTWISE_GRAIN) ? sharedOperand : operand;
    const view = (t: Tensor, o: Operand) => ({ ...o, shape: t.shape });
    const args = { g: view(g, input(g)), y: view(y, input(y)), out: view(out, operand(out)), dim, log };
    parallelFor(softmaxBackwardRows, args, ...rowsAndGrain(y.shape, dim));
  }

  layerNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps: number, out: Tensor, mean: Tensor, rstd: Tensor): void {
    const rows = this.float32Rows(x, [weight, bias, out]);
    const grain = rows === 'simd' ? SIMD_ROWS_GRAIN : ELEMENTWISE_GRAIN;
    const split = willSplit(x.numel, grain);
    const vector = (t: Tensor | null) => (t === null ? null : { ...(split ? sharedOperand(t) : operand(t)), stride: t.strides[0] });
    // mean and rstd (one value per row) are too small to be on shared memory: threads write scratch copies
    const [meanData, rstdData] = [mean, rstd].map((t) => (split ? typedArrayFor(t.dtype, t.numel, true) : cpuData(t)));
    const args = { x: strided(x), weight: vector(weight), bias: vector(bias), eps, out: cpuData(out), mean: meanData, rstd: rstdData };
    const kernel = rows === 'simd' ? layerNormRowsWasm : rows === 'contiguous' ? layerNormRowsContiguous : layerNormRows;
    parallelFor(kernel, args, ...rowsAndGrain(x.shape, x.ndim - 1, grain));
    if (meanData !== cpuData(mean)) cpuData(mean).set(meanData);
    if (rstdData !== cpuData(rstd)) cpuData(rstd).set(rstdData);
  }

  layerNormBackward(g: Tensor, x: Tensor, weight: Tensor | null, mean: Tensor, rstd: Tensor, dx: Tensor, dweight: Tensor | null, dbias: Tensor | null): void {
    const split = willSplit(x.numel, ELEMENTWISE_GRAIN);
    const input = split ? sharedOperand : operand;
    const matrix = (t: Tensor) => ({ ...input(t), shape: t.shape });
    const vector = (t: Tensor) => ({ ...input(t), stride: t.strides[0] });
    const args = {
      g: matrix(g), x: matrix(x), weight: weight === null ? null : vector(weight),
      mean: input(mean).data, rstd: input(rstd).data, dx: cpuData(dx),
      simd: this.float32Simd(x, wasmLayerNormBackwardAvailable),
    };
    parallelFor(layerNormBackwardRows, args, ...rowsAndGrain(x.shape, x.ndim - 1));
    if (dweight === null && dbias === null) return;
    // the weight and bias gradients: sums down the rows, split over blocks of columns
    const D = x.shape[x.ndim - 1];
    const sums = typedArrayFor('float64', 2 * D, split) as Float64Array;
    const blocks = Math.ceil(D / PARAM_GRAD_BLOCK);
    const simd = this.float32Simd(x, wasmLayerNormGradAvailable) && layerNormParamGradFits(args);
    const columns = { ...args, dweight: sums.subarray(0, D), dbias: sums.subarray(D), simd };
    parallelFor(layerNormParamGradColumns, columns, blocks, Math.ceil((ELEMENTWISE_GRAIN * blocks) / Math.max(x.numel, 1)));
    if (dweight !== null) cpuData(dweight).set(columns.dweight, dweight.offset);
    if (dbias !== null) cpuData(dbias).set(columns.dbias, dbias.offset);
  }

  adamwStep(p: Tensor, grad: Tensor, expAvg: Tensor, expAvgSq: Tensor, hyper: AdamWStepHyper): void {
    this.adamwStepForeach([{ p, grad, expAvg, expAvgSq, hyper }]);
  }

  adamwStepForeach(items: readonly AdamWStepItem[]): void {
    const args = items.map(({ p, grad, expAvg, expAvgSq, hyper }) => ({
      p: cpuData(p), grad: cpuData(grad), expAvg: cpuData(expAvg), expAvgSq: cpuData(expAvgSq),
      offsets: [p.offset, grad.offset, expAvg.offset, expAvgSq.offset] as const, hyper, simd: this.simd,
    }));
    parallelForEach(adamwStepPart, args, items.map(({ p }) => p.numel), MEMORY_BOUND_GRAIN);
  }

  gather(x: Tensor, dim: number, index: Tensor, out: Tensor): void {
    gatherStrided(strided(x), dim, strided(index), strided(out));
  }

  scatterAdd(out: Tensor, dim: number, index: Tensor, src: Tensor): void {
    scatterAddStrided(strided(out), dim, strided(index), strided(src));
  }
}

function strided(t: Tensor) {
  return { data: cpuData(t), shape: t.shape, strides: t.strides, offset: t.offset };
}
