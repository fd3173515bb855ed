// LayerNorm's input gradient (layerNormBackwardRows of layer-norm.ts) for float32 g and x
// that are unit-stride along rows of D, a multiple of 4, on the WebAssembly SIMD kernel of
// layer-norm-backward-kernel.ts, with the same bits: per batch of rows that fits the module,
// the driver copies the rows of g and x in (one memcpy each where the rows lie one after
// another), each row's mean and rstd as float64 and the weight as float64 (ones where there
// is none: g * 1 is g), runs the kernel on the rows in pairs, and copies dx out in one
// memcpy. A last, odd row goes to the TypeScript loop. The backward of a [1040, 192]
// LayerNorm on one thread (its weight and bias gradients included): 1.18 -> 0.62 ms; the
// DINO step's 16 calls on two threads: 14.3 -> 11.3 ms.

import { lazyModule } from '../wasm/instantiate.js';
import { copyRun } from '../elementwise/copy-runs.js';
import { CAPACITY, DX, G, MAX_D, MAX_ROWS, STATS, W, X, layerNormBackwardKernelModule } from './layer-norm-backward-kernel.js';

interface Module {
  readonly backwardPairs: (pairs: number, D: number) => void;
  readonly w: Float64Array;
  readonly stats: Float64Array;
  readonly g: Float32Array;
  readonly x: Float32Array;
  readonly dx: Float32Array;
}

const kernel = lazyModule(layerNormBackwardKernelModule, (exports, { buffer }): Module => ({
  backwardPairs: exports.backwardPairs as Module['backwardPairs'],
  w: new Float64Array(buffer, W, MAX_D),
  stats: new Float64Array(buffer, STATS, 2 * MAX_ROWS),
  g: new Float32Array(buffer, G, CAPACITY),
  x: new Float32Array(buffer, X, CAPACITY),
  dx: new Float32Array(buffer, DX, CAPACITY),
}));

/** Whether the SIMD LayerNorm input gradient runs here (WebAssembly SIMD). */
export function wasmLayerNormBackwardAvailable(): boolean {
  return kernel() !== null;
}

/** Where rows of a float32 operand start, and its data: what layerNormBackwardWasm reads. */
export interface RowsOf {
  readonly data: Float32Array;
  /** Row r starts at data[rows[r]]; its D elements are unit-stride. */
  readonly rows: Float64Array;
}

/**
 * Whether layerNormBackwardWasm takes rows of this length: a multiple of 4 (the kernel's
 * quads), at most MAX_D (its weight region) and CAPACITY / 2 (a pair of rows per batch).
 */
export function layerNormBackwardFits(D: number): boolean {
  return D > 0 && D % 4 === 0 && D <= MAX_D && 2 * D <= CAPACITY;
}

/**
 * dx for rows [begin, end), all but an odd last row, which it leaves to the caller;
 * returns the first row it did not do. `weight` is null for a LayerNorm without one.
 */
export function layerNormBackwardWasm(
  g: RowsOf,
  x: RowsOf,
  weight: { data: ArrayLike<number>; offset: number; stride: number } | null,
  mean: ArrayLike<number>,
  rstd: ArrayLike<number>,
  dx: Float32Array,
  D: number,
  begin: number,
  end: number,
): number {
  const m = kernel()!;
  if (weight === null) m.w.fill(1, 0, D);
  else for (let j = 0; j < D; j++) m.w[j] = weight.data[weight.offset + j * weight.stride];
  const batch = 2 * Math.floor(Math.min(MAX_ROWS, CAPACITY / D) / 2);
  const stop = begin + 2 * Math.floor((end - begin) / 2);
  for (let r0 = begin; r0 < stop; r0 += batch) {
    const count = Math.min(batch, stop - r0);
    stage(g, m.g, r0, count, D);
    stage(x, m.x, r0, count, D);
    for (let i = 0; i < count; i += 2) {
      const at = 2 * i;
      m.stats[at] = mean[r0 + i];
      m.stats[at + 1] = mean[r0 + i + 1];
      m.stats[at + 2] = rstd[r0 + i];
      m.stats[at + 3] = rstd[r0 + i + 1];
    }
    m.backwardPairs(count / 2, D);
    dx.set(m.dx.subarray(0, count * D), r0 * D);
  }
  return stop;
}

/** Rows [r0, r0 + count) of `src` into `dst`, one after another: one copy where they lie so already. */
function stage({ data, rows }: RowsOf, dst: Float32Array, r0: number, count: number, D: number): void {
  const first = rows[r0];
  let together = true;
  for (let i = 1; i < count && together; i++) together = rows[r0 + i] === first + i * D;
  if (together) {
    dst.set(data.subarray(first, first + count * D));
    return;
  }
  for (let i = 0; i < count; i++) copyRun(data, rows[r0 + i], dst, i * D, D, 32);
}
