// In-place ops (PyTorch's trailing underscore): write into the tensor's own memory.
//
// Each bumps the storage's version counter, so that a backward pass that saved this
// tensor (or another view of the same storage) refuses to use the changed values.
// In-place writes are refused on a tensor that requires grad while gradients are being
// recorded (optimizers update parameters inside noGrad), and on expanded views where
// several elements share one memory location.

import { isGradEnabled } from '../autograd/grad-mode.js';
import type { BinaryOp, UnaryOp } from '../backends/backend.js';
import { canCast, castScalar, promoteTypes, promoteWithScalar, typedArrayFor } from '../dtype.js';
import { broadcastShapes, formatShape, shapesEqual } from '../shape.js';
import { defaultGenerator, type Generator } from '../random.js';
import { Tensor, type TensorLike } from '../tensor.js';
import { backendOf, scalarTensor } from './allocate.js';
import { toDType, toDevice } from './copy.js';
import { expand } from './movement.js';
import { tensor } from '../creation.js';

function checkWritable(op: string, self: Tensor): void {
  if (self.requiresGrad && isGradEnabled()) {
    throw new Error(
      `${op}: a tensor that requires grad (shape ${formatShape(self.shape)}) cannot be modified in place while gradients ` +
        `are recorded; use the out-of-place op, or run the update inside noGrad().`,
    );
  }
  if (self.shape.some((s, i) => s > 1 && self.strides[i] === 0)) {
    throw new Error(`${op}: cannot write into an expanded tensor (shape ${formatShape(self.shape)}, strides ${formatShape(self.strides)}): several elements share one memory location; clone() it first`);
  }
}

/** `other` as a tensor broadcast to self's shape (which the result must keep) and castable to self's dtype. */
function operandFor(op: string, self: Tensor, other: TensorLike): Tensor {
  const t = other instanceof Tensor ? other : null;
  const dtype = t ? promoteTypes(self.dtype, t.dtype) : promoteWithScalar(self.dtype, other as number | boolean);
  if (!canCast(dtype, self.dtype)) {
    throw new TypeError(`${op}: result type ${dtype} can't be cast to the desired output type ${self.dtype}`);
  }
  const operand = t ?? scalarTensor(Number(other), self.dtype, self.device);
  if (operand.device !== self.device) throw new Error(`${op}: expected the operand on '${self.device}', got '${operand.device}'`);
  const shape = broadcastShapes(op, self.shape, operand.shape);
  if (!shapesEqual(shape, self.shape)) {
    throw new Error(`${op}: output with shape ${formatShape(self.shape)} doesn't match the broadcast shape ${formatShape(shape)}`);
  }
  return expand(operand.detach(), self.shape);
}

function done<T extends Tensor>(self: T): T {
  self.storage.bumpVersion();
  return self;
}

export function binary_<T extends Tensor>(op: BinaryOp, self: T, other: TensorLike): T {
  checkWritable(`${op}_`, self);
  const y = operandFor(`${op}_`, self, other);
  backendOf(self).binary(op, self, y, self);
  return done(self);
}

export function unary_<T extends Tensor>(op: UnaryOp, self: T, params?: readonly number[]): T {
  checkWritable(`${op}_`, self);
  backendOf(self).unary(op, self, self, params);
  return done(self);
}

/** self += alpha * other */
export function add_<T extends Tensor>(self: T, other: TensorLike, alpha = 1): T {
  if (alpha === 1) return binary_('add', self, other);
  if (!(other instanceof Tensor)) return binary_('add', self, Number(other) * alpha);
  checkWritable('add_', self);
  const scaled = scalarTensor(alpha, other.dtype, other.device);
  const y = operandFor('add_', self, other);
  const tmp = new Tensor(backendOf(self).allocate(self.dtype, self.numel, false), self.shape);
  backendOf(self).binary('mul', y, expand(scaled, self.shape), tmp);
  backendOf(self).binary('add', self, tmp, self);
  return done(self);
}

