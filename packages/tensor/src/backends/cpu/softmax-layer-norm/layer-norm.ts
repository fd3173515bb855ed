// LayerNorm over the last dim, row by row (Ba et al. 2016):
//   mean = sum_j x_j / D,  var = sum_j (x_j - mean)^2 / D  (biased, two passes),
//   rstd = 1 / sqrt(var + eps),  y_j = (x_j - mean) * rstd * weight_j + bias_j.
// And its backward, from the saved mean and rstd, with xhat = (x - mean) * rstd and
// dxhat = g * weight:
//   dx_j = rstd * (dxhat_j - mean(dxhat) - xhat_j * mean(dxhat * xhat))   (per row)
//   dweight_j = sum over rows of g_j * xhat_j,   dbias_j = sum over rows of g_j.
// One pass per row replaces the ten elementwise ops and reductions of the composed
// formula (ops/layer-norm.ts keeps that one for double backward and as the reference).

import type { TypedArray } from '../../../dtype.js';
import { type StridedTensor, rowOffsets } from '../row-offsets.js';

export interface Vector {
  readonly data: TypedArray;
  readonly offset: number;
  readonly stride: number;
}

export interface LayerNormArgs {
  readonly x: StridedTensor;
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
  const { x: { data: x, shape, strides, offset }, eps, out, mean, rstd } = args;
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

/**
 * layerNormRows for float32, x laid out contiguously from its offset and weight and bias
 * (where given) with stride 1: without strides, on one array type (layerNormRows serves
 * float32 and float64 alike, and V8 compiles its loop for both), and with the sums on four
 * accumulators (a float64 sum in another order: the float32 results differ from
 * layerNormRows' by far less than a float32 ulp): 6.8 -> 4.5 ms on [6240, 192]. It is the
 * fallback where the SIMD kernels (softmax-layer-norm-wasm.ts) are unavailable.
 */
export function layerNormRowsContiguous(args: LayerNormArgs, begin: number, end: number): void {
  const x = args.x.data as Float32Array;
  const out = args.out as Float32Array;
  const { x: { shape, offset }, eps, mean, rstd } = args;
  const D = shape[shape.length - 1];
  const total = shape.reduce((p, d) => p * d, 1) / D;
  const w = (args.weight?.data ?? ONES_32) as Float32Array;
  const b = (args.bias?.data ?? ZEROS_32) as Float32Array;
  const [wo, ws] = args.weight === null ? [0, 0] : [args.weight.offset, 1];
  const [bo, bs] = args.bias === null ? [0, 0] : [args.bias.offset, 1];
  for (let r = begin; r < Math.min(end, total); r++) {
    const base = offset + r * D;
    const last = base + D;
    const quads = base + (D & ~3);
    // four accumulators: four independent chains of additions instead of one
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let j = base;
    for (; j < quads; j += 4) {
      s0 += x[j];
      s1 += x[j + 1];
      s2 += x[j + 2];
      s3 += x[j + 3];
    }
    for (; j < last; j++) s0 += x[j];
    const mu = (s0 + s1 + (s2 + s3)) / D;
    s0 = s1 = s2 = s3 = 0;
    for (j = base; j < quads; j += 4) {
      const d0 = x[j] - mu;
      const d1 = x[j + 1] - mu;
      const d2 = x[j + 2] - mu;
      const d3 = x[j + 3] - mu;
      s0 += d0 * d0;
      s1 += d1 * d1;
      s2 += d2 * d2;
      s3 += d3 * d3;
    }
    for (; j < last; j++) s0 += (x[j] - mu) * (x[j] - mu);
    const rs = 1 / Math.sqrt((s0 + s1 + (s2 + s3)) / D + eps);
    mean[r] = mu;
    rstd[r] = rs;
    const ob = r * D;
    for (let j = 0; j < D; j++) out[ob + j] = (x[base + j] - mu) * rs * w[wo + j * ws] + b[bo + j * bs];
  }
}

const ONES_32 = Float32Array.of(1);
const ZEROS_32 = Float32Array.of(0);

/** g and x of a backward pass as rows along the last dim: row length, data, element strides and row starts. */
function backwardRows({ g, x }: LayerNormBackwardArgs) {
  const last = x.shape.length - 1;
  return {
    D: x.shape[last],
    gd: g.data,
    xd: x.data,
    gs: g.strides[last],
    xs: x.strides[last],
    gRows: rowOffsets(g.shape, g.strides, g.offset, last),
    xRows: rowOffsets(x.shape, x.strides, x.offset, last),
  };
}

/** dx for rows [begin, end) (see the header). */
export function layerNormBackwardRows(args: LayerNormBackwardArgs, begin: number, end: number): void {
  const { mean, rstd, dx } = args;
  const { data: wd, offset: wo, stride: ws } = args.weight ?? ONE;
  const { D, gd, xd, gs, xs, gRows, xRows } = backwardRows(args);
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
  const { mean, rstd } = args;
  const { D, gd, xd, gs, xs, gRows, xRows } = backwardRows(args);
  const dw = new Float64Array(D);
  const db = new Float64Array(D);
  for (let r = 0; r < xRows.length; r++) {
    const gb = gRows[r] | 0;
    const xb = xRows[r] | 0;
    const mu = mean[r];
    const rs = rstd[r];
    if (gs === 1 && xs === 1) {
      for (let j = 0; j < D; j++) {
        const gv = gd[gb + j];
        dw[j] += gv * ((xd[xb + j] - mu) * rs);
        db[j] += gv;
      }
      continue;
    }
    for (let j = 0; j < D; j++) {
      const gv = gd[gb + j * gs];
      dw[j] += gv * ((xd[xb + j * xs] - mu) * rs);
      db[j] += gv;
    }
  }
  dweight?.set(dw);
  dbias?.set(db);
}
