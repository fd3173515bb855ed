// In-place ops (PyTorch's trailing underscore): write into the tensor's own memory.
//
// Each bumps the storage's version counter, so that a backward pass that saved this
// tensor (or another view of the same storage) refuses to use the changed values.
//
// When no gradient is recorded (noGrad, or nothing involved requires grad) a kernel
// writes straight into self. While recording, an in-place op works as in PyTorch:
//   1. its out-of-place twin computes r = f(self_old, ...) and records its usual gradient
//      formulas; self_old is an alias of self's memory, or a copy when those formulas
//      read self_old after it is overwritten (mul_ by a tensor that requires grad, clamp_);
//   2. r is written into self's memory and the version is bumped;
//   3. the history is rebased onto r (autograd/rebase.ts), through the base when self is a view.
// Refused while recording, as in PyTorch: a leaf that requires grad, a view of one, and a
// view made inside noGrad whose base takes part in autograd. Optimizers update parameters
// inside noGrad. Expanded views (several elements in one memory location) are always refused.

import { isGradEnabled } from '../autograd/grad-mode.js';
import { record } from '../autograd/record.js';
import { historyAlias, rebaseHistory } from '../autograd/rebase.js';
import type { BinaryOp } from '../backends/backend.js';
import { canCast, castScalar, promoteTypes, promoteWithScalar, typedArrayFor } from '../dtype.js';
import { broadcastShapes, formatShape, shapesEqual } from '../shape.js';
import { defaultGenerator, type Generator } from '../random.js';
import { Tensor, type TensorLike } from '../tensor.js';
import { backendOf, scalarTensor } from './allocate.js';
import { clone, copyOf, toDType, toDevice } from './copy.js';
import { expand } from './movement.js';
import { sumTo } from './reduce.js';
import * as B from './binary.js';
import * as U from './unary.js';
import { maskedFill } from './indexing.js';
import { tensor, zerosLike } from '../creation.js';

/** One in-place op: the direct kernel, and the out-of-place twin autograd records. */
interface InPlace {
  name: string;
  /** Tensors other than self that the result depends on. */
  operands: readonly Tensor[];
  /** Writes the result into self; runs when no gradient is recorded. */
  kernel: () => void;
  /** The result from self's old value, with autograd (r of the header). */
  twin: (old: Tensor) => Tensor;
  /** Whether twin's gradient formulas read self's old value (then it gets a copy). */
  readsOld: boolean;
}

function run<T extends Tensor>(self: T, op: InPlace): T {
  if (self.shape.some((s, i) => s > 1 && self.strides[i] === 0)) {
    throw new Error(`${op.name}: cannot write into an expanded tensor (shape ${formatShape(self.shape)}, strides ${formatShape(self.strides)}): several elements share one memory location; clone() it first`);
  }
  const view = self.viewOf;
  const involved = () => self.requiresGrad || (view?.base.requiresGrad ?? false) || op.operands.some((t) => t.requiresGrad);
  if (!isGradEnabled() || !involved()) {
    op.kernel();
    self.storage.bumpVersion();
    return self;
  }
  checkDifferentiableWrite(op.name, self);
  const old = op.readsOld ? clone(historyAlias(self)) : historyAlias(self);
  const result = toDType(op.twin(old), self.dtype);
  backendOf(self).unary('copy', result, self);
  self.storage.bumpVersion();
  rebaseHistory(self, result);
  return self;
}

