// The WebAssembly SIMD128 kernel of the float32 AdamW step (adamw-step.ts has the
// formulas), written out instruction by instruction:
//
//   adamw(bytes): over `bytes` of each of the four regions P, G, M, V (byte addresses below)
//     M = M + (G - M) w1;  V = V b2 + (G G) w2;  D = sqrt(V) / c2 + eps;  P = P decay + (M / D) stepSize
//
// four lanes at a time, each operation an IEEE float32 instruction (f32x4.sub, mul, add,
// div, sqrt), so the bits are those of the composed update's kernels. The seven scalars sit
// at the start of memory as float32 (adamwScalars gives them in order); the driver
// (adamw-step-wasm.ts) writes them and the regions.

import type { AdamWStepHyper } from '../../backend.js';
import { type FunctionDef, assembleModule, op } from '../wasm/assembler.js';

/** Elements per region per block (4 x 16 KiB stay in the L1/L2 caches). */
export const BLOCK = 4096;
/** The scalars' byte addresses; the regions follow them. */
const [DECAY, W1, B2, W2, C2, EPS, STEP] = [0, 4, 8, 12, 16, 20, 24];
export const SCALAR_BYTES = 32;

/** The step's scalars in the order of their addresses: decay, w1, b2, w2, c2, eps, stepSize. */
export function adamwScalars(h: AdamWStepHyper): number[] {
  return [1 - h.lr * h.weightDecay, 1 - h.beta1, h.beta2, 1 - h.beta2, Math.sqrt(1 - h.beta2 ** h.step), h.eps, -h.lr / (1 - h.beta1 ** h.step)];
}
/** Each region's start, in elements. */
export const REGIONS = [0, 1, 2, 3].map((i) => SCALAR_BYTES / 4 + i * BLOCK);
const [P, G, M, V] = REGIONS.map((r) => r * 4);

function adamwFunction(): FunctionDef {
  const [bytes, i, g, m, v] = [0, 1, 2, 3, 4];
  const scalar = (at: number) => [op.i32Const(0), op.v128Load32Splat(at)];
  const load = (region: number) => [op.localGet(i), op.v128Load(region)];
  return {
    name: 'adamw',
    params: ['i32'],
    locals: ['i32', 'v128', 'v128', 'v128'],
    body: [
      op.i32Const(0), op.localSet(i),
      op.loop,
      ...load(G), op.localSet(g),
      // m = m + (g - m) w1
      ...load(M), op.localSet(m),
      op.localGet(m), op.localGet(g), op.localGet(m), op.f32x4Sub, ...scalar(W1), op.f32x4Mul, op.f32x4Add, op.localSet(m),
      // v = v b2 + (g g) w2
      ...load(V), ...scalar(B2), op.f32x4Mul, op.localGet(g), op.localGet(g), op.f32x4Mul, ...scalar(W2), op.f32x4Mul, op.f32x4Add, op.localSet(v),
      op.localGet(i), op.localGet(m), op.v128Store(M),
      op.localGet(i), op.localGet(v), op.v128Store(V),
      // p = p decay + (m / (sqrt(v) / c2 + eps)) stepSize
      op.localGet(i),
      ...load(P), ...scalar(DECAY), op.f32x4Mul,
      op.localGet(m), op.localGet(v), op.f32x4Sqrt, ...scalar(C2), op.f32x4Div, ...scalar(EPS), op.f32x4Add, op.f32x4Div,
      ...scalar(STEP), op.f32x4Mul, op.f32x4Add,
      op.v128Store(P),
      op.localGet(i), op.i32Const(16), op.i32Add, op.localTee(i),
      op.localGet(bytes), op.i32LtU, op.brIf(0),
      op.end,
    ],
  };
}

/** The module's bytes: the exported function `adamw` and an exported `memory` that holds the scalars and the regions. */
export function adamwKernelModule(): Uint8Array<ArrayBuffer> {
  return assembleModule([adamwFunction()], Math.ceil((SCALAR_BYTES + 4 * BLOCK * 4) / 65536));
}
