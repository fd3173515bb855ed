// Creating tensors: from JS data, constants, ranges and seeded random draws.

import { type DType, type TypedArray, dtypeOfArray } from './dtype.js';
import { erf, erfinv } from './math/erf.js';
import { defaultGenerator, type Generator } from './random.js';
import { formatShape, numel } from './shape.js';
import { type Device, hostArray } from './storage.js';
import { getBackend } from './backends/backend.js';
import { Tensor, type NestedArray } from './tensor.js';
import { toDevice } from './ops/copy.js';
import { checkBoolean, checkGenerator, checkDType, checkDevice, checkFitsDType, checkInteger, checkNumber, checkOptions, checkShape, describe } from './validate.js';

export interface CreationOptions {
  dtype?: DType;
  device?: Device;
  requiresGrad?: boolean;
}

export interface RandomOptions extends CreationOptions {
  generator?: Generator;
}

export interface TensorOptions extends CreationOptions {
  /** The shape of a flat array or typed array (default: its length, or the nesting of a nested array). */
  shape?: readonly number[];
}

const CREATION_KEYS = ['dtype', 'device', 'requiresGrad'] as const;

/** Checks a creation function's options: known keys only, and valid dtype, device, requiresGrad and generator. */
function checkCreation<T extends CreationOptions>(op: string, options: T | undefined, extraKeys: readonly string[] = []): T {
  const o = checkOptions(op, options, [...CREATION_KEYS, ...extraKeys]);
  if (o.dtype !== undefined) checkDType(op, o.dtype);
  if (o.device !== undefined) checkDevice(op, o.device);
  if (o.requiresGrad !== undefined) checkBoolean(op, 'requiresGrad', o.requiresGrad);
  checkGenerator(op, (o as RandomOptions).generator);
  return o;
}

const RANDOM_KEYS = ['generator'] as const;

function finish(data: TypedArray, shape: readonly number[], options: CreationOptions): Tensor {
  const cpu = new Tensor(getBackend('cpu').fromArray(data), shape);
  const t = options.device && options.device !== 'cpu' ? toDevice(cpu, options.device) : cpu;
  if (options.requiresGrad) t.requiresGrad_(true);
  return t;
}


function inferNestedShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let level: NestedArray = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    if (level.length === 0) break;
    level = level[0];
  }
  return shape;
}

function flattenNested(data: NestedArray, shape: readonly number[], out: number[], depth = 0): void {
  if (depth === shape.length) {
    if (Array.isArray(data)) throw new Error(`tensor: ragged nested array (expected a number at depth ${depth})`);
    if (typeof data !== 'number' && typeof data !== 'boolean') {
      throw new TypeError(`tensor: expected numbers or booleans, got ${describe(data)} at element ${out.length}`);
    }
    out.push(Number(data));
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) {
    throw new Error(`tensor: ragged nested array (expected length ${shape[depth]} at depth ${depth}, shape ${formatShape(shape)})`);
  }
  for (const item of data) flattenNested(item, shape, out, depth + 1);
}

function isAllBoolean(data: NestedArray): boolean {
  if (typeof data === 'boolean') return true;
  if (Array.isArray(data)) return data.length > 0 && data.every(isAllBoolean);
  return false;
}

/**
 * A tensor from nested arrays, a number, or a typed/flat array with `shape`.
 * The dtype defaults to the typed array's, to bool for booleans, else float32.
 * The new tensor owns its memory except when given a typed array of the same dtype on the CPU.
 */
export function tensor(data: NestedArray | TypedArray, options: TensorOptions = {}): Tensor {
  checkCreation('tensor', options, ['shape']);
  if (ArrayBuffer.isView(data)) {
    if (data instanceof DataView || !isTypedArray(data)) {
      throw new TypeError(`tensor: a typed array must be a Float32Array, Float64Array, Int32Array or Uint8Array, got ${describe(data)}`);
    }
    const shape = options.shape ?? [data.length];
    checkShape('tensor', 'shape', shape);
    if (numel(shape) !== data.length) {
      throw new Error(`tensor: shape ${formatShape(shape)} needs ${numel(shape)} elements but the typed array has ${data.length}`);
    }
    const dtype = options.dtype ?? dtypeOfArray(data);
    const array = dtype === dtypeOfArray(data) ? data : convert(data, dtype);
    return finish(array, shape, options);
  }
  const dtype = options.dtype ?? (isAllBoolean(data) ? 'bool' : 'float32');
  const nestedShape = inferNestedShape(data);
  const flat: number[] = [];
  flattenNested(data, nestedShape, flat);
  const shape = options.shape ?? nestedShape;
  checkShape('tensor', 'shape', shape);
  if (numel(shape) !== flat.length) {
    throw new Error(`tensor: shape ${formatShape(shape)} needs ${numel(shape)} elements but the data has ${flat.length}`);
  }
  return finish(convert(flat, dtype), shape, options);
}

