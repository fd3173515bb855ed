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
import { layerNormBackwardFits, layerNormBackwardWasm } from './layer-norm-backward-wasm.js';
import { layerNormParamGradWasm } from './layer-norm-grad-wasm.js';

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
  /** Run float32 rows on the SIMD kernel where it takes them (layer-norm-backward-wasm.ts; the caller checks that it runs here). */
  readonly simd: boolean;
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

/**
 * dx for rows [begin, end) (see the header). Every sum runs in float64 along its row in
 * order; where g, x and the weight are unit-stride along the row, two rows are walked side by
 * side, so that the two rows' chains of dependent additions overlap (0.79-1.05 instead of
 * 1.27-1.31 ms for [1040, 192] on one thread), with the same bits. With `simd`, float32 rows
 * of a length that is a multiple of 4 go in pairs to the SIMD kernel (layer-norm-backward-
 * wasm.ts), again with the same bits.
 */
export function layerNormBackwardRows(args: LayerNormBackwardArgs, begin: number, end: number): void {
  const rows = backwardRows(args);
  const stop = Math.min(end, rows.xRows.length);
  const unitStride = rows.gs === 1 && rows.xs === 1 && args.weight !== null && args.weight.stride === 1;
  let r = begin;
  const float32 = rows.gd instanceof Float32Array && rows.xd instanceof Float32Array && args.dx instanceof Float32Array;
  if (args.simd && float32 && rows.gs === 1 && rows.xs === 1 && layerNormBackwardFits(rows.D)) {
    const g = { data: rows.gd as Float32Array, rows: rows.gRows };
    const x = { data: rows.xd as Float32Array, rows: rows.xRows };
    r = layerNormBackwardWasm(g, x, args.weight, args.mean, args.rstd, args.dx as Float32Array, rows.D, begin, stop);
  }
  if (unitStride) for (; r + 1 < stop; r += 2) backwardRowPair(args, rows, r);
  for (; r < stop; r++) backwardRow(args, rows, r);
}

type BackwardRows = ReturnType<typeof backwardRows>;

