// The CPU backend: plain TypeScript kernels over typed arrays.

import type { Backend, BinaryOp, ReduceOp, UnaryOp } from '../backend.js';
import { type DType, type TypedArray, typedArrayFor } from '../../dtype.js';
import { contiguousStrides } from '../../shape.js';
import { CpuStorage } from '../../storage.js';
import type { Tensor } from '../../tensor.js';
import { BINARY_EXPRESSIONS, UNARY_EXPRESSIONS, reduceStrided, runStrided } from './elementwise.js';
import { gatherStrided, scatterAddStrided } from './indexing.js';
import { layerNormRows } from './layer-norm.js';
import { onSharedMemory, parallelFor } from './threads/pool.js';
import { rowOffsets } from './rows.js';
import { softmaxRows } from './softmax.js';
import type { Operand } from './strided-loop.js';

/** The typed array behind a CPU tensor. */
export function cpuData(t: Tensor): TypedArray {
  if (!(t.storage instanceof CpuStorage)) throw new Error(`expected a CPU tensor, got one on '${t.device}'`);
  return t.storage.data;
}

function operand(t: Tensor): Operand {
  return { data: cpuData(t), offset: t.offset, strides: t.strides };
}

/** Each thread of a split matmul gets at least this many multiply-adds. */
const MATMUL_GRAIN = 1 << 21;

export interface CpuBackendOptions {
  /** Use the WebAssembly SIMD kernels where the runtime has them (default true); false runs the plain TypeScript ones. */
  readonly simd?: boolean;
}

export class CpuBackend implements Backend {
  readonly device = 'cpu' as const;
  readonly simd: boolean;

  constructor(options: CpuBackendOptions = {}) {
    this.simd = options.simd ?? true;
  }

  allocate(dtype: DType, length: number): CpuStorage {
    return CpuStorage.allocate(dtype, length);
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
    runStrided(1, UNARY_EXPRESSIONS[op], out.shape, operand(out), [operand(x)], params);
  }

  binary(op: BinaryOp, a: Tensor, b: Tensor, out: Tensor): void {
    runStrided(2, BINARY_EXPRESSIONS[op], out.shape, operand(out), [operand(a), operand(b)]);
  }

  where(cond: Tensor, a: Tensor, b: Tensor, out: Tensor): void {
    runStrided(3, 'x ? y : z', out.shape, operand(out), [operand(cond), operand(a), operand(b)]);
  }

  fill(out: Tensor, value: number): void {
    runStrided(0, 'p0', out.shape, operand(out), [], [value]);
  }

  reduce(op: ReduceOp, x: Tensor, _dims: readonly number[], out: Tensor): void {
    reduceStrided(op, x.shape, operand(x), operand(out), out.shape);
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

  matmul(a: Tensor, b: Tensor, out: Tensor): void {
    const [B, M, K] = a.shape;
    const N = b.shape[2];
    const grain = Math.ceil(MATMUL_GRAIN / Math.max(N * K, 1));
    const split = B * M >= 2 * grain;
    const stack = (t: Tensor) => {
      const { data, offset } = split ? onSharedMemory(cpuData(t), t.offset, t.shape, t.strides) : { data: cpuData(t), offset: t.offset };
      return { data, offset, batchStride: t.strides[0], rowStride: t.strides[1], colStride: t.strides[2] };
    };
    const c = { data: cpuData(out), offset: out.offset, batchStride: out.strides[0], rowStride: out.strides[1], colStride: out.strides[2] };
    parallelFor('gemmRows', { M, N, K, a: stack(a), b: stack(b), c, wasm: this.simd }, B * M, grain);
  }

  softmax(x: Tensor, dim: number, log: boolean, out: Tensor): void {
    softmaxRows(cpuData(x), x.shape, x.strides, x.offset, cpuData(out), out.strides, out.offset, dim, log);
  }

  layerNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps: number, out: Tensor, mean: Tensor, rstd: Tensor): void {
    const vector = (t: Tensor | null) => (t === null ? null : { data: cpuData(t), offset: t.offset, stride: t.strides[0] });
    layerNormRows(cpuData(x), x.shape, x.strides, x.offset, vector(weight), vector(bias), eps, cpuData(out), cpuData(mean), cpuData(rstd));
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