function isTypedArray(data: ArrayBufferView): data is TypedArray {
  return data instanceof Float32Array || data instanceof Float64Array || data instanceof Int32Array || data instanceof Uint8Array;
}

function convert(values: ArrayLike<number>, dtype: DType): TypedArray {
  if (dtype === 'int32') for (let i = 0; i < values.length; i++) checkFitsDType('tensor', values[i], dtype, ` at element ${i}`);
  const out = hostArray(dtype, values.length);
  if (dtype === 'bool') for (let i = 0; i < values.length; i++) out[i] = values[i] ? 1 : 0;
  else out.set(values as ArrayLike<number>);
  return out;
}

/** A tensor filled with `value`. */
export function full(shape: readonly number[], value: number, options: CreationOptions = {}): Tensor {
  return filled('full', shape, value, options);
}

function filled(op: string, shape: readonly number[], value: number, options: CreationOptions): Tensor {
  checkCreation(op, options);
  checkShape(op, 'size', shape);
  if (typeof value !== 'boolean') checkNumber(op, 'fillValue', value, { allowNaN: true });
  const dtype = options.dtype ?? 'float32';
  checkFitsDType(op, Number(value), dtype);
  const data = hostArray(dtype, numel(shape));
  if (value !== 0) data.fill(dtype === 'bool' ? (value ? 1 : 0) : value);
  return finish(data, shape, options);
}

export function zeros(shape: readonly number[], options: CreationOptions = {}): Tensor {
  return filled('zeros', shape, 0, options);
}

export function ones(shape: readonly number[], options: CreationOptions = {}): Tensor {
  return filled('ones', shape, 1, options);
}

function likeOptions(t: Tensor, options: CreationOptions): CreationOptions {
  return { dtype: t.dtype, device: t.device, ...options };
}

export function fullLike(t: Tensor, value: number, options: CreationOptions = {}): Tensor {
  return filled('fullLike', t.shape, value, likeOptions(t, options));
}

export function zerosLike(t: Tensor, options: CreationOptions = {}): Tensor {
  return filled('zerosLike', t.shape, 0, likeOptions(t, options));
}

export function onesLike(t: Tensor, options: CreationOptions = {}): Tensor {
  return filled('onesLike', t.shape, 1, likeOptions(t, options));
}

/**
 * Values start, start+step, ... up to but excluding end (torch.arange). With one
 * argument it is arange(0, end). Integer arguments give int32, otherwise float32.
 */
export function arange(start: number, end?: number | CreationOptions, step: number | CreationOptions = 1, options: CreationOptions = {}): Tensor {
  // options may follow the last number given: arange(6, {dtype}), arange(0, 6, {dtype})
  if (typeof end === 'object') [end, step, options] = [undefined, 1, end];
  else if (typeof step === 'object') [step, options] = [1, step];
  checkCreation('arange', options);
  checkNumber('arange', 'start', start);
  if (end !== undefined) checkNumber('arange', 'end', end);
  checkNumber('arange', 'step', step);
  if (end === undefined) {
    end = start;
    start = 0;
  }
  if (!Number.isFinite(start) || !Number.isFinite(end)) throw new RangeError(`arange: start and end must be finite, got start=${start}, end=${end}`);
  if (step === 0) throw new Error('arange: step must be non-zero');
  const n = Math.max(0, Math.ceil((end - start) / step));
  const integral = Number.isInteger(start) && Number.isInteger(end) && Number.isInteger(step);
  const dtype = options.dtype ?? (integral ? 'int32' : 'float32');
  const data = hostArray(dtype, n);
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  return finish(data, [n], options);
}

/** `steps` values evenly spaced from start to end, both included (torch.linspace). */
export function linspace(start: number, end: number, steps: number, options: CreationOptions = {}): Tensor {
  checkCreation('linspace', options);
  checkNumber('linspace', 'start', start);
  checkNumber('linspace', 'end', end);
  checkInteger('linspace', 'steps', steps, { min: 0 });
  const data = hostArray(options.dtype ?? 'float32', steps);
  const step = steps > 1 ? (end - start) / (steps - 1) : 0;
  // Like PyTorch, fill from both ends so that the last value is exactly `end`.
  const half = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) data[i] = i < half ? start + step * i : end - step * (steps - 1 - i);
  return finish(data, [steps], options);
}

