// WebAssembly SIMD128 kernels for float32 elementwise ops on contiguous blocks, written out
// instruction by instruction:
//
//   add(a, b, out, bytes), sub, mul, div:  out[i] = a[i] op b[i]
//   gelu(a, b, out, bytes):                out[i] = 0.5 a[i] (1 + erf(a[i] / sqrt 2))   (b unused)
//   geluBackward(a, b, out, bytes):        out[i] = a[i] (Phi(b[i]) + b[i] phi(b[i])),
//                                          the GELU gradient, a the incoming gradient, b the input
//   addScaled(a, b, out, bytes):           out[i] = a[i] + b[i] s, s the four float32 copies the
//                                          driver writes at SCALAR_BYTE (add_ with alpha)
//   scaledSum(a, b, out, bytes):           out[i] = a[i] r + b[i] s, r at SECOND_SCALAR_BYTE
//                                          (the momentum teacher's update, ops/fused-ema.ts)
//
// four lanes at a time. a, b and out are byte addresses in the module's memory and `bytes` a
// positive multiple of 16 (the driver, elementwise-wasm.ts, pads). IEEE float32 arithmetic
// rounds once, and float64 arithmetic rounded to float32 (what the TypeScript loops compute)
// gives the same bits for +, -, *, /, so both paths agree exactly there; GELU uses the
// float32 erf and exp of f32x4-math.ts, within a few float32 ulps of the float64 loop.

import { type FunctionDef, assembleModule, op } from '../wasm/assembler.js';
import { type Code, Constants, erfF32x4, expF32x4 } from '../wasm/f32x4-math.js';

/** Locals of every kernel: the loaded a and b, then scratch. */
const [A, B] = [5, 6];
const SCRATCH = [7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17];

/** The module's vector constants, at the start of its memory. */
const K = new Constants();

const binary = (instruction: readonly number[]): Code => [op.localGet(A), op.localGet(B), instruction];

/** Where the driver writes the scalar of addScaled and scaledSum's s (four float32 copies), among the constants. */
export const SCALAR_BYTE = K.block([0, 0, 0, 0]);
/** Where the driver writes scaledSum's r (four float32 copies). */
export const SECOND_SCALAR_BYTE = K.block([0, 0, 0, 0]);

/** 0.5 (1 + erf(v / sqrt 2)), for the vector in local v (uses SCRATCH[0] and the rest). */
const normalCdf = (v: number): Code => [
  op.localGet(v), ...K.f32(Math.SQRT1_2), op.f32x4Mul, op.localSet(SCRATCH[0]),
  ...erfF32x4(K, SCRATCH[0], SCRATCH.slice(1)), ...K.f32(1), op.f32x4Add, ...K.f32(0.5), op.f32x4Mul,
];

export const SIMD_OPS = {
  add: binary(op.f32x4Add),
  sub: binary(op.f32x4Sub),
  mul: binary(op.f32x4Mul),
  div: binary(op.f32x4Div),
  addScaled: [op.localGet(A), op.localGet(B), op.i32Const(0), op.v128Load(SCALAR_BYTE), op.f32x4Mul, op.f32x4Add],
  scaledSum: [
    op.localGet(A), op.i32Const(0), op.v128Load(SECOND_SCALAR_BYTE), op.f32x4Mul,
    op.localGet(B), op.i32Const(0), op.v128Load(SCALAR_BYTE), op.f32x4Mul, op.f32x4Add,
  ],
  gelu: [...normalCdf(A), op.localGet(A), op.f32x4Mul],
  geluBackward: [
    ...normalCdf(B),
    // + b exp(-b^2 / 2) / sqrt(2 pi)
    op.localGet(B), op.localGet(B), op.f32x4Mul, ...K.f32(-0.5), op.f32x4Mul, op.localSet(SCRATCH[0]),
    ...expF32x4(K, SCRATCH[0], [SCRATCH[1], SCRATCH[2], SCRATCH[3]]), op.localGet(B), op.f32x4Mul,
    ...K.f32(1 / Math.sqrt(2 * Math.PI)), op.f32x4Mul, op.f32x4Add,
    op.localGet(A), op.f32x4Mul,
  ],
} as const satisfies Record<string, Code>;
export type SimdOp = keyof typeof SIMD_OPS;

/** How many inputs each op reads. */
export const SIMD_ARITY: Record<SimdOp, 1 | 2> = { add: 2, sub: 2, mul: 2, div: 2, addScaled: 2, scaledSum: 2, gelu: 1, geluBackward: 2 };

function elementwiseFunction(name: SimdOp): FunctionDef {
  const [a, b, out, bytes, i] = [0, 1, 2, 3, 4];
  const at = (base: number) => [op.localGet(base), op.localGet(i), op.i32Add];
  return {
    name,
    params: ['i32', 'i32', 'i32', 'i32'],
    locals: ['i32', 'v128', 'v128', ...SCRATCH.map(() => 'v128' as const)],
    body: [
      op.i32Const(0), op.localSet(i),
      op.loop,
      ...at(a), op.v128Load(0), op.localSet(A),
      ...(SIMD_ARITY[name] === 2 ? [...at(b), op.v128Load(0), op.localSet(B)] : []),
      ...at(out), ...SIMD_OPS[name], op.v128Store(0),
      op.localGet(i), op.i32Const(16), op.i32Add, op.localTee(i),
      op.localGet(bytes), op.i32LtU, op.brIf(0),
      op.end,
    ],
  };
}

/** Bytes at the start of memory that hold the kernels' constants: the driver's data go after them. */
export const CONSTANT_BYTES = K.byteLength;

/** The module's bytes: one exported function per op and an exported, growable `memory`. */
export function elementwiseKernelModule(initialPages: number): Uint8Array<ArrayBuffer> {
  return assembleModule((Object.keys(SIMD_OPS) as SimdOp[]).map(elementwiseFunction), initialPages, K.bytes());
}
