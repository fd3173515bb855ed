// Element types and PyTorch's type-promotion rule.
//
// A tensor's dtype fixes the typed array behind its storage. Binary ops promote
// along bool < int32 < float32 < float64 (torch.result_type for these four types);
// a plain JS number operand never widens a floating tensor (x * 2 stays float32),
// but a fractional number turns an integer tensor into float32, as in PyTorch.

export type DType = 'float32' | 'float64' | 'int32' | 'bool';

export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;

export const DTYPES: readonly DType[] = ['bool', 'int32', 'float32', 'float64'];

const RANK: Record<DType, number> = { bool: 0, int32: 1, float32: 2, float64: 3 };

export function isFloatingPoint(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64';
}

/** The common dtype of two tensor operands (torch.promote_types). */
export function promoteTypes(a: DType, b: DType): DType {
  return RANK[a] >= RANK[b] ? a : b;
}

/** The dtype of `tensor op number` (torch.result_type with a Python scalar). */
export function promoteWithScalar(dtype: DType, scalar: number | boolean): DType {
  if (typeof scalar === 'boolean') return dtype;
  if (isFloatingPoint(dtype)) return dtype;
  if (!Number.isInteger(scalar)) return 'float32';
  return dtype === 'bool' ? 'int32' : dtype;
}

/** Whether a result of dtype `from` may be stored into a tensor of dtype `to` (torch.can_cast). */
export function canCast(from: DType, to: DType): boolean {
  if (isFloatingPoint(from) && !isFloatingPoint(to)) return false;
  return !(from !== 'bool' && to === 'bool');
}

export function typedArrayFor(dtype: DType, length: number, shared = false): TypedArray {
  const bytes = length * BYTES_PER_ELEMENT[dtype];
  return typedArrayOver(dtype, shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
}

/** The typed array of `dtype` over all of `buffer`. */
export function typedArrayOver(dtype: DType, buffer: ArrayBufferLike): TypedArray {
  switch (dtype) {
    case 'float32': return new Float32Array(buffer);
    case 'float64': return new Float64Array(buffer);
    case 'int32': return new Int32Array(buffer);
    case 'bool': return new Uint8Array(buffer);
  }
}

export const BYTES_PER_ELEMENT: Record<DType, number> = { float32: 4, float64: 8, int32: 4, bool: 1 };

/** The dtype whose storage is this typed array. */
export function dtypeOfArray(data: TypedArray): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  return 'bool';
}

/** Converts a JS number to what a store into `dtype` keeps (Math.fround for float32, truncation for int32). */
export function castScalar(value: number, dtype: DType): number {
  switch (dtype) {
    case 'float32': return Math.fround(value);
    case 'float64': return value;
    case 'int32': return value | 0;
    case 'bool': return value !== 0 ? 1 : 0;
  }
}
