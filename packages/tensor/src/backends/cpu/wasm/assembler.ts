// A tiny WebAssembly assembler: enough of the binary format to write one module with a
// few functions over one exported memory, from TypeScript, with no external toolchain.
//
// A module is a magic number and version, then sections, each `id, byte length, body`:
//   1 type (function signatures), 3 function (signature index of each body),
//   5 memory (one memory, min/max in 64 KiB pages), 7 export (name -> function/memory),
//   10 code (per body: locals as run-length `count, type`, then instructions, `end`),
//   11 data (bytes copied into memory at instantiation).
// Integers are LEB128: 7 bits per byte, low bits first, high bit set on all bytes but
// the last (signed LEB128 for i32.const immediates, unsigned everywhere else).
// SIMD instructions are the prefix 0xfd followed by their opcode as unsigned LEB128.
// Memory accesses carry a `memarg`: log2 of the alignment, then a constant byte offset.
// Reference: the WebAssembly core specification, chapter 5 (binary format), and the
// SIMD proposal's BinarySIMD.md for the 0xfd opcodes.

export type ValueType = 'i32' | 'f32' | 'f64' | 'v128';

const VALUE_TYPE: Record<ValueType, number> = { i32: 0x7f, f32: 0x7d, f64: 0x7c, v128: 0x7b };

/** Unsigned LEB128. */
export function uleb(n: number): number[] {
  const bytes: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    bytes.push(byte);
  } while (n !== 0);
  return bytes;
}

/** Signed LEB128 of a 32-bit integer. */
export function sleb(n: number): number[] {
  const bytes: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    bytes.push(done ? byte : byte | 0x80);
    if (done) return bytes;
  }
}

/** The instructions the kernels use; each returns its encoded bytes. */
export const op = {
  block: [0x02, 0x40], // 0x40: the block yields no value
  loop: [0x03, 0x40],
  if: [0x04, 0x40],
  /** An `if` whose branches each leave one f32 (or f64) on the stack. */
  ifF32: [0x04, 0x7d],
  ifF64: [0x04, 0x7c],
  else: [0x05],
  end: [0x0b],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  localGet: (i: number) => [0x20, ...uleb(i)],
  localSet: (i: number) => [0x21, ...uleb(i)],
  localTee: (i: number) => [0x22, ...uleb(i)],
  i32Const: (n: number) => [0x41, ...sleb(n)],
  i32Eqz: [0x45],
  i32Eq: [0x46],
  i32LtU: [0x49],
  i32GeU: [0x4f],
  i32Add: [0x6a],
  i32Sub: [0x6b],
  i32Mul: [0x6c],
  i32And: [0x71],
  i32Shl: [0x74],
  f32Load: (offset: number) => [0x2a, 2, ...uleb(offset)],
  f32Store: (offset: number) => [0x38, 2, ...uleb(offset)],
  f32Const: (value: number) => [0x43, ...new Uint8Array(Float32Array.of(value).buffer)],
  f64Load: (offset: number) => [0x2b, 3, ...uleb(offset)],
  f64Store: (offset: number) => [0x39, 3, ...uleb(offset)],
  f64Const: (value: number) => [0x44, ...new Uint8Array(Float64Array.of(value).buffer)],
  /** memory.copy(dst, src, bytes) within memory 0, with memmove semantics (bulk memory). */
  memoryCopy: [0xfc, ...uleb(10), 0, 0],
  f32Eq: [0x5b],
  f32Sqrt: [0x91],
  f32Add: [0x92],
  f32Sub: [0x93],
  f32Mul: [0x94],
  f32Div: [0x95],
  f32Max: [0x97],
  f32ConvertI32U: [0xb3],
  f64ConvertI32U: [0xb8],
  /** select(a, b, condition) = condition ? a : b */
  select: [0x1b],
  /** v128.load with `offset` bytes added to the address on the stack (alignment hint 16). */
  v128Load: (offset: number) => [0xfd, ...uleb(0x00), 4, ...uleb(offset)],
  v128Store: (offset: number) => [0xfd, ...uleb(0x0b), 4, ...uleb(offset)],
  /** Loads one 4-byte (or 8-byte) scalar and copies it into every lane. */
  v128Load32Splat: (offset: number) => [0xfd, ...uleb(0x09), 2, ...uleb(offset)],
  v128Load64Splat: (offset: number) => [0xfd, ...uleb(0x0a), 3, ...uleb(offset)],
  v128Zero: [0xfd, ...uleb(0x0c), ...new Array<number>(16).fill(0)],
  /** A constant vector: four float32 (or int32) copies of `value`. */
  f32x4Const: (value: number) => [0xfd, ...uleb(0x0c), ...new Uint8Array(Float32Array.of(value, value, value, value).buffer)],
  i32x4Const: (value: number) => [0xfd, ...uleb(0x0c), ...new Uint8Array(Int32Array.of(value, value, value, value).buffer)],
  f32x4Splat: [0xfd, ...uleb(0x13)],
  f32x4ExtractLane: (lane: number) => [0xfd, ...uleb(0x1f), lane],
  f32x4Lt: [0xfd, ...uleb(0x43)],
  f32x4Ge: [0xfd, ...uleb(0x46)],
  v128And: [0xfd, ...uleb(0x4e)],
  /** a & ~b */
  v128AndNot: [0xfd, ...uleb(0x4f)],
  v128Or: [0xfd, ...uleb(0x50)],
  /** bitselect(a, b, mask) = (a & mask) | (b & ~mask) */
  v128Bitselect: [0xfd, ...uleb(0x52)],
  /** 1 if any bit of the vector is set */
  v128AnyTrue: [0xfd, ...uleb(0x53)],
  i32x4Shl: [0xfd, ...uleb(0xab)],
  i32x4Add: [0xfd, ...uleb(0xae)],
  f32x4Abs: [0xfd, ...uleb(0xe0)],
  f32x4Sqrt: [0xfd, ...uleb(0xe3)],
  f32x4Add: [0xfd, ...uleb(0xe4)],
  f32x4Sub: [0xfd, ...uleb(0xe5)],
  f32x4Mul: [0xfd, ...uleb(0xe6)],
  f32x4Div: [0xfd, ...uleb(0xe7)],
  /** pmin(a, b) = b < a ? b : a, and pmax(a, b) = a < b ? b : a: one instruction each on x86 (a NaN in a is kept, one in b is not) */
  f32x4Pmin: [0xfd, ...uleb(0xea)],
  f32x4Pmax: [0xfd, ...uleb(0xeb)],
  /** shuffle(a, b): lane i of the result is byte lanes[i] of a's and b's 32 bytes */
  i8x16Shuffle: (lanes: readonly number[]) => [0xfd, ...uleb(0x0d), ...lanes],
  /** Lanes 0 and 1 of a float32 vector widened (exactly) to float64. */
  f64x2PromoteLowF32x4: [0xfd, ...uleb(0x5f)],
  f64x2Add: [0xfd, ...uleb(0xf0)],
  f64x2Sub: [0xfd, ...uleb(0xf1)],
  f64x2Mul: [0xfd, ...uleb(0xf2)],
  f64x2Div: [0xfd, ...uleb(0xf3)],
  f64x2Splat: [0xfd, ...uleb(0x14)],
  /** Both float64 lanes rounded (to nearest, ties to even) to float32, in lanes 0 and 1; lanes 2 and 3 zero. */
  f32x4DemoteF64x2Zero: [0xfd, ...uleb(0x5e)],
  /**
   * Relaxed SIMD: relaxed_madd(a, b, c) = a * b + c, rounded once (a fused multiply-add)
   * where the hardware has one, else twice; which of the two is up to the engine.
   */
  f32x4RelaxedMadd: [0xfd, ...uleb(0x105)],
  f64x2RelaxedMadd: [0xfd, ...uleb(0x107)],
} as const;

