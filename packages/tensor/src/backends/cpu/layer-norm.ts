// LayerNorm over the last dim, row by row (Ba et al. 2016):
//   mean = sum_j x_j / D,  var = sum_j (x_j - mean)^2 / D  (biased, two passes),
//   rstd = 1 / sqrt(var + eps),  y_j = (x_j - mean) * rstd * weight_j + bias_j.

import type { TypedArray } from '../../dtype.js';
import { rowOffsets } from './rows.js';

export interface Vector {
  readonly data: TypedArray;
  readonly offset: number;
  readonly stride: number;
}

export interface LayerNormArgs {
  readonly x: TypedArray;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  readonly weight: Vector | null;
  readonly bias: Vector | null;
  readonly eps: number;
  /** Contiguous output of x's shape; mean and rstd hold one value per row. */
  readonly out: TypedArray;
  readonly mean: TypedArray;
  readonly rstd: TypedArray;
}

/** weight 1 and bias 0 as vectors (stride 0), for a LayerNorm without them. */
const ONE: Vector = { data: Float64Array.of(1), offset: 0, stride: 0 };
const ZERO: Vector = { data: Float64Array.of(0), offset: 0, stride: 0 };

/** Normalizes rows [begin, end) of x viewed as [rows, D]. */
export function layerNormRows(args: LayerNormArgs, begin: number, end: number): void {
  const { x, shape, strides, offset, eps, out, mean, rstd } = args;
  const { data: wd, offset: wo, stride: ws } = args.weight ?? ONE;
  const { data: bd, offset: bo, stride: bs } = args.bias ?? ZERO;
  const last = shape.length - 1;
  const D = shape[last];
  const xs = strides[last];
  const rows = rowOffsets(shape, strides, offset, last);
  for (let r = begin; r < Math.min(end, rows.length); r++) {
    // `| 0`: offsets as small integers keep V8 on its fast indexed path (storages are below 2^31 elements)
    const base = rows[r] | 0;
    let sum = 0;
    for (let j = 0; j < D; j++) sum += x[base + j * xs];
    const mu = sum / D;
    let sq = 0;
    for (let j = 0; j < D; j++) {
      const d = x[base + j * xs] - mu;
      sq += d * d;
    }
    const rs = 1 / Math.sqrt(sq / D + eps);
    mean[r] = mu;
    rstd[r] = rs;
    const ob = r * D;
    for (let j = 0; j < D; j++) out[ob + j] = (x[base + j * xs] - mu) * rs * wd[wo + j * ws] + bd[bo + j * bs];
  }
}
