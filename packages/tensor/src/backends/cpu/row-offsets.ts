// Row offsets: the start of every 1-d "row" along one dim of a strided tensor.
//
// Softmax, LayerNorm, argmax and gather all work row by row along a dim. A row is
// the line of elements obtained by fixing every other index; its start offset is
// offset + sum_{d != dim} index_d * stride_d. Listing those starts once (in row-major
// order of the other dims) lets each kernel be a simple loop over rows.

import type { TypedArray } from '../../dtype.js';

/** A strided tensor as kernels see it: its data and layout (row kernels, gather and scatterAdd). */
export interface StridedTensor {
  readonly data: TypedArray;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}

export function rowOffsets(shape: readonly number[], strides: readonly number[], offset: number, dim: number): Float64Array {
  const dims = shape.map((_, d) => d).filter((d) => d !== dim);
  const count = dims.reduce((n, d) => n * shape[d], 1);
  const starts = new Float64Array(count);
  const index = new Array<number>(dims.length).fill(0);
  let at = offset;
  for (let r = 0; r < count; r++) {
    starts[r] = at;
    for (let k = dims.length - 1; k >= 0; k--) {
      const d = dims[k];
      at += strides[d];
      if (++index[k] < shape[d]) break;
      index[k] = 0;
      at -= strides[d] * shape[d];
    }
  }
  return starts;
}
