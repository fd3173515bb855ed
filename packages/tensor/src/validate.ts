// Argument checks for the public API, in one place.
//
// TypeScript's types vanish at run time, and JavaScript turns a wrong argument into a
// silent NaN or a TypeError from deep inside a kernel. Every public entry point (ops,
// creation, nn constructors, optimizers, the CLI) checks its arguments with these helpers,
// which name the op and the argument and say what was expected and what came, as
// PyTorch's argument parser does ("var(): argument 'unbiased' must be bool, not str").
// TypeError for a value of the wrong kind, RangeError for one out of range.

import { DTYPES, type DType } from './dtype.js';
import type { Device } from './storage.js';
import { Generator } from './random.js';
import { Tensor } from './tensor.js';

export const DEVICES: readonly Device[] = ['cpu', 'gpu'];

/** A value as an error message shows it: strings quoted, arrays and objects in brief, with their kind. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value}' (a string)`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `${String(value)} (a ${typeof value})`;
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return `[${value.slice(0, 8).map((v) => (typeof v === 'string' ? `'${v}'` : String(v))).join(', ')}${value.length > 8 ? ', ...' : ''}] (an array)`;
  if (typeof value === 'function') return 'a function';
  if (value instanceof Tensor) return `a Tensor of shape [${value.shape.join(', ')}] and dtype ${value.dtype}`;
  const name = (value as object).constructor?.name;
  return name && name !== 'Object' ? `a ${name}` : 'an object';
}

function fail(kind: 'type' | 'range', op: string, name: string, expected: string, value: unknown): never {
  const message = `${op}: argument '${name}' must be ${expected}, got ${describe(value)}`;
  throw kind === 'type' ? new TypeError(message) : new RangeError(message);
}

export interface NumberRange {
  /** Smallest allowed value (inclusive unless `minExclusive`). */
  min?: number;
  minExclusive?: boolean;
  /** Largest allowed value (inclusive unless `maxExclusive`). */
  max?: number;
  maxExclusive?: boolean;
  /** Accept NaN (a fill value may be NaN, a size or a rate may not). */
  allowNaN?: boolean;
}

/** 'a number >= 0 and < 1', 'an integer >= 1', 'a finite number > 0' (max < Infinity reads as finite). */
function expectedText(noun: string, { min, minExclusive, max, maxExclusive }: NumberRange): string {
  const finite = max === Infinity && maxExclusive;
  const lo = min === undefined ? '' : `${minExclusive ? '>' : '>='} ${min}`;
  const hi = max === undefined || finite ? '' : `${maxExclusive ? '<' : '<='} ${max}`;
  const article = finite || noun === 'number' ? 'a' : 'an';
  return [`${article} ${finite ? 'finite ' : ''}${noun}`, [lo, hi].filter((s) => s !== '').join(' and ')].filter((s) => s !== '').join(' ');
}

function inRange(v: number, { min, minExclusive, max, maxExclusive }: NumberRange): boolean {
  if (min !== undefined && (minExclusive ? !(v > min) : !(v >= min))) return false;
  return !(max !== undefined && (maxExclusive ? !(v < max) : !(v <= max)));
}

/** A number (not NaN unless allowed) within `range`; infinities pass unless the range excludes them. */
export function checkNumber(op: string, name: string, value: unknown, range: NumberRange = {}): number {
  if (typeof value !== 'number' || (Number.isNaN(value) && !range.allowNaN)) fail('type', op, name, 'a number', value);
  if (Number.isNaN(value)) return value;
  if (!inRange(value, range)) fail('range', op, name, expectedText('number', range), value);
  return value;
}

/** An integer within `range`. */
export function checkInteger(op: string, name: string, value: unknown, range: NumberRange = {}): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) fail('type', op, name, 'an integer', value);
  if (!inRange(value, range)) fail('range', op, name, expectedText('integer', range), value);
  return value;
}

export function checkBoolean(op: string, name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') fail('type', op, name, 'a boolean (true or false)', value);
  return value;
}

export function checkString(op: string, name: string, value: unknown): string {
  if (typeof value !== 'string') fail('type', op, name, 'a string', value);
  return value;
}

/** One of a fixed set of strings. */
export function checkChoice<C extends string>(op: string, name: string, value: unknown, choices: readonly C[]): C {
  if (!(choices as readonly unknown[]).includes(value)) fail(typeof value === 'string' ? 'range' : 'type', op, name, `one of ${choices.map((c) => `'${c}'`).join(', ')}`, value);
  return value as C;
}

export function checkDType(op: string, value: unknown, name = 'dtype'): DType {
  return checkChoice(op, name, value, DTYPES);
}

export function checkDevice(op: string, value: unknown, name = 'device'): Device {
  return checkChoice(op, name, value, DEVICES);
}

/**
 * A value that a store into `dtype` keeps without overflow: int32 refuses values outside
 * [-2^31, 2^31) and non-finite ones (PyTorch: "value cannot be converted to type int32_t
 * without overflow"); fractions truncate, as PyTorch's casts do.
 */
export function checkFitsDType(op: string, value: number, dtype: DType, where = ''): void {
  if (dtype !== 'int32') return;
  if (!(value >= -2147483648 && value < 2147483648)) {
    throw new RangeError(`${op}: value ${value}${where} cannot be converted to int32 without overflow (int32 holds -2147483648..2147483647)`);
  }
}

/** A list of non-negative integer sizes. */
export function checkShape(op: string, name: string, value: unknown): readonly number[] {
  if (!Array.isArray(value) || !value.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0)) {
    fail('type', op, name, 'a list of non-negative integer sizes', value);
  }
  return value;
}

/** A dim argument: an integer, or (with `list`) a list of integers; undefined passes. */
export function checkDimArg(op: string, value: unknown, { list = true, name = 'dim' } = {}): void {
  if (value === undefined) return;
  if (typeof value === 'number' && Number.isInteger(value)) return;
  if (list && Array.isArray(value) && value.every((d) => typeof d === 'number' && Number.isInteger(d))) return;
  fail('type', op, name, list ? 'an integer or a list of integers' : 'an integer', value);
}

/**
 * An options object (undefined gives {}) whose keys are all among `keys`: a misspelt
 * option is an error rather than a silently ignored default.
 */
export function checkOptions<T extends object>(op: string, options: T | undefined, keys: readonly string[], name = 'options'): T {
  if (options === undefined) return {} as T;
  if (typeof options !== 'object' || options === null || Array.isArray(options) || options instanceof Tensor) {
    fail('type', op, name, `an options object with keys among ${keys.join(', ')}`, options);
  }
  for (const key of Object.keys(options)) {
    if (!keys.includes(key)) {
      throw new TypeError(`${op}: unknown option '${key}' (expected ${keys.length === 0 ? 'no options' : `one of ${keys.join(', ')}`})`);
    }
  }
  return options;
}

export function checkTensor(op: string, name: string, value: unknown): Tensor {
  if (!(value instanceof Tensor)) fail('type', op, name, 'a Tensor', value);
  return value;
}

/** A random Generator, or undefined (the default generator). */
export function checkGenerator(op: string, value: unknown, name = 'generator'): Generator | undefined {
  if (value !== undefined && !(value instanceof Generator)) fail('type', op, name, 'a Generator', value);
  return value;
}

/** A Tensor, a number or a boolean: what ops accept where PyTorch accepts a tensor or a Python scalar. */
export function checkTensorLike(op: string, name: string, value: unknown): void {
  if (!(value instanceof Tensor) && typeof value !== 'number' && typeof value !== 'boolean') fail('type', op, name, 'a Tensor, a number or a boolean', value);
}