/** self += value * t1 * t2 */
export function addcmul_<T extends Tensor>(self: T, t1: Tensor, t2: Tensor, value = 1): T {
  return addProduct('addcmul_', 'mul', self, t1, t2, value);
}

/** self += value * t1 / t2 */
export function addcdiv_<T extends Tensor>(self: T, t1: Tensor, t2: Tensor, value = 1): T {
  return addProduct('addcdiv_', 'div', self, t1, t2, value);
}

function addProduct<T extends Tensor>(name: string, op: 'mul' | 'div', self: T, t1: Tensor, t2: Tensor, value: number): T {
  checkWritable(name, self);
  const a = operandFor(name, self, t1);
  const b = operandFor(name, self, t2);
  const backend = backendOf(self);
  const tmp = new Tensor(backend.allocate(self.dtype, self.numel, false), self.shape);
  backend.binary(op, a, b, tmp);
  if (value !== 1) backend.binary('mul', tmp, expand(scalarTensor(value, self.dtype, self.device), self.shape), tmp);
  backend.binary('add', self, tmp, self);
  return done(self);
}

/** self += weight * (end - self) */
export function lerp_<T extends Tensor>(self: T, end: TensorLike, weight: number): T {
  checkWritable('lerp_', self);
  const e = operandFor('lerp_', self, end);
  const backend = backendOf(self);
  const tmp = new Tensor(backend.allocate(self.dtype, self.numel, false), self.shape);
  backend.binary('sub', e, self, tmp);
  backend.binary('mul', tmp, expand(scalarTensor(weight, self.dtype, self.device), self.shape), tmp);
  backend.binary('add', self, tmp, self);
  return done(self);
}

export function clamp_<T extends Tensor>(self: T, min?: number | null, max?: number | null): T {
  return unary_('clamp', self, [min ?? -Infinity, max ?? Infinity]);
}

/** Copies src (broadcast to self's shape, cast to self's dtype, from any device) into self. */
export function copy_<T extends Tensor>(self: T, src: TensorLike): T {
  checkWritable('copy_', self);
  if (!(src instanceof Tensor)) return fill_(self, Number(src));
  // cast before crossing devices: the GPU holds no float64 (normal_/uniform_ draw in float64)
  const moved = src.device === self.device ? src.detach() : toDevice(toDType(src.detach(), self.dtype), self.device);
  const shape = broadcastShapes('copy_', self.shape, moved.shape);
  if (!shapesEqual(shape, self.shape)) {
    throw new Error(`copy_: source of shape ${formatShape(src.shape)} cannot be broadcast to ${formatShape(self.shape)}`);
  }
  backendOf(self).unary('copy', expand(moved, self.shape), self);
  return done(self);
}

export function fill_<T extends Tensor>(self: T, value: number): T {
  checkWritable('fill_', self);
  backendOf(self).fill(self, castScalar(value, self.dtype));
  return done(self);
}

export function maskedFill_<T extends Tensor>(self: T, mask: Tensor, value: number): T {
  checkWritable('maskedFill_', self);
  if (mask.dtype !== 'bool') throw new TypeError(`maskedFill_: mask must be a bool tensor, got dtype ${mask.dtype}`);
  const m = operandFor('maskedFill_', self, mask);
  backendOf(self).where(m, expand(scalarTensor(value, self.dtype, self.device), self.shape), self, self);
  return done(self);
}

/** Fills self with U[low, high) draws. */
export function uniform_<T extends Tensor>(self: T, low = 0, high = 1, generator: Generator = defaultGenerator): T {
  const data = typedArrayFor('float64', self.numel);
  for (let i = 0; i < data.length; i++) data[i] = low + (high - low) * generator.random();
  return copy_(self, tensor(data, { shape: self.shape }));
}

/** Fills self with N(mean, std^2) draws. */
export function normal_<T extends Tensor>(self: T, mean = 0, std = 1, generator: Generator = defaultGenerator): T {
  const data = typedArrayFor('float64', self.numel);
  generator.fillNormal(data, mean, std);
  return copy_(self, tensor(data, { shape: self.shape }));
}
