// 2-D resampling of [N, C, H, W] images (torch.nn.functional.interpolate), with
// PyTorch's exact coordinate mapping.
//
// Every mode is separable and linear in x: out = Wh x Ww^T, where Wh [outH, H] and
// Ww [outW, W] hold the interpolation weights of each output row/column. Building
// those two small matrices and multiplying makes the op differentiable (to any order)
// through matmul. Source coordinates, for output index o:
//   scale = alignCorners ? (in - 1)/(out - 1) : (scaleFactor given ? 1/scaleFactor : in/out)
//   nearest:  src = min(floor(o * scale), in - 1)            (float32 arithmetic, as PyTorch)
//   bilinear: src = max(0, (o + 0.5) scale - 0.5); taps floor(src), +1 (clamped to the edge)
//   bicubic:  src = (o + 0.5) scale - 0.5 (not clamped); taps floor(src) - 1 .. + 2, clamped,
//             Keys cubic convolution weights with A = -0.75.
// With alignCorners, src = o * scale. Passing scaleFactor (not size) matters: DINO's
// positional-embedding interpolation relies on the factor being used for the mapping.

import { formatShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { tensor } from '../creation.js';
import { requireFloat } from './allocate.js';
import { matmul } from './matmul.js';
import { transpose } from './movement.js';

export interface InterpolateOptions {
  /** Output size (H, W), or one number for both. */
  size?: number | readonly [number, number];
  /** Multiplier(s) for H and W; output size = floor(in * factor). */
  scaleFactor?: number | readonly [number, number];
  mode?: 'nearest' | 'bilinear' | 'bicubic';
  alignCorners?: boolean;
}

const A = -0.75;
const cubic1 = (x: number) => ((A + 2) * x - (A + 3)) * x * x + 1; // |x| <= 1
const cubic2 = (x: number) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A; // 1 < |x| < 2

export function interpolate(x: Tensor, options: InterpolateOptions): Tensor {
  requireFloat('interpolate', x);
  const { mode = 'nearest', alignCorners } = options;
  if (x.ndim !== 4) throw new Error(`interpolate: expected a 4-D [N, C, H, W] input, got shape ${formatShape(x.shape)}`);
  if ((options.size === undefined) === (options.scaleFactor === undefined)) {
    throw new Error('interpolate: give exactly one of size and scaleFactor');
  }
  if (mode === 'nearest' && alignCorners !== undefined) {
    throw new Error('interpolate: alignCorners can only be set with bilinear or bicubic mode');
  }
  const pairOf = (v: number | readonly [number, number]): readonly [number, number] => (typeof v === 'number' ? [v, v] : v);
  const [H, W] = x.shape.slice(2);
  const factors = options.scaleFactor === undefined ? null : pairOf(options.scaleFactor);
  const size = options.size !== undefined ? pairOf(options.size) : [Math.floor(H * factors![0]), Math.floor(W * factors![1])];
  for (const s of size) {
    if (!Number.isInteger(s) || s <= 0) throw new Error(`interpolate: output size [${size.join(', ')}] must be positive integers (input ${formatShape(x.shape)})`);
  }
  const wh = weights(mode, H, size[0], alignCorners ?? false, factors?.[0]);
  const ww = weights(mode, W, size[1], alignCorners ?? false, factors?.[1]);
  const Wh = tensor(wh, { shape: [size[0], H], dtype: x.dtype, device: x.device });
  const Ww = tensor(ww, { shape: [size[1], W], dtype: x.dtype, device: x.device });
  return matmul(matmul(Wh, x), transpose(Ww, 0, 1));
}

/** The [out, in] interpolation matrix of one axis, row-major. */
function weights(mode: 'nearest' | 'bilinear' | 'bicubic', inSize: number, outSize: number, alignCorners: boolean, factor?: number): Float64Array {
  const w = new Float64Array(outSize * inSize);
  const put = (o: number, i: number, v: number) => {
    w[o * inSize + Math.min(Math.max(i, 0), inSize - 1)] += v;
  };
  const scale = alignCorners ? (outSize > 1 ? (inSize - 1) / (outSize - 1) : 0) : factor !== undefined && factor > 0 ? 1 / factor : inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    if (mode === 'nearest') {
      const s32 = Math.fround(scale);
      put(o, Math.min(Math.floor(Math.fround(o * s32)), inSize - 1), 1);
      continue;
    }
    let src = alignCorners ? scale * o : scale * (o + 0.5) - 0.5;
    if (mode === 'bilinear') {
      if (src < 0) src = 0;
      const i0 = Math.min(Math.floor(src), inSize - 1);
      const lambda = Math.min(Math.max(src - i0, 0), 1);
      put(o, i0, 1 - lambda);
      put(o, Math.min(i0 + 1, inSize - 1), lambda);
    } else {
      const i = Math.min(Math.floor(src), inSize - 1);
      const t = Math.min(Math.max(src - i, 0), 1);
      put(o, i - 1, cubic2(t + 1));
      put(o, i, cubic1(t));
      put(o, i + 1, cubic1(1 - t));
      put(o, i + 2, cubic2(1 - t + 1));
    }
  }
  return w;
}
