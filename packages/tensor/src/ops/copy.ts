// Copies: contiguous(), clone(), dtype casts and device transfers.
// Each is the identity on values, so its gradient is the incoming gradient
// (cast back to the input's dtype, or moved back to its device).

import { record } from '../autograd/record.js';
import { type DType, isFloatingPoint } from '../dtype.js';
import type { Device } from '../storage.js';
import { getBackend } from '../backends/backend.js';
import { Tensor } from '../tensor.js';
import { backendOf, emptyTensor } from './allocate.js';

/** A contiguous copy of x with the given dtype, outside autograd. */
export function copyOf(x: Tensor, dtype: DType = x.dtype): Tensor {
  const out = emptyTensor(x.shape, dtype, x.device, false);
  backendOf(x).unary('copy', x, out);
  return out;
}

/** A copy that owns its memory (always copies). */
export function clone(x: Tensor): Tensor {
  return record('CloneBackward', copyOf(x), [x], [], [(g) => g]);
}

/** x itself when already contiguous, else a contiguous copy. */
export function contiguous(x: Tensor): Tensor {
  if (x.isContiguous()) return x;
  return record('CloneBackward', copyOf(x), [x], [], [(g) => g]);
}

/** x converted to `dtype` (x itself when it already has it). */
export function toDType(x: Tensor, dtype: DType): Tensor {
  if (dtype === x.dtype) return x;
  const out = copyOf(x, dtype);
  if (!isFloatingPoint(dtype)) return out; // integer results are not differentiable
  return record('ToCopyBackward', out, [x], [], [(g) => toDType(g, x.dtype)]);
}

/** x moved to `device` (x itself when it is already there). */
export function toDevice(x: Tensor, device: Device): Tensor {
  if (device === x.device) return x;
  const host = x.device === 'cpu' ? x : new Tensor(getBackend('cpu').fromArray(getBackend(x.device).readSync(x, `to('${device}')`)), x.shape);
  const out = device === 'cpu' ? host : new Tensor(getBackend(device).fromArray(host.dataSync()), x.shape);
  return record('ToDeviceBackward', out, [x], [], [(g) => toDevice(g, x.device)]);
}
