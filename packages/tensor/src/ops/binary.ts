// Elementwise arithmetic of two operands with NumPy broadcasting.
//
// Operands broadcast to a common shape (each is expanded, stride 0, not copied) and
// promote to a common dtype. Each gradient is computed at the output's shape and then
// summed down to the operand's own shape by `sumTo`: the one rule for broadcasting.

import { record } from '../autograd/record.js';
import type { BinaryOp } from '../backends/backend.js';
import { type DType, isFloatingPoint } from '../dtype.js';
import { broadcastShapes } from '../shape.js';
import { Tensor, type TensorLike } from '../tensor.js';
import { backendOf, binaryOperands, emptyTensor } from './allocate.js';
import { expand } from './movement.js';
import { sumTo } from './reduce.js';
import { eq, ge, gt, lt, logicalAnd, where } from './compare.js';
import { log, neg, powScalar } from './unary.js';
import { zerosLike } from '../creation.js';

/** Runs a binary kernel on broadcast operands; no autograd. `dtype` is the output's. */
export function broadcastBinary(op: BinaryOp, name: string, a: Tensor, b: Tensor, dtype: DType): Tensor {
  const shape = broadcastShapes(name, a.shape, b.shape);
  const out = emptyTensor(shape, dtype, a.device, false);
  backendOf(a).binary(op, expand(a.detach(), shape), expand(b.detach(), shape), out);
  return out;
}

/** a + b; d/da = 1, d/db = 1. */
export function add(a: TensorLike, b: TensorLike): Tensor {
  const [x, y, dtype] = binaryOperands('add', a, b);
  const out = broadcastBinary('add', 'add', x, y, dtype);
  return record('AddBackward', out, [x, y], [], [(g) => sumTo(g, x.shape), (g) => sumTo(g, y.shape)]);
}

/** a - b; d/da = 1, d/db = -1. */
export function sub(a: TensorLike, b: TensorLike): Tensor {
  const [x, y, dtype] = binaryOperands('sub', a, b);
  const out = broadcastBinary('sub', 'sub', x, y, dtype);
  return record('SubBackward', out, [x, y], [], [(g) => sumTo(g, x.shape), (g) => sumTo(neg(g), y.shape)]);
}

/** a * b; d/da = b, d/db = a. */
export function mul(a: TensorLike, b: TensorLike): Tensor {
  const [x, y, dtype] = binaryOperands('mul', a, b);
  const out = broadcastBinary('mul', 'mul', x, y, dtype);
  // each formula reads the other operand, which is saved only when that formula can run (as PyTorch)
  const saved = [...(y.requiresGrad ? [x] : []), ...(x.requiresGrad ? [y] : [])];
  return record('MulBackward', out, [x, y], saved, [(g) => sumTo(mul(g, y), x.shape), (g) => sumTo(mul(g, x), y.shape)]);
}

/** a / b (true division: integers give float32); d/da = 1/b, d/db = -a/b^2. */
export function div(a: TensorLike, b: TensorLike): Tensor {
  const [x, y, common] = binaryOperands('div', a, b);
  const out = broadcastBinary('div', 'div', x, y, isFloatingPoint(common) ? common : 'float32');
  return record('DivBackward', out, [x, y], y.requiresGrad ? [x, y] : [y], [
    (g) => sumTo(div(g, y), x.shape),
    (g) => sumTo(neg(div(mul(g, x), mul(y, y))), y.shape),
  ]);
}

/**
 * a ^ b. d/da = b a^(b-1) (0 where b = 0); d/db = a^b ln a (0 where a = 0 and b >= 0,
 * as PyTorch, so that 0^b with b >= 0 does not produce NaN gradients).
 */
export function pow(a: TensorLike, b: TensorLike): Tensor {
  if (a instanceof Tensor && typeof b === 'number') return powScalar(a, b);
  const [x, y, common] = binaryOperands('pow', a, b);
  const out = broadcastBinary('pow', 'pow', x, y, common);
  return record('PowBackward', out, [x, y], [x, y, out], [
    (g) => sumTo(where(eq(y, 0), 0, mul(g, mul(y, pow(x, sub(y, 1))))), x.shape),
    (g) => sumTo(where(logicalAnd(eq(x, 0), ge(y, 0)), 0, mul(g, mul(out, log(x)))), y.shape),
  ]);
}

/** Elementwise max; NaN propagates; ties send half the gradient to each side (as PyTorch). */
export function maximum(a: TensorLike, b: TensorLike): Tensor {
  return extremum('maximum', a, b);
}

/** Elementwise min; NaN propagates; ties send half the gradient to each side. */
export function minimum(a: TensorLike, b: TensorLike): Tensor {
  return extremum('minimum', a, b);
}

function extremum(op: 'maximum' | 'minimum', a: TensorLike, b: TensorLike): Tensor {
  const [x, y, dtype] = binaryOperands(op, a, b);
  const out = broadcastBinary(op, op, x, y, dtype);
  const wins = (p: Tensor, q: Tensor) => (op === 'maximum' ? gt(p, q) : lt(p, q));
  // share = 1 where this side wins, 0.5 on ties, 0 where it loses
  const share = (p: Tensor, q: Tensor) => where(eq(p, q), 0.5, where(wins(p, q), 1, zerosLike(p)));
  return record(op === 'maximum' ? 'MaximumBackward' : 'MinimumBackward', out, [x, y], [x, y], [
    (g) => sumTo(mul(g, share(x, y)), x.shape),
    (g) => sumTo(mul(g, share(y, x)), y.shape),
  ]);
}
