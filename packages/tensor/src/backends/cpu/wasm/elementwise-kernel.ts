// WebAssembly SIMD128 kernels for float32 arithmetic on contiguous blocks, written out
// instruction by instruction:
//
//   add(a, b, out, bytes), sub, mul, div:  out[i] = a[i] op b[i], four lanes at a time
//
// a, b and out are byte addresses in the module's memory and `bytes` a positive multiple
// of 16 (the driver, elementwise-simd.ts, pads). IEEE float32 arithmetic rounds once, and
// float64 arithmetic rounded to float32 (what the TypeScript loops compute) gives the same
// bits for +, -, *, /, so both paths agree exactly.

import { type FunctionDef, assembleModule, op } from './assembler.js';

export const SIMD_BINARY_OPS = { add: op.f32x4Add, sub: op.f32x4Sub, mul: op.f32x4Mul, div: op.f32x4Div } as const;
export type SimdBinaryOp = keyof typeof SIMD_BINARY_OPS;

function binaryFunction(name: SimdBinaryOp): FunctionDef {
  const [a, b, out, bytes, i] = [0, 1, 2, 3, 4];
  const at = (base: number) => [op.localGet(base), op.localGet(i), op.i32Add];
  return {
    name,
    params: ['i32', 'i32', 'i32', 'i32'],
    locals: ['i32'],
    body: [
      op.i32Const(0), op.localSet(i),
      op.loop,
      ...at(out), ...at(a), op.v128Load(0), ...at(b), op.v128Load(0), SIMD_BINARY_OPS[name], op.v128Store(0),
      op.localGet(i), op.i32Const(16), op.i32Add, op.localTee(i),
      op.localGet(bytes), op.i32LtU, op.brIf(0),
      op.end,
    ],
  };
}

/** The module's bytes: one exported function per op and an exported, growable `memory`. */
export function elementwiseKernelModule(initialPages: number): Uint8Array<ArrayBuffer> {
  return assembleModule((Object.keys(SIMD_BINARY_OPS) as SimdBinaryOp[]).map(binaryFunction), initialPages);
}