/** The writes PyTorch refuses while recording (torch/csrc/autograd/VariableTypeUtils.h, check_inplace). */
function checkDifferentiableWrite(op: string, self: Tensor): void {
  const view = self.viewOf;
  const shape = formatShape(self.shape);
  if (view === null && self.isLeaf && self.requiresGrad) {
    throw new Error(
      `${op}: a leaf tensor that requires grad (shape ${shape}) is being used in an in-place operation; ` +
        `use the out-of-place op, or run the update inside noGrad() (as optimizers do).`,
    );
  }
  if (view !== null && view.base.isLeaf && view.base.requiresGrad) {
    throw new Error(
      `${op}: a view (shape ${shape}) of a leaf tensor that requires grad (shape ${formatShape(view.base.shape)}) is being used ` +
        `in an in-place operation; clone() the leaf first, or run the update inside noGrad().`,
    );
  }
  if (view !== null && !view.differentiable) {
    throw new Error(
      `${op}: a view (shape ${shape}) made inside noGrad() is being modified in place while gradients are recorded; ` +
        `its base's history cannot follow the write. Make the view outside noGrad(), or clone() it.`,
    );
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

const tensorsIn = (...xs: TensorLike[]): Tensor[] => xs.filter((x): x is Tensor => x instanceof Tensor);

/** A fresh tensor holding tmp = a op b (no autograd), for the kernels of the fused updates. */
function temporary(op: BinaryOp, self: Tensor, a: Tensor, b: Tensor): Tensor {
  const tmp = new Tensor(backendOf(self).allocate(self.dtype, self.numel, false), self.shape);
  backendOf(self).binary(op, a, b, tmp);
  return tmp;
}

const binaryTwins = { add: B.add, sub: B.sub, mul: B.mul, div: B.div, pow: B.pow, maximum: B.maximum, minimum: B.minimum } as const;

/** self = self op other, for op in add, sub, mul, div, pow, maximum, minimum. */
export function binary_<T extends Tensor>(op: keyof typeof binaryTwins, self: T, other: TensorLike): T {
  const y = operandFor(`${op}_`, self, other);
  // mul and div read self_old only for the gradient of `other`; add and sub never do
  const otherNeedsGrad = other instanceof Tensor && other.requiresGrad;
  const readsOld = op === 'add' || op === 'sub' ? false : op === 'mul' || op === 'div' ? otherNeedsGrad : true;
  return run(self, {
    name: `${op}_`,
    operands: tensorsIn(other),
    kernel: () => backendOf(self).binary(op, self, y, self),
    twin: (old) => binaryTwins[op](old, other),
    readsOld,
  });
}

/** self = f(self) for functions whose gradient reads only their output (or nothing). */
const unaryTwins = { sqrt: U.sqrt, exp: U.exp, neg: U.neg, relu: U.relu, sigmoid: U.sigmoid, tanh: U.tanh } as const;

export function unary_<T extends Tensor>(op: keyof typeof unaryTwins, self: T): T {
  return run(self, {
    name: `${op}_`,
    operands: [],
    kernel: () => backendOf(self).unary(op, self, self),
    twin: (old) => unaryTwins[op](old),
    readsOld: false,
  });
}

/** self += alpha * other */
export function add_<T extends Tensor>(self: T, other: TensorLike, alpha = 1): T {
  if (alpha === 1 || !(other instanceof Tensor)) return binary_('add', self, alpha === 1 ? other : Number(other) * alpha);
  const y = operandFor('add_', self, other);
  return run(self, {
    name: 'add_',
    operands: [other],
    kernel: () => {
      if (backendOf(self).addScaled?.(self, y, alpha, self) === true) return;
      const tmp = temporary('mul', self, y, expand(scalarTensor(alpha, other.dtype, other.device), self.shape));
      backendOf(self).binary('add', self, tmp, self);
    },
    twin: (old) => B.add(old, B.mul(other, alpha)),
    readsOld: false,
  });
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
  const a = operandFor(name, self, t1);
  const b = operandFor(name, self, t2);
  return run(self, {
    name,
    operands: [t1, t2],
    kernel: () => {
      const tmp = temporary(op, self, a, b);
      if (value !== 1) backendOf(self).binary('mul', tmp, expand(scalarTensor(value, self.dtype, self.device), self.shape), tmp);
      backendOf(self).binary('add', self, tmp, self);
    },
    twin: (old) => B.add(old, B.mul(binaryTwins[op](t1, t2), value)),
    readsOld: false,
  });
}

/** self += weight * (end - self) */
export function lerp_<T extends Tensor>(self: T, end: TensorLike, weight: number): T {
  const e = operandFor('lerp_', self, end);
  return run(self, {
    name: 'lerp_',
    operands: tensorsIn(end),
    kernel: () => {
      const tmp = temporary('sub', self, e, self);
      backendOf(self).binary('mul', tmp, expand(scalarTensor(weight, self.dtype, self.device), self.shape), tmp);
      backendOf(self).binary('add', self, tmp, self);
    },
    twin: (old) => B.add(old, B.mul(B.sub(end, old), weight)),
    readsOld: false,
  });
}

export function clamp_<T extends Tensor>(self: T, min?: number | null, max?: number | null): T {
  const bounds = [min ?? -Infinity, max ?? Infinity];
  return run(self, {
    name: 'clamp_',
    operands: [],
    kernel: () => backendOf(self).unary('clamp', self, self, bounds),
    twin: (old) => U.clamp(old, min, max),
    readsOld: true,
  });
}

/**
 * The new contents of self that do not depend on its old value (copy_, fill_): self_old
 * gets a zero gradient, so the result still requires grad when self did (PyTorch's
 * CopyBackwards, FillBackward). `source`, when given, gets the gradient summed to its shape.
 */
function overwrite(name: string, old: Tensor, source: Tensor): Tensor {
  const out = copyOf(expand(source.detach(), old.shape));
  return record(name, out, [old, source], [], [(g) => zerosLike(g), (g) => sumTo(g, source.shape)]);
}

/** Copies src (broadcast to self's shape, cast to self's dtype, from any device) into self. */
export function copy_<T extends Tensor>(self: T, src: TensorLike): T {
  if (!(src instanceof Tensor)) return fill_(self, Number(src));
  const shape = broadcastShapes('copy_', self.shape, src.shape);
  if (!shapesEqual(shape, self.shape)) {
    throw new Error(`copy_: source of shape ${formatShape(src.shape)} cannot be broadcast to ${formatShape(self.shape)}`);
  }
  // cast before crossing devices: the GPU holds no float64 (normal_/uniform_ draw in float64)
  const moved = (s: Tensor) => (s.device === self.device ? s : toDevice(toDType(s, self.dtype), self.device));
  return run(self, {
    name: 'copy_',
    operands: [src],
    kernel: () => backendOf(self).unary('copy', expand(moved(src.detach()), self.shape), self),
    twin: (old) => overwrite('CopyBackwards', old, toDType(moved(src), self.dtype)),
    readsOld: false,
  });
}

export function fill_<T extends Tensor>(self: T, value: number): T {
  const v = castScalar(value, self.dtype);
  return run(self, {
    name: 'fill_',
    operands: [],
    kernel: () => backendOf(self).fill(self, v),
    twin: (old) => overwrite('FillBackward', old, scalarTensor(v, self.dtype, self.device)),
    readsOld: false,
  });
}

export function maskedFill_<T extends Tensor>(self: T, mask: Tensor, value: number): T {
  if (mask.dtype !== 'bool') throw new TypeError(`maskedFill_: mask must be a bool tensor, got dtype ${mask.dtype}`);
  const m = operandFor('maskedFill_', self, mask);
  return run(self, {
    name: 'maskedFill_',
    operands: [],
    kernel: () => backendOf(self).where(m, expand(scalarTensor(value, self.dtype, self.device), self.shape), self, self),
    twin: (old) => maskedFill(old, mask, value),
    readsOld: false,
  });
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
