// Views: ops that only change {shape, strides, offset} and share the input's storage.
//
// The gradient of a view is another movement op: transpose back, permute by the inverse,
// reshape back, sum over expanded dims. Views that pick a subset of elements (narrow,
// slice, select) send the gradient into a zero tensor of the input's shape through the
// same view (`viewScatter`), whose own gradient is that view again.

import { record } from '../autograd/record.js';
import {
  broadcastShapes,
  formatShape,
  inferShape,
  normalizeDim,
  normalizeDims,
  numel,
  viewStrides,
} from '../shape.js';
import { Tensor } from '../tensor.js';
import { backendOf, emptyTensor } from './allocate.js';
import { copyOf } from './copy.js';
import { sumTo } from './reduce.js';

/**
 * A view: a tensor over x's storage with new metadata. `replay` applies the same view op
 * to any tensor shaped like x; in-place ops use it to rebuild the view's history.
 */
function alias(x: Tensor, shape: readonly number[], strides: readonly number[], offset: number, replay: (t: Tensor) => Tensor): Tensor {
  const out = new Tensor(x.storage, shape, strides, offset);
  out.setViewOf(x, replay);
  return out;
}

/** x seen with another shape, sharing memory; throws when the strides do not allow it. */
export function view(x: Tensor, shape: readonly number[]): Tensor {
  const target = inferShape('view', shape, x.numel, x.shape);
  const strides = viewStrides(x.shape, x.strides, target);
  if (strides === null) {
    throw new Error(
      `view: cannot view a tensor of shape ${formatShape(x.shape)} and strides ${formatShape(x.strides)} as ${formatShape(target)}: ` +
        `its memory is not laid out compatibly. Use reshape() (which copies when it must) or contiguous().view().`,
    );
  }
  return record('ViewBackward', alias(x, target, strides, x.offset, (t) => view(t, target)), [x], [], [(g) => reshape(g, x.shape)]);
}

/** Like view, but copies when no view is possible (as torch.reshape). */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const target = inferShape('reshape', shape, x.numel, x.shape);
  if (viewStrides(x.shape, x.strides, target) !== null) return view(x, target);
  const flat = copyOf(x);
  const out = new Tensor(flat.storage, target);
  return record('ReshapeBackward', out, [x], [], [(g) => reshape(g, x.shape)]);
}

export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  const nd = x.ndim;
  const d0 = normalizeDim('transpose', dim0, nd);
  const d1 = normalizeDim('transpose', dim1, nd);
  if (nd === 0) return x;
  const shape = [...x.shape];
  const strides = [...x.strides];
  [shape[d0], shape[d1]] = [shape[d1], shape[d0]];
  [strides[d0], strides[d1]] = [strides[d1], strides[d0]];
  const out = alias(x, shape, strides, x.offset, (t) => transpose(t, d0, d1));
  return record('TransposeBackward', out, [x], [], [(g) => transpose(g, d0, d1)]);
}

export function permute(x: Tensor, dims: readonly number[]): Tensor {
  if (dims.length !== x.ndim) {
    throw new Error(`permute: got ${dims.length} dims [${dims.join(', ')}] for a tensor of shape ${formatShape(x.shape)}`);
  }
  const order = dims.map((d) => normalizeDim('permute', d, x.ndim));
  if (new Set(order).size !== order.length) throw new Error(`permute: repeated dim in [${dims.join(', ')}]`);
  const inverse = new Array<number>(order.length);
  order.forEach((d, i) => (inverse[d] = i));
  const out = alias(x, order.map((d) => x.shape[d]), order.map((d) => x.strides[d]), x.offset, (t) => permute(t, order));
  return record('PermuteBackward', out, [x], [], [(g) => permute(g, inverse)]);
}

/**
 * A zero tensor of `shape` with `g` written into the view `makeView` selects: the
 * gradient of any subset-picking view. Its own gradient applies the view again.
 */
function viewScatter(g: Tensor, shape: readonly number[], makeView: (t: Tensor) => Tensor): Tensor {
  const out = emptyTensor(shape, g.dtype, g.device);
  backendOf(g).unary('copy', g, makeView(out.detach()));
  return record('ViewScatterBackward', out, [g], [], [(gg) => makeView(gg)]);
}

/** Elements start..start+length-1 of dim (a view). */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const d = normalizeDim('narrow', dim, x.ndim);
  const size = x.shape[d];
  const s = start < 0 ? start + size : start;
  if (!Number.isInteger(s) || !Number.isInteger(length) || s < 0 || length < 0 || s + length > size) {
    throw new RangeError(`narrow: start ${start} and length ${length} are out of range for dim ${dim} of size ${size} (shape ${formatShape(x.shape)})`);
  }
  return sliceView(x, d, s, length, 1, 'NarrowBackward');
}

/**
 * Python's x[..., start:end:step, ...] along `dim` (a view). Negative start/end count
 * from the end and are clamped like Python slices; step must be positive.
 */
export function slice(x: Tensor, dim: number, start?: number | null, end?: number | null, step = 1): Tensor {
  const d = normalizeDim('slice', dim, x.ndim);
  if (!Number.isInteger(step) || step <= 0) throw new RangeError(`slice: step must be a positive integer, got ${step}`);
  const size = x.shape[d];
  const clampIndex = (i: number) => Math.min(Math.max(i < 0 ? i + size : i, 0), size);
  const s = clampIndex(start ?? 0);
  const e = Math.max(s, clampIndex(end ?? size));
  const length = Math.ceil((e - s) / step);
  return sliceView(x, d, s, length, step, 'SliceBackward');
}

