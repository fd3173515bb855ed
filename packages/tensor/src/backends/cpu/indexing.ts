// gather / scatter_add along one dim (torch semantics), for any ndim:
//   gather:      out[..., j, ...] = x[..., index[..., j, ...], ...]
//   scatterAdd:  out[..., index[..., j, ...], ...] += src[..., j, ...]
// `index` may be smaller than x in the other dims; positions are taken from index.

import type { StridedTensor } from './row-offsets.js';

/** Calls visit(indexOffset, aOffset, bOffset) for every position of index, where a and b skip `dim`. */
function walk(index: StridedTensor, a: StridedTensor, b: StridedTensor, dim: number, visit: (io: number, ao: number, bo: number) => void): void {
  const shape = index.shape;
  const nd = shape.length;
  const count = shape.reduce((n, d) => n * d, 1);
  if (count === 0) return;
  const pos = new Array<number>(nd).fill(0);
  let io = index.offset;
  let ao = a.offset;
  let bo = b.offset;
  for (let e = 0; e < count; e++) {
    visit(io, ao, bo);
    for (let d = nd - 1; d >= 0; d--) {
      io += index.strides[d];
      if (d !== dim) {
        ao += a.strides[d];
        bo += b.strides[d];
      } else {
        bo += b.strides[d];
      }
      if (++pos[d] < shape[d]) break;
      pos[d] = 0;
      io -= index.strides[d] * shape[d];
      if (d !== dim) ao -= a.strides[d] * shape[d];
      bo -= b.strides[d] * shape[d];
    }
  }
}

function checkIndex(op: string, i: number, size: number): number {
  const k = i < 0 ? i + size : i;
  if (!(k >= 0 && k < size)) throw new RangeError(`${op}: index ${i} is out of bounds for a dimension of size ${size}`);
  return k;
}

/** out (index's shape) = x gathered along dim; `a` = x (indexed along dim), `b` = out. */
export function gatherStrided(x: StridedTensor, dim: number, index: StridedTensor, out: StridedTensor): void {
  const size = x.shape[dim];
  const xs = x.strides[dim];
  walk(index, x, out, dim, (io, xo, oo) => {
    out.data[oo] = x.data[xo + checkIndex('gather', index.data[io], size) * xs];
  });
}

/** out[.., index, ..] += src along dim. */
export function scatterAddStrided(out: StridedTensor, dim: number, index: StridedTensor, src: StridedTensor): void {
  const size = out.shape[dim];
  const os = out.strides[dim];
  walk(index, out, src, dim, (io, oo, so) => {
    out.data[oo + checkIndex('scatterAdd', index.data[io], size) * os] += src.data[so];
  });
}
