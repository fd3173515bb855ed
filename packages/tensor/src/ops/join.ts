// Joining and splitting along a dim.
//   cat:   out = [t_0; t_1; ...] along dim; each t_i's gradient is its slice of g.
//   stack: cat of the tensors each unsqueezed at dim.
//   split / chunk / unbind: views (narrow / select), differentiable as such.

import { record } from '../autograd/record.js';
import { promoteTypes } from '../dtype.js';
import { formatShape, normalizeDim } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { backendOf, emptyTensor } from './allocate.js';
import { narrow, select, unsqueeze } from './movement.js';

export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new Error('cat: expected a non-empty list of tensors');
  const first = tensors[0];
  const d = normalizeDim('cat', dim, first.ndim);
  const dtype = tensors.map((t) => t.dtype).reduce(promoteTypes);
  let total = 0;
  for (const [i, t] of tensors.entries()) {
    if (t.device !== first.device) throw new Error(`cat: tensor ${i} is on '${t.device}', tensor 0 on '${first.device}'`);
    if (t.ndim !== first.ndim || t.shape.some((s, k) => k !== d && s !== first.shape[k])) {
      throw new Error(
        `cat: sizes of tensors must match except in dim ${d}: tensor 0 has shape ${formatShape(first.shape)}, ` +
          `tensor ${i} has ${formatShape(t.shape)}`,
      );
    }
    total += t.shape[d];
  }
  const shape = first.shape.map((s, k) => (k === d ? total : s));
  const out = emptyTensor(shape, dtype, first.device, false);
  const offsets: number[] = [];
  let at = 0;
  for (const t of tensors) {
    offsets.push(at);
    if (t.shape[d] > 0) backendOf(t).unary('copy', t, narrow(out, d, at, t.shape[d]));
    at += t.shape[d];
  }
  return record('CatBackward', out, tensors, [], tensors.map((t, i) => (g: Tensor) => narrow(g, d, offsets[i], t.shape[d])));
}

export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new Error('stack: expected a non-empty list of tensors');
  const first = tensors[0];
  for (const [i, t] of tensors.entries()) {
    if (t.ndim !== first.ndim || t.shape.some((s, k) => s !== first.shape[k])) {
      throw new Error(`stack: expects each tensor to be equal size, but got ${formatShape(first.shape)} at entry 0 and ${formatShape(t.shape)} at entry ${i}`);
    }
  }
  const d = normalizeDim('stack', dim, first.ndim + 1);
  return cat(tensors.map((t) => unsqueeze(t, d)), d);
}

/** Pieces of `splitSize` along dim (the last may be smaller), or pieces of the listed sizes. */
export function split(x: Tensor, splitSize: number | readonly number[], dim = 0): Tensor[] {
  const d = normalizeDim('split', dim, x.ndim);
  const size = x.shape[d];
  let sizes: number[];
  if (typeof splitSize === 'number') {
    if (!Number.isInteger(splitSize) || splitSize <= 0) throw new Error(`split: splitSize must be a positive integer, got ${splitSize}`);
    sizes = [];
    for (let at = 0; at < size; at += splitSize) sizes.push(Math.min(splitSize, size - at));
    if (sizes.length === 0) sizes.push(0);
  } else {
    sizes = [...splitSize];
    const total = sizes.reduce((p, q) => p + q, 0);
    if (total !== size) throw new Error(`split: sizes [${sizes.join(', ')}] sum to ${total}, but dim ${dim} has size ${size}`);
  }
  let at = 0;
  return sizes.map((n) => {
    const piece = narrow(x, d, at, n);
    at += n;
    return piece;
  });
}

/** `chunks` pieces of size ceil(size / chunks) (fewer when the dim is small), as torch.chunk. */
export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  if (!Number.isInteger(chunks) || chunks <= 0) throw new Error(`chunk: chunks must be a positive integer, got ${chunks}`);
  const d = normalizeDim('chunk', dim, x.ndim);
  return split(x, Math.max(1, Math.ceil(x.shape[d] / chunks)), d);
}

/** The slices along dim, each with that dim removed. */
export function unbind(x: Tensor, dim = 0): Tensor[] {
  const d = normalizeDim('unbind', dim, x.ndim);
  return Array.from({ length: x.shape[d] }, (_, i) => select(x, d, i));
}
