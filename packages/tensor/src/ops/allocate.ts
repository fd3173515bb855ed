// Allocating op outputs and turning JS numbers into tensors.

import { getBackend, type Backend } from '../backends/backend.js';
import { type DType, isFloatingPoint, promoteTypes, promoteWithScalar } from '../dtype.js';
import { numel } from '../shape.js';
import type { Device } from '../storage.js';
import { Tensor, type TensorLike } from '../tensor.js';
import { checkTensorLike } from '../validate.js';

export function backendOf(t: Tensor): Backend {
  return getBackend(t.device);
}

/**
 * A new contiguous tensor, zero-filled; with `zeroed` false its contents are unspecified
 * (torch.empty), for an output that the kernel called next writes in full.
 */
export function emptyTensor(shape: readonly number[], dtype: DType, device: Device, zeroed = true): Tensor {
  return new Tensor(getBackend(device).allocate(dtype, numel(shape), zeroed), shape);
}

/** A 0-d tensor holding `value`. */
export function scalarTensor(value: number, dtype: DType, device: Device): Tensor {
  const t = emptyTensor([], dtype, device);
  backendOf(t).fill(t, value);
  return t;
}

/**
 * The operands of a binary op as tensors on one device, and their promoted dtype.
 * A number becomes a 0-d tensor of the other operand's (promoted) dtype.
 */
export function binaryOperands(op: string, a: TensorLike, b: TensorLike): [Tensor, Tensor, DType] {
  checkTensorLike(op, 'input', a);
  checkTensorLike(op, 'other', b);
  if (a instanceof Tensor && b instanceof Tensor) {
    if (a.device !== b.device) {
      throw new Error(`${op}: expected both tensors on the same device, got '${a.device}' and '${b.device}'`);
    }
    return [a, b, promoteTypes(a.dtype, b.dtype)];
  }
  if (a instanceof Tensor) {
    const dtype = promoteWithScalar(a.dtype, b as number | boolean);
    return [a, scalarTensor(Number(b), dtype, a.device), dtype];
  }
  if (b instanceof Tensor) {
    const dtype = promoteWithScalar(b.dtype, a as number | boolean);
    return [scalarTensor(Number(a), dtype, b.device), b, dtype];
  }
  throw new TypeError(`${op}: at least one operand must be a Tensor`);
}

/** The dtype of a floating-point result: integer inputs give float32 (as torch.exp(int tensor)). */
export function floatDType(dtype: DType): DType {
  return isFloatingPoint(dtype) ? dtype : 'float32';
}

export function requireFloat(op: string, t: Tensor): void {
  if (!isFloatingPoint(t.dtype)) throw new TypeError(`${op}: expected a floating point tensor, got dtype ${t.dtype}`);
}
