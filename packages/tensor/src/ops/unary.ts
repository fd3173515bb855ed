// Elementwise functions of one tensor, each with its derivative beside it.
//
// Integer inputs give float32 results for the transcendental functions (as in
// PyTorch); neg, abs, sign, square, relu and clamp keep the input's dtype.

import { record } from '../autograd/record.js';
import type { UnaryOp } from '../backends/backend.js';
import { type DType, isFloatingPoint } from '../dtype.js';
import type { Tensor } from '../tensor.js';
import { backendOf, emptyTensor, floatDType } from './allocate.js';
import { add, mul, sub, div } from './binary.js';
import { gt, ge, le, logicalAnd } from './compare.js';
import { zerosLike } from '../creation.js';
import { checkChoice, checkNumber, checkOptions } from '../validate.js';

function apply(op: UnaryOp, x: Tensor, dtype: DType, params?: readonly number[]): Tensor {
  const out = emptyTensor(x.shape, dtype, x.device, false);
  backendOf(x).unary(op, x, out, params);
  return out;
}

const floatOp = (op: UnaryOp, x: Tensor) => apply(op, x, floatDType(x.dtype));

export function neg(x: Tensor): Tensor {
  return record('NegBackward', apply('neg', x, x.dtype), [x], [], [(g) => neg(g)]);
}

/** 1 / x; d/dx = -1/x^2 = -y^2. */
export function reciprocal(x: Tensor): Tensor {
  const y = floatOp('reciprocal', x);
  return record('ReciprocalBackward', y, [x], [y], [(g) => neg(mul(g, mul(y, y)))]);
}

/** e^x; d/dx = e^x = y. */
export function exp(x: Tensor): Tensor {
  const y = floatOp('exp', x);
  return record('ExpBackward', y, [x], [y], [(g) => mul(g, y)]);
}

/** ln x; d/dx = 1/x. */
export function log(x: Tensor): Tensor {
  return record('LogBackward', floatOp('log', x), [x], [x], [(g) => div(g, x)]);
}

/** ln(1 + x), accurate for small x; d/dx = 1/(1 + x). */
export function log1p(x: Tensor): Tensor {
  return record('Log1pBackward', floatOp('log1p', x), [x], [x], [(g) => div(g, add(x, 1))]);
}

/** sqrt x; d/dx = 1/(2 sqrt x). */
export function sqrt(x: Tensor): Tensor {
  const y = floatOp('sqrt', x);
  return record('SqrtBackward', y, [x], [y], [(g) => div(g, mul(y, 2))]);
}

/** 1/sqrt x; d/dx = -1/2 x^(-3/2) = -y^3 / 2. */
export function rsqrt(x: Tensor): Tensor {
  const y = floatOp('rsqrt', x);
  return record('RsqrtBackward', y, [x], [y], [(g) => mul(g, mul(mul(y, mul(y, y)), -0.5))]);
}

/** |x|; d/dx = sign(x) (0 at 0, as PyTorch). */
export function abs(x: Tensor): Tensor {
  return record('AbsBackward', apply('abs', x, x.dtype), [x], [x], [(g) => mul(g, sign(x))]);
}

/** -1, 0 or 1; zero gradient everywhere. */
export function sign(x: Tensor): Tensor {
  return record('SignBackward', apply('sign', x, x.dtype), [x], [], [(g) => zerosLike(g)]);
}

/** x^2; d/dx = 2x. */
export function square(x: Tensor): Tensor {
  return record('SquareBackward', apply('square', x, x.dtype), [x], [x], [(g) => mul(g, mul(x, 2))]);
}

export function sin(x: Tensor): Tensor {
  return record('SinBackward', floatOp('sin', x), [x], [x], [(g) => mul(g, cos(x))]);
}

export function cos(x: Tensor): Tensor {
  return record('CosBackward', floatOp('cos', x), [x], [x], [(g) => neg(mul(g, sin(x)))]);
}

/** tanh x; d/dx = 1 - tanh^2 x. */
export function tanh(x: Tensor): Tensor {
  const y = floatOp('tanh', x);
  return record('TanhBackward', y, [x], [y], [(g) => mul(g, sub(1, mul(y, y)))]);
}

/** 1 / (1 + e^-x); d/dx = y (1 - y). */
export function sigmoid(x: Tensor): Tensor {
  const y = floatOp('sigmoid', x);
  return record('SigmoidBackward', y, [x], [y], [(g) => mul(g, mul(y, sub(1, y)))]);
}