/**
 * The end of a counting loop: `counter` += step, and back to the loop's start while it is
 * below the local `limit` (unsigned); then the loop's `end`.
 */
export function loopWhileBelow(counter: number, step: number, limit: number): (readonly number[])[] {
  return [op.localGet(counter), op.i32Const(step), op.i32Add, op.localTee(counter), op.localGet(limit), op.i32LtU, op.brIf(0), op.end];
}

/** Lanes 2 and 3 of the float32 vector in local `v`, widened (exactly) to float64: moved to lanes 0 and 1 by a shuffle, then promoted. */
export function promoteHighF32x4(v: number): (readonly number[])[] {
  return [op.localGet(v), op.localGet(v), op.i8x16Shuffle([8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7]), op.f64x2PromoteLowF32x4];
}

export interface FunctionDef {
  readonly name: string;
  readonly params: readonly ValueType[];
  /** Locals after the parameters; local indices count parameters first. */
  readonly locals: readonly ValueType[];
  /** The instructions, without the final `end`. */
  readonly body: readonly (readonly number[])[];
}

/** A module of `functions` (no results) and one memory exported as `memory`, starting with the bytes `data`. */
export function assembleModule(functions: readonly FunctionDef[], memoryPages: number, data: Uint8Array = new Uint8Array(0)): Uint8Array<ArrayBuffer> {
  const vec = (items: readonly (readonly number[])[]) => [...uleb(items.length), ...items.flat()];
  const name = (s: string) => [...uleb(s.length), ...[...s].map((c) => c.charCodeAt(0))];
  const section = (id: number, body: readonly number[]) => [id, ...uleb(body.length), ...body];

  const types = functions.map((f) => [0x60, ...vec(f.params.map((t) => [VALUE_TYPE[t]])), 0]);
  const code = functions.map((f) => {
    const locals = vec(f.locals.map((t) => [1, VALUE_TYPE[t]]));
    const body = [...locals, ...f.body.flat(), ...op.end];
    return [...uleb(body.length), ...body];
  });
  const exports = [
    ...functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]),
    [...name('memory'), 0x02, ...uleb(0)],
  ];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, // "\0asm"
    0x01, 0x00, 0x00, 0x00, // version 1
    ...section(1, vec(types)),
    ...section(3, vec(functions.map((_, i) => uleb(i)))),
    ...section(5, vec([[0x00, ...uleb(memoryPages)]])), // limits: min only, growable
    ...section(7, vec(exports)),
    ...section(10, vec(code)),
    // 11 data: one active segment for memory 0 at offset (i32.const 0)
    ...(data.length === 0 ? [] : section(11, vec([[0x00, ...op.i32Const(0), ...op.end, ...uleb(data.length), ...data]]))),
  ];
  return new Uint8Array(bytes);
}
