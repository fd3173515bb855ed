// Indexing by integer tensors, and masking.
//   gather(x, dim, index):        out[..j..] = x[..index[..j..]..]      dx = scatterAdd of g
//   scatterAdd(x, dim, index, s): out = x; out[..index[..j..]..] += s[..j..]   ds = gather of g
//   indexSelect / indexAdd: the same with one index list for the whole dim
//   maskedFill(x, mask, v):       where(mask, v, x)
//   flip(x, dims):                x reversed along dims (a copy, as in PyTorch)

import { record } from '../autograd/record.js';
import { formatShape, normalizeDim, normalizeDims } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { arange, zerosLike } from '../creation.js';
import { backendOf, emptyTensor } from './allocate.js';
import { copyOf } from './copy.js';
import { expand, reshape } from './movement.js';
import { where } from './compare.js';

function checkIndexTensor(op: string, index: Tensor, x: Tensor): void {
  if (index.dtype !== 'int32') throw new TypeError(`${op}: index must be an int32 tensor, got dtype ${index.dtype}`);
  if (index.device !== x.device) throw new Error(`${op}: index is on '${index.device}' but the input is on '${x.device}'`);
}

function checkGatherShapes(op: string, x: Tensor, dim: number, index: Tensor, other?: Tensor): void {
  if (index.ndim !== x.ndim) {
    throw new Error(`${op}: index ${formatShape(index.shape)} must have as many dims as the input ${formatShape(x.shape)}`);
  }
  for (let d = 0; d < x.ndim; d++) {
    if (d !== dim && index.shape[d] > x.shape[d]) {
      throw new Error(`${op}: index ${formatShape(index.shape)} is larger than the input ${formatShape(x.shape)} at dim ${d}`);
    }
    if (other && index.shape[d] > other.shape[d]) {
      throw new Error(`${op}: index ${formatShape(index.shape)} is larger than src ${formatShape(other.shape)} at dim ${d}`);
    }
  }
}

export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  checkIndexTensor('gather', index, x);
  const d = normalizeDim('gather', dim, x.ndim);
  checkGatherShapes('gather', x, d, index);
  const out = emptyTensor(index.shape, x.dtype, x.device, false);
  backendOf(x).gather(x.detach(), d, index, out);
  return record('GatherBackward', out, [x], [index], [(g) => scatterAdd(zerosLike(x, { dtype: g.dtype }), d, index, g)]);
}

export function scatterAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  checkIndexTensor('scatterAdd', index, x);
  const d = normalizeDim('scatterAdd', dim, x.ndim);
  checkGatherShapes('scatterAdd', x, d, index, src);
  if (src.dtype !== x.dtype) throw new TypeError(`scatterAdd: src has dtype ${src.dtype} but the input has ${x.dtype}`);
  const out = copyOf(x);
  backendOf(x).scatterAdd(out, d, index, src.detach());
  return record('ScatterAddBackward', out, [x, src], [index], [(g) => g, (g) => gather(g, d, index)]);
}

/** The index list [n] as a tensor of x's shape with n at `dim` (a stride-0 expansion, no copy). */
function spreadIndex(op: string, x: Tensor, d: number, index: Tensor): Tensor {
  if (index.ndim !== 1) throw new Error(`${op}: index must be 1-D, got shape ${formatShape(index.shape)}`);
  checkIndexTensor(op, index, x);
  const shape = x.shape.map((s, k) => (k === d ? index.shape[0] : s));
  const oneHot = x.shape.map((_, k) => (k === d ? index.shape[0] : 1));
  return expand(reshape(index, oneHot), shape);
}

export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  const d = normalizeDim('indexSelect', dim, Math.max(x.ndim, 1));
  if (x.ndim === 0) return gather(reshape(x, [1]), 0, index).reshape([]);
  return gather(x, d, spreadIndex('indexSelect', x, d, index));
}

export function indexAdd(x: Tensor, dim: number, index: Tensor, source: Tensor): Tensor {
  const d = normalizeDim('indexAdd', dim, x.ndim);
  const spread = spreadIndex('indexAdd', x, d, index);
  if (source.ndim !== x.ndim || source.shape.some((s, k) => s !== spread.shape[k])) {
    throw new Error(`indexAdd: source has shape ${formatShape(source.shape)}, expected ${formatShape(spread.shape)}`);
  }
  return scatterAdd(x, d, spread, source);
}

/** x with `value` wherever mask is true; mask must broadcast to x's shape. */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  if (mask.dtype !== 'bool') throw new TypeError(`maskedFill: mask must be a bool tensor, got dtype ${mask.dtype}`);
  const out = where(mask, value, x);
  if (out.ndim !== x.ndim || out.shape.some((s, k) => s !== x.shape[k])) {
    throw new Error(`maskedFill: mask of shape ${formatShape(mask.shape)} does not broadcast to the input's ${formatShape(x.shape)}`);
  }
  return out;
}

export function flip(x: Tensor, dims: number | readonly number[]): Tensor {
  let out = x;
  for (const d of normalizeDims('flip', dims, x.ndim)) {
    const n = x.shape[d];
    out = indexSelect(out, d, arange(n - 1, -1, -1, { device: x.device }));
  }
  return out;
}