/** max(x, 0); the gradient passes where the output is positive. */
export function relu(x: Tensor): Tensor {
  const y = apply('relu', x, x.dtype);
  return record('ReluBackward', y, [x], [y], [(g) => mul(g, gt(y, 0))]);
}

/** The error function; d/dx = 2/sqrt(pi) e^(-x^2). */
export function erf(x: Tensor): Tensor {
  return record('ErfBackward', floatOp('erf', x), [x], [x], [(g) => mul(g, mul(exp(neg(mul(x, x))), 2 / Math.sqrt(Math.PI)))]);
}

export interface GeluOptions {
  /** 'none' (default): x Phi(x) with the exact erf; 'tanh': the tanh approximation. */
  approximate?: 'none' | 'tanh';
}

/**
 * GELU (Hendrycks & Gimpel 2016): x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), or with
 * approximate 'tanh': 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
 * `gelu(x, 'tanh')` is short for `gelu(x, {approximate: 'tanh'})` (torch.nn.functional.gelu).
 */
export function gelu(x: Tensor, options: GeluOptions | 'none' | 'tanh' = {}): Tensor {
  const { approximate = 'none' } = typeof options === 'string' ? { approximate: options } : checkOptions('gelu', options, ['approximate']);
  if (checkChoice('gelu', 'approximate', approximate, ['none', 'tanh']) === 'tanh') {
    return record('GeluBackward', floatOp('geluTanh', x), [x], [x], [(g) => mul(g, geluTanhDerivative(x))]);
  }
  return record('GeluBackward', floatOp('gelu', x), [x], [x], [(g) => geluBackward(g, x)]);
}

/**
 * g * GELU'(x) = g (Phi(x) + x phi(x)) in one fused kernel. It is differentiable too:
 * d/dg = GELU'(x), d/dx = g * GELU''(x) = g phi(x) (2 - x^2).
 */
function geluBackward(g: Tensor, x: Tensor): Tensor {
  const out = emptyTensor(x.shape, floatDType(x.dtype), x.device, false);
  backendOf(x).binary('geluBackward', g, x, out);
  return record('GeluBackwardBackward', out, [g, x], [g, x], [
    (gg) => geluBackward(gg, x),
    (gg) => {
      const phi = mul(exp(mul(mul(x, x), -0.5)), 1 / Math.sqrt(2 * Math.PI));
      return mul(mul(gg, g), mul(phi, sub(2, mul(x, x))));
    },
  ]);
}

/** d/dx of the tanh-approximated GELU, written with differentiable ops. */
function geluTanhDerivative(x: Tensor): Tensor {
  const k = Math.sqrt(2 / Math.PI);
  const x2 = mul(x, x);
  const t = tanh(mul(add(x, mul(mul(x2, x), 0.044715)), k));
  const dInner = mul(add(mul(x2, 3 * 0.044715), 1), k);
  return add(mul(add(t, 1), 0.5), mul(mul(mul(x, 0.5), sub(1, mul(t, t))), dInner));
}

/** Limits x to [min, max] (either may be omitted); the gradient passes inside the range. */
export function clamp(x: Tensor, min?: number | null, max?: number | null): Tensor {
  if ((min === undefined || min === null) && (max === undefined || max === null)) {
    throw new Error('clamp: at least one of min and max must be given');
  }
  if (min !== undefined && min !== null) checkNumber('clamp', 'min', min);
  if (max !== undefined && max !== null) checkNumber('clamp', 'max', max);
  const lo = min ?? -Infinity;
  const hi = max ?? Infinity;
  // fractional bounds promote an integer tensor to float32, as PyTorch's type promotion does
  const integral = [lo, hi].every((b) => Number.isInteger(b) || !Number.isFinite(b));
  const dtype = integral ? x.dtype : floatDType(x.dtype);
  const y = apply('clamp', x, dtype, [lo, hi]);
  return record('ClampBackward', y, [x], [x], [(g) => mul(g, logicalAnd(ge(x, lo), le(x, hi)))]);
}

/** x^p for a number p; d/dx = p x^(p-1) (0 when p = 0). */
export function powScalar(x: Tensor, p: number): Tensor {
  if (!isFloatingPoint(x.dtype) && Number.isInteger(p) && p < 0) {
    throw new Error(`pow: integers to negative integer powers are not allowed (dtype ${x.dtype}, exponent ${p})`);
  }
  const dtype = Number.isInteger(p) && p >= 0 ? x.dtype : floatDType(x.dtype);
  const y = apply('powScalar', x, dtype, [p]);
  return record('PowBackward', y, [x], [x], [(g) => (p === 0 ? zerosLike(g) : mul(g, mul(powScalar(x, p - 1), p)))]);
}
