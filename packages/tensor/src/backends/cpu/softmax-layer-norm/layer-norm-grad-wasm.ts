// LayerNorm's weight and bias gradients (layerNormParamGradColumns of layer-norm.ts) for
// float32 g and x laid out as contiguous [rows, D], on the WebAssembly SIMD kernel of
// layer-norm-grad-kernel.ts, with the same bits: the driver copies whole rows of g and x
// into the module (the thread's columns and the rest of their rows, one memcpy each) and
// each row's mean and rstd as float64, in batches that fit the module, and the float64
// running sums carry from batch to batch. In the DINO step the two gradients took about
// half of the LayerNorm backward's time (the main thread's share: 9.8 ms a step of 21);
// [1040, 192] on one thread: 0.52 -> 0.18 ms.

import { lazyModule } from '../wasm/instantiate.js';
import type { LayerNormParamGradArgs } from './layer-norm.js';
import { BLOCK, CAPACITY, DBIAS, DWEIGHT, G, GROUP, MAX_ROWS, STATS, X, layerNormGradKernelModule } from './layer-norm-grad-kernel.js';

interface Module {
  readonly paramGrad4: (rows: number, rowBytes: number, blocks: number) => void;
  readonly g: Float32Array;
  readonly x: Float32Array;
  readonly stats: Float64Array;
  readonly dweight: Float64Array;
  readonly dbias: Float64Array;
}

const kernel = lazyModule(layerNormGradKernelModule, (exports, { buffer }): Module => ({
  paramGrad4: exports.paramGrad4 as Module['paramGrad4'],
  g: new Float32Array(buffer, G, CAPACITY),
  x: new Float32Array(buffer, X, CAPACITY),
  stats: new Float64Array(buffer, STATS, 2 * MAX_ROWS),
  dweight: new Float64Array(buffer, DWEIGHT, GROUP),
  dbias: new Float64Array(buffer, DBIAS, GROUP),
}));

/** Whether the SIMD LayerNorm parameter gradients run here (WebAssembly SIMD). */
export function wasmLayerNormGradAvailable(): boolean {
  return kernel() !== null;
}

/**
 * Whether layerNormParamGradWasm takes these arguments: float32 g and x, each contiguous
 * [rows, D] from its offset, rows of at most CAPACITY elements.
 */
export function layerNormParamGradFits({ g, x }: Pick<LayerNormParamGradArgs, 'g' | 'x'>): boolean {
  if (x.shape[x.shape.length - 1] > CAPACITY) return false;
  const contiguous = (t: LayerNormParamGradArgs['g']) => {
    let stride = 1;
    for (let d = t.shape.length - 1; d >= 0; d--) {
      if (t.shape[d] !== 1 && t.strides[d] !== stride) return false;
      stride *= t.shape[d];
    }
    return t.data instanceof Float32Array;
  };
  return contiguous(g) && contiguous(x);
}

/** dweight and dbias sums for the columns [first, first + 4 * blocks): whole blocks, with the bits of layerNormParamGradColumns. */
export function layerNormParamGradWasm(args: LayerNormParamGradArgs, first: number, blocks: number): void {
  const { paramGrad4, g, x, stats, dweight, dbias } = kernel()!;
  const D = args.x.shape[args.x.shape.length - 1];
  const rows = D === 0 ? 0 : args.x.shape.reduce((n, d) => n * d, 1) / D;
  const [gd, xd] = [args.g.data as Float32Array, args.x.data as Float32Array];
  const { mean, rstd } = args;
  for (let c = first; c < first + blocks * BLOCK; c += GROUP) {
    const width = Math.min(GROUP, first + blocks * BLOCK - c);
    const batch = Math.min(MAX_ROWS, Math.floor(CAPACITY / D));
    dweight.set(args.dweight.subarray(c, c + width));
    dbias.set(args.dbias.subarray(c, c + width));
    for (let r0 = 0; r0 < rows; r0 += batch) {
      const count = Math.min(batch, rows - r0);
      // whole rows, from the group's first column: the kernel reads `width` columns of each
      const length = (count - 1) * D + width;
      g.set(gd.subarray(args.g.offset + r0 * D + c, args.g.offset + r0 * D + c + length));
      x.set(xd.subarray(args.x.offset + r0 * D + c, args.x.offset + r0 * D + c + length));
      for (let i = 0; i < count; i++) {
        stats[2 * i] = mean[r0 + i];
        stats[2 * i + 1] = rstd[r0 + i];
      }
      paramGrad4(count, D * 4, width / BLOCK);
    }
    args.dweight.set(dweight.subarray(0, width), c);
    args.dbias.set(dbias.subarray(0, width), c);
  }
}