/** An n x m matrix with ones on the diagonal. */
export function eye(n: number, m = n, options: CreationOptions = {}): Tensor {
  checkCreation('eye', options);
  checkInteger('eye', 'n', n, { min: 0 });
  checkInteger('eye', 'm', m, { min: 0 });
  const data = hostArray(options.dtype ?? 'float32', n * m);
  for (let i = 0; i < Math.min(n, m); i++) data[i * m + i] = 1;
  return finish(data, [n, m], options);
}

/** Uniform draws in [0, 1). */
export function rand(shape: readonly number[], options: RandomOptions = {}): Tensor {
  checkCreation('rand', options, RANDOM_KEYS);
  checkShape('rand', 'size', shape);
  const gen = options.generator ?? defaultGenerator;
  const data = hostArray(options.dtype ?? 'float32', numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = gen.random();
  return finish(data, shape, options);
}

/** Standard normal draws. */
export function randn(shape: readonly number[], options: RandomOptions = {}): Tensor {
  checkCreation('randn', options, RANDOM_KEYS);
  checkShape('randn', 'size', shape);
  const gen = options.generator ?? defaultGenerator;
  const data = hostArray(options.dtype ?? 'float32', numel(shape));
  gen.fillNormal(data);
  return finish(data, shape, options);
}

/** Uniform integers in [low, high) (int32 unless another dtype is asked for). */
export function randint(low: number, high: number, shape: readonly number[], options: RandomOptions = {}): Tensor {
  checkCreation('randint', options, RANDOM_KEYS);
  checkShape('randint', 'size', shape);
  checkInteger('randint', 'low', low);
  checkInteger('randint', 'high', high);
  if (!(high > low)) throw new Error(`randint: expected low < high, got low=${low}, high=${high}`);
  const gen = options.generator ?? defaultGenerator;
  const data = hostArray(options.dtype ?? 'int32', numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = gen.randint(low, high);
  return finish(data, shape, options);
}

/** A random permutation of 0..n-1 (Fisher-Yates). */
export function randperm(n: number, options: RandomOptions = {}): Tensor {
  checkCreation('randperm', options, RANDOM_KEYS);
  checkInteger('randperm', 'n', n, { min: 0 });
  const gen = options.generator ?? defaultGenerator;
  const data = hostArray(options.dtype ?? 'int32', n);
  for (let i = 0; i < n; i++) data[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = gen.randint(0, i + 1);
    const t = data[i];
    data[i] = data[j];
    data[j] = t;
  }
  return finish(data, [n], options);
}

export interface TruncNormalOptions extends RandomOptions {
  mean?: number;
  std?: number;
  /** Lower cut-off, in absolute units (PyTorch's trunc_normal_ default -2). */
  a?: number;
  /** Upper cut-off, in absolute units (default 2). */
  b?: number;
}

/**
 * Normal draws truncated to [a, b], exactly as PyTorch's trunc_normal_ samples them:
 * u ~ U[2 Phi((a-mean)/std) - 1, 2 Phi((b-mean)/std) - 1], x = mean + std sqrt(2) erfinv(u),
 * clamped to [a, b]. Note a and b are absolute bounds, not multiples of std.
 */
export function truncNormal(shape: readonly number[], options: TruncNormalOptions = {}): Tensor {
  checkCreation('truncNormal', options, [...RANDOM_KEYS, 'mean', 'std', 'a', 'b']);
  checkShape('truncNormal', 'size', shape);
  const { mean = 0, std = 1, a = -2, b = 2 } = options;
  checkNumber('truncNormal', 'mean', mean);
  if (!(std > 0)) throw new Error(`truncNormal: std must be positive, got ${std}`);
  if (!(a < b)) throw new Error(`truncNormal: expected a < b, got a=${a}, b=${b}`);
  const gen = options.generator ?? defaultGenerator;
  const cdf = (x: number) => (1 + erf((x - mean) / std / Math.SQRT2)) / 2;
  const lo = 2 * cdf(a) - 1;
  const hi = 2 * cdf(b) - 1;
  const data = hostArray(options.dtype ?? 'float32', numel(shape));
  if (lo === -1 && hi === 1) {
    // The bounds are so far out that Phi(a) = 0 and Phi(b) = 1 in double precision (as for
    // DINO's std 0.02 with +-2): the inverse-CDF draw is then exactly a standard normal, and
    // Box-Muller samples the same distribution several times faster than erfinv.
    gen.fillNormal(data, mean, std);
    for (let i = 0; i < data.length; i++) data[i] = Math.min(Math.max(data[i], a), b);
    return finish(data, shape, options);
  }
  for (let i = 0; i < data.length; i++) {
    const u = lo + (hi - lo) * gen.random();
    const x = mean + std * Math.SQRT2 * erfinv(u);
    data[i] = Math.min(Math.max(x, a), b);
  }
  return finish(data, shape, options);
}
