// Comparisons and selection. Comparisons return bool tensors and are not differentiable;
// where(cond, a, b) sends the gradient to a where cond holds and to b elsewhere.

import { record } from '../autograd/record.js';
import type { BinaryOp } from '../backends/backend.js';
import { promoteTypes } from '../dtype.js';
import { broadcastShapes } from '../shape.js';
import { Tensor, type TensorLike } from '../tensor.js';
import { backendOf, binaryOperands, emptyTensor, scalarTensor } from './allocate.js';
import { broadcastBinary } from './binary.js';
import { expand } from './movement.js';
import { sumTo } from './reduce.js';
import { zerosLike } from '../creation.js';

function compare(op: BinaryOp, a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = binaryOperands(op, a, b);
  return broadcastBinary(op, op, x, y, 'bool');
}

export const eq = (a: TensorLike, b: TensorLike): Tensor => compare('eq', a, b);
export const ne = (a: TensorLike, b: TensorLike): Tensor => compare('ne', a, b);
export const lt = (a: TensorLike, b: TensorLike): Tensor => compare('lt', a, b);
export const le = (a: TensorLike, b: TensorLike): Tensor => compare('le', a, b);
export const gt = (a: TensorLike, b: TensorLike): Tensor => compare('gt', a, b);
export const ge = (a: TensorLike, b: TensorLike): Tensor => compare('ge', a, b);
export const logicalAnd = (a: TensorLike, b: TensorLike): Tensor => compare('logicalAnd', a, b);
export const logicalOr = (a: TensorLike, b: TensorLike): Tensor => compare('logicalOr', a, b);

export function logicalNot(x: Tensor): Tensor {
  const out = emptyTensor(x.shape, 'bool', x.device, false);
  backendOf(x).unary('logicalNot', x, out);
  return out;
}

/** cond ? a : b elementwise, all three broadcast together; a and b promote to a common dtype. */
export function where(condition: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const device = condition.device;
  const x = a instanceof Tensor ? a : null;
  const y = b instanceof Tensor ? b : null;
  const dtype = x && y ? promoteTypes(x.dtype, y.dtype) : (x ?? y)?.dtype ?? 'float32';
  const ta = x ?? scalarTensor(Number(a), dtype, device);
  const tb = y ?? scalarTensor(Number(b), dtype, device);
  for (const t of [ta, tb]) {
    if (t.device !== device) throw new Error(`where: expected all tensors on '${device}', got one on '${t.device}'`);
  }
  const shape = broadcastShapes('where', condition.shape, ta.shape, tb.shape);
  const out = emptyTensor(shape, dtype, device, false);
  backendOf(condition).where(expand(condition.detach(), shape), expand(ta.detach(), shape), expand(tb.detach(), shape), out);
  return record('WhereBackward', out, [ta, tb], [condition], [
    (g) => sumTo(where(condition, g, zerosLike(g)), ta.shape),
    (g) => sumTo(where(condition, zerosLike(g), g), tb.shape),
  ]);
}

/** True when |a - b| <= atol + rtol |b| everywhere (torch.allclose). NaNs are unequal. */
export function allclose(a: Tensor, b: Tensor, rtol = 1e-5, atol = 1e-8): boolean {
  const shape = broadcastShapes('allclose', a.shape, b.shape);
  const x = expand(a.detach(), shape).dataSync();
  const y = expand(b.detach(), shape).dataSync();
  for (let i = 0; i < x.length; i++) {
    if (x[i] === y[i]) continue;
    if (!(Math.abs(x[i] - y[i]) <= atol + rtol * Math.abs(y[i]))) return false;
  }
  return true;
}