/** dx for row r, any strides. */
function backwardRow({ mean, rstd, dx, weight }: LayerNormBackwardArgs, { D, gd, xd, gs, xs, gRows, xRows }: BackwardRows, r: number): void {
  const { data: wd, offset: wo, stride: ws } = weight ?? ONE;
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

/** dx for rows r and r + 1, g, x and the weight unit-stride along the row: backwardRow's arithmetic on both at once. */
function backwardRowPair({ mean, rstd, dx, weight }: LayerNormBackwardArgs, { D, gd, xd, gRows, xRows }: BackwardRows, r: number): void {
  const { data: wd, offset: wo } = weight!;
  const g0 = gRows[r] | 0;
  const g1 = gRows[r + 1] | 0;
  const x0 = xRows[r] | 0;
  const x1 = xRows[r + 1] | 0;
  const mu0 = mean[r];
  const mu1 = mean[r + 1];
  const rs0 = rstd[r];
  const rs1 = rstd[r + 1];
  let sum0 = 0;
  let sum1 = 0;
  let sumXhat0 = 0;
  let sumXhat1 = 0;
  for (let j = 0; j < D; j++) {
    const w = wd[wo + j];
    const dxhat0 = gd[g0 + j] * w;
    const dxhat1 = gd[g1 + j] * w;
    sum0 += dxhat0;
    sum1 += dxhat1;
    sumXhat0 += dxhat0 * (xd[x0 + j] - mu0) * rs0;
    sumXhat1 += dxhat1 * (xd[x1 + j] - mu1) * rs1;
  }
  const a0 = sum0 / D;
  const a1 = sum1 / D;
  const b0 = sumXhat0 / D;
  const b1 = sumXhat1 / D;
  const o0 = r * D;
  const o1 = o0 + D;
  for (let j = 0; j < D; j++) {
    const w = wd[wo + j];
    dx[o0 + j] = rs0 * (gd[g0 + j] * w - a0 - (xd[x0 + j] - mu0) * rs0 * b0);
    dx[o1 + j] = rs1 * (gd[g1 + j] * w - a1 - (xd[x1 + j] - mu1) * rs1 * b1);
  }
}

/** Columns per block of layerNormParamGradColumns. */
export const PARAM_GRAD_BLOCK = 4;

export interface LayerNormParamGradArgs extends LayerNormBackwardArgs {
  /** float64 sums, one per column (on shared memory when split over threads). */
  readonly dweight: Float64Array;
  readonly dbias: Float64Array;
  /** Sum whole blocks on the SIMD kernel (layer-norm-grad-wasm.ts; the caller checks that it runs here and takes these arguments). */
  readonly simd: boolean;
}

/**
 * dweight_j = sum over rows of g_j * xhat_j and dbias_j = sum over rows of g_j for the
 * columns of blocks [begin, end) (PARAM_GRAD_BLOCK columns each): each column summed down
 * all rows in order, in float64, in local variables, so a split over blocks of columns
 * keeps the bits. For [1040, 192] on one thread: 0.46-0.56 instead of 0.56-0.62 ms, where the
 * sums lived in arrays and the rows were walked on the calling thread only; the gain is
 * mostly the split over threads this makes possible. With `simd`, whole blocks of float32
 * columns run on the SIMD kernel (layer-norm-grad-wasm.ts), with the same bits.
 */
export function layerNormParamGradColumns(args: LayerNormParamGradArgs, begin: number, end: number): void {
  const { mean, rstd, dweight, dbias } = args;
  const { D, gd, xd, gs, xs, gRows, xRows } = backwardRows(args);
  const stop = Math.min(D, end * PARAM_GRAD_BLOCK);
  let j = begin * PARAM_GRAD_BLOCK;
  if (args.simd) {
    const blocks = Math.floor((stop - j) / PARAM_GRAD_BLOCK);
    layerNormParamGradWasm(args, j, blocks);
    j += blocks * PARAM_GRAD_BLOCK;
  }
  for (; j + PARAM_GRAD_BLOCK <= stop; j += PARAM_GRAD_BLOCK) {
    let w0 = 0, w1 = 0, w2 = 0, w3 = 0;
    let b0 = 0, b1 = 0, b2 = 0, b3 = 0;
    for (let r = 0; r < xRows.length; r++) {
      const mu = mean[r];
      const rs = rstd[r];
      const g = (gRows[r] | 0) + j * gs;
      const x = (xRows[r] | 0) + j * xs;
      const gv0 = gd[g], gv1 = gd[g + gs], gv2 = gd[g + 2 * gs], gv3 = gd[g + 3 * gs];
      w0 += gv0 * ((xd[x] - mu) * rs);
      w1 += gv1 * ((xd[x + xs] - mu) * rs);
      w2 += gv2 * ((xd[x + 2 * xs] - mu) * rs);
      w3 += gv3 * ((xd[x + 3 * xs] - mu) * rs);
      b0 += gv0; b1 += gv1; b2 += gv2; b3 += gv3;
    }
    dweight[j] = w0; dweight[j + 1] = w1; dweight[j + 2] = w2; dweight[j + 3] = w3;
    dbias[j] = b0; dbias[j + 1] = b1; dbias[j + 2] = b2; dbias[j + 3] = b3;
  }
  // the last, partial block: one column at a time
  for (; j < stop; j++) {
    let w = 0;
    let b = 0;
    for (let r = 0; r < xRows.length; r++) {
      const gv = gd[(gRows[r] | 0) + j * gs];
      w += gv * ((xd[(xRows[r] | 0) + j * xs] - mean[r]) * rstd[r]);
      b += gv;
    }
    dweight[j] = w;
    dbias[j] = b;
  }
}
