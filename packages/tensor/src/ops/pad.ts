// Padding (torch.nn.functional.pad). `padding` lists (before, after) pairs starting from
// the LAST dim: [left, right] pads the last dim, [left, right, top, bottom] the last two.
// Negative amounts crop. Modes:
//   constant:  new cells hold `value`;          gradient: the interior slice of g
//   replicate: new cells copy the edge value;    reflect: mirror without repeating the edge
// replicate and reflect are index selections, so their gradients add up at the edges.

import { record } from '../autograd/record.js';
import { formatShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { tensor } from '../creation.js';
import { backendOf, emptyTensor } from './allocate.js';
import { indexSelect } from './indexing.js';
import { narrow } from './movement.js';

export interface PadOptions {
  mode?: 'constant' | 'replicate' | 'reflect';
  value?: number;
}

export function pad(x: Tensor, padding: readonly number[], options: PadOptions = {}): Tensor {
  const { mode = 'constant', value = 0 } = options;
  if (padding.length % 2 !== 0 || padding.length / 2 > x.ndim || padding.some((p) => !Number.isInteger(p))) {
    throw new Error(`pad: padding [${padding.join(', ')}] must be integer (before, after) pairs for at most ${x.ndim} dims`);
  }
  const pairs: [number, number, number][] = [];
  for (let i = 0; i < padding.length / 2; i++) pairs.push([x.ndim - 1 - i, padding[2 * i], padding[2 * i + 1]]);
  for (const [d, before, after] of pairs) {
    if (x.shape[d] + before + after < 0) {
      throw new Error(`pad: padding (${before}, ${after}) makes dim ${d} of shape ${formatShape(x.shape)} negative`);
    }
  }
  if (mode === 'constant') return padConstant(x, pairs, value);
  let out = x;
  for (const [d, before, after] of pairs) {
    const n = out.shape[d];
    if (mode === 'reflect' && (before >= n || after >= n)) {
      throw new Error(`pad: reflect padding (${before}, ${after}) must be smaller than the dim size ${n} (shape ${formatShape(x.shape)})`);
    }
    const idx: number[] = [];
    for (let i = -before; i < n + after; i++) {
      if (mode === 'replicate') idx.push(Math.min(Math.max(i, 0), n - 1));
      else idx.push(i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i);
    }
    out = indexSelect(out, d, tensor(idx, { dtype: 'int32', device: x.device }));
  }
  return out;
}

function padConstant(x: Tensor, pairs: readonly [number, number, number][], value: number): Tensor {
  // Crop first (negative amounts), then write the cropped input into a filled output.
  let inner = x;
  const shape = [...x.shape];
  const region: [number, number, number][] = [];
  for (const [d, before, after] of pairs) {
    const start = Math.max(0, -before);
    const length = x.shape[d] - start - Math.max(0, -after);
    inner = narrow(inner, d, start, Math.max(0, length));
    shape[d] = x.shape[d] + before + after;
    region.push([d, Math.max(0, before), Math.max(0, length)]);
  }
  const out = emptyTensor(shape, x.dtype, x.device);
  backendOf(x).fill(out, value);
  const window = (t: Tensor) => region.reduce((v, [d, at, len]) => narrow(v, d, at, len), t);
  if (inner.numel > 0) backendOf(x).unary('copy', inner.detach(), window(out));
  return record('ConstantPadBackward', out, [inner], [], [(g) => window(g)]);
}
