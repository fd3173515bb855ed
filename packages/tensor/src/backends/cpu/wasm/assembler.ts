// A tiny WebAssembly assembler: enough of the binary format to write one module with a
// few functions over one exported memory, from TypeScript, with no external toolchain.
//
// A module is a magic number and version, then sections, each `id, byte length, body`:
//   1 type (function signatures), 3 function (signature index of each body),
//   5 memory (one memory, min/max in 64 KiB pages), 7 export (name -> function/memory),
//   10 code (per body: locals as run-length `count, type`, then instructions, `end`).
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
  else: [0x05],
  end: [0x0b],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  localGet: (i: number) => [0x20, ...uleb(i)],
  localSet: (i: number) => [0x21, ...uleb(i)],
  localTee: (i: number) => [0x22, ...uleb(i)],
  i32Const: (n: number) => [0x41, ...sleb(n)],
  i32Eqz: [0x45],
  i32LtU: [0x49],
  i32Add: [0x6a],
  i32Sub: [0x6b],
  i32Mul: [0x6c],
  /** v128.load with `offset` bytes added to the address on the stack (alignment hint 16). */
  v128Load: (offset: number) => [0xfd, ...uleb(0x00), 4, ...uleb(offset)],
  v128Store: (offset: number) => [0xfd, ...uleb(0x0b), 4, ...uleb(offset)],
  /** Loads one 4-byte (or 8-byte) scalar and copies it into every lane. */
  v128Load32Splat: (offset: number) => [0xfd, ...uleb(0x09), 2, ...uleb(offset)],
  v128Load64Splat: (offset: number) => [0xfd, ...uleb(0x0a), 3, ...uleb(offset)],
  v128Zero: [0xfd, ...uleb(0x0c), ...new Array<number>(16).fill(0)],
  f32x4Add: [0xfd, ...uleb(0xe4)],
  f32x4Sub: [0xfd, ...uleb(0xe5)],
  f32x4Mul: [0xfd, ...uleb(0xe6)],
  f32x4Div: [0xfd, ...uleb(0xe7)],
  f64x2Add: [0xfd, ...uleb(0xf0)],
  f64x2Mul: [0xfd, ...uleb(0xf2)],
} as const;

export interface FunctionDef {
  readonly name: string;
  readonly params: readonly ValueType[];
  /** Locals after the parameters; local indices count parameters first. */
  readonly locals: readonly ValueType[];
  /** The instructions, without the final `end`. */
  readonly body: readonly (readonly number[])[];
}

/** A module of `functions` (no results) and one memory exported as `memory`. */
export function assembleModule(functions: readonly FunctionDef[], memoryPages: number): Uint8Array<ArrayBuffer> {
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
  ];
  return new Uint8Array(bytes);
}
