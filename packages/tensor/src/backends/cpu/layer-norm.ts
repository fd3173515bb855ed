// LayerNorm over the last dim, row by row (Ba et al. 2016):
//   mean = sum_j x_j / D,  var = sum_j (x_j - mean)^2 / D  (biased, two passes),
//   rstd = 1 / sqrt(var + eps),  y_j = (x_j - mean) * rstd * weight_j + bias_j.
// And its backward, from the saved mean and rstd, with xhat = (x - mean) * rstd and
// dxhat = g * weight:
//   dx_j = rstd * (dxhat_j - mean(dxhat) - xhat_j * mean(dxhat * xhat))   (per row)
//   dweight_j = sum over rows of g_j * xhat_j,   dbias_j = sum over rows of g_j.
// One pass per row replaces the ten elementwise ops and reductions of the composed
// formula (ops/layer-norm.ts keeps that one for double backward and as the reference).

import type { TypedArray } from '../../dtype.js';
import { type StridedTensor, rowOffsets } from './rows.js';

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

export interface LayerNormBackwardArgs {
  readonly g: StridedTensor;
  readonly x: StridedTensor;
  readonly weight: Vector | null;
  /** The forward pass's statistics, one value per row (contiguous). */
  readonly mean: TypedArray;
  readonly rstd: TypedArray;
  /** Contiguous [rows, D]. */
  readonly dx: TypedArray;
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

/** dx for rows [begin, end) (see the header). */
export function layerNormBackwardRows(args: LayerNormBackwardArgs, begin: number, end: number): void {
  const { g, x, mean, rstd, dx } = args;
  const { data: wd, offset: wo, stride: ws } = args.weight ?? ONE;
  const last = x.shape.length - 1;
  const D = x.shape[last];
  const [gd, xd] = [g.data, x.data];
  const [gs, xs] = [g.strides[last], x.strides[last]];
  const gRows = rowOffsets(g.shape, g.strides, g.offset, last);
  const xRows = rowOffsets(x.shape, x.strides, x.offset, last);
  for (let r = begin; r < Math.min(end, xRows.length); r++) {
    const gb = gRows[r] | 0;
    const xb = xRows[r] | 0;
    const mu = mean[r];
    const rs = rstd[r];
    let sumDxhat = 0;
    let sumDxhatXhat = 0;
    for (let j = 0; j < D; j++) {
      const dxhat = gd[gb + j * gs] * wd[wo + j * ws];
      sumDxhat += dxhat;
      sumDxhatXhat += dxhat * (xd[xb + j * xs] - mu) * rs;
    }
    const a = sumDxhat / D;
    const b = sumDxhatXhat / D;
    const ob = r * D;
    for (let j = 0; j < D; j++) {
      const xhat = (xd[xb + j * xs] - mu) * rs;
      dx[ob + j] = rs * (gd[gb + j * gs] * wd[wo + j * ws] - a - xhat * b);
    }
  }
}

/** dweight and dbias (either may be null), summed over all rows in float64, on the calling thread. */
export function layerNormParamGrads(args: LayerNormBackwardArgs, dweight: TypedArray | null, dbias: TypedArray | null): void {
  const { g, x, mean, rstd } = args;
  const last = x.shape.length - 1;
  const D = x.shape[last];
  const [gd, xd] = [g.data, x.data];
  const [gs, xs] = [g.strides[last], x.strides[last]];
  const gRows = rowOffsets(g.shape, g.strides, g.offset, last);
  const xRows = rowOffsets(x.shape, x.strides, x.offset, last);
  const dw = new Float64Array(D);
  const db = new Float64Array(D);
  for (let r = 0; r < xRows.length; r++) {
    const gb = gRows[r] | 0;
    const xb = xRows[r] | 0;
    const mu = mean[r];
    const rs = rstd[r];
    for (let j = 0; j < D; j++) {
      const gv = gd[gb + j * gs];
      dw[j] += gv * ((xd[xb + j * xs] - mu) * rs);
      db[j] += gv;
    }
  }
  dweight?.set(dw);
  dbias?.set(db);
}