function sliceView(x: Tensor, d: number, start: number, length: number, step: number, name: string): Tensor {
  const shape = [...x.shape];
  const strides = [...x.strides];
  shape[d] = length;
  strides[d] = x.strides[d] * step;
  const view = (t: Tensor) => sliceView(t, d, start, length, step, name);
  const out = alias(x, shape, strides, x.offset + start * x.strides[d], view);
  return record(name, out, [x], [], [(g) => viewScatter(g, x.shape, view)], view);
}

/** The slice at `index` along dim, with that dim removed (a view). */
export function select(x: Tensor, dim: number, index: number): Tensor {
  const d = normalizeDim('select', dim, x.ndim);
  const size = x.shape[d];
  const i = index < 0 ? index + size : index;
  if (!Number.isInteger(i) || i < 0 || i >= size) {
    throw new RangeError(`select: index ${index} is out of range for dim ${dim} of size ${size} (shape ${formatShape(x.shape)})`);
  }
  return selectView(x, d, i);
}

function selectView(x: Tensor, d: number, i: number): Tensor {
  const shape = x.shape.filter((_, k) => k !== d);
  const strides = x.strides.filter((_, k) => k !== d);
  const view = (t: Tensor) => selectView(t, d, i);
  const out = alias(x, shape, strides, x.offset + i * x.strides[d], view);
  return record('SelectBackward', out, [x], [], [(g) => viewScatter(g, x.shape, view)], view);
}

/**
 * x repeated along size-1 dims (and new leading dims) without copying: those dims get
 * stride 0. -1 keeps a size. The gradient sums over the expanded dims.
 */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  if (shape.length < x.ndim) {
    throw new Error(`expand: the target shape ${formatShape(shape)} has fewer dims than the tensor's ${formatShape(x.shape)}`);
  }
  const lead = shape.length - x.ndim;
  const outShape: number[] = [];
  const strides: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    const k = i - lead;
    const have = k >= 0 ? x.shape[k] : 1;
    const want = shape[i] === -1 ? (k >= 0 ? have : -1) : shape[i];
    if (want < 0 || !Number.isInteger(want)) throw new Error(`expand: invalid size ${shape[i]} at dim ${i} of ${formatShape(shape)}`);
    if (have !== want && have !== 1) {
      throw new Error(`expand: cannot expand shape ${formatShape(x.shape)} to ${formatShape(shape)} (size ${have} at dim ${k} must be 1 or ${want})`);
    }
    outShape.push(want);
    strides.push(k >= 0 && have === want ? x.strides[k] : 0);
  }
  const out = alias(x, outShape, strides, x.offset, (t) => expand(t, outShape));
  return record('ExpandBackward', out, [x], [], [(g) => sumTo(g, x.shape)]);
}

/** x expanded to the broadcast of its shape and `shape`, which must equal `shape`. */
export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  const b = broadcastShapes('broadcastTo', x.shape, shape);
  if (b.length !== shape.length || b.some((d, i) => d !== shape[i])) {
    throw new Error(`broadcastTo: cannot broadcast shape ${formatShape(x.shape)} to ${formatShape(shape)}`);
  }
  return expand(x, shape);
}

/** Removes size-1 dims (all of them, or those listed). */
export function squeeze(x: Tensor, dim?: number | readonly number[]): Tensor {
  const dims = dim === undefined ? x.shape.map((_, i) => i) : normalizeDims('squeeze', dim, x.ndim);
  const keep = x.shape.map((s, i) => !(s === 1 && dims.includes(i)));
  const out = alias(x, x.shape.filter((_, i) => keep[i]), x.strides.filter((_, i) => keep[i]), x.offset, (t) => squeeze(t, dims));
  return record('SqueezeBackward', out, [x], [], [(g) => reshape(g, x.shape)]);
}

/** Inserts a size-1 dim at `dim` (which may be x.ndim, or negative). */
export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normalizeDim('unsqueeze', dim, x.ndim + 1);
  const shape = [...x.shape];
  const strides = [...x.strides];
  shape.splice(d, 0, 1);
  strides.splice(d, 0, d < x.ndim ? x.strides[d] * x.shape[d] : 1);
  return record('UnsqueezeBackward', alias(x, shape, strides, x.offset, (t) => unsqueeze(t, d)), [x], [], [(g) => reshape(g, x.shape)]);
}

/** Merges dims startDim..endDim into one (a view when possible). */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normalizeDim('flatten', startDim, x.ndim);
  const e = normalizeDim('flatten', endDim, x.ndim);
  if (s > e) throw new Error(`flatten: startDim ${startDim} comes after endDim ${endDim}`);
  const shape = [...x.shape.slice(0, s), numel(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)];
  return reshape(x, shape);
}

/** Splits dim into `sizes` (one of which may be -1). */
export function unflatten(x: Tensor, dim: number, sizes: readonly number[]): Tensor {
  const d = normalizeDim('unflatten', dim, x.ndim);
  const inner = inferShape('unflatten', sizes, x.shape[d], [x.shape[d]]);
  return view(x, [...x.shape.slice(0, d), ...inner, ...x.shape.slice(d + 1)]);
}
