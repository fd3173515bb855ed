// The float32 AdamW step of adamw-step.ts on a WebAssembly SIMD128 kernel, four lanes at a
// time: the same formulas, each operation an IEEE float32 instruction (f32x4.sub, mul, add,
// div, sqrt), so the bits are those of the composed update's kernels, and about 6x faster
// than the TypeScript loop, where every rounding is a Math.fround call.
//
//   adamw(bytes): over `bytes` of each of the four regions P, G, M, V (byte addresses below)
//     M = M + (G - M) w1;  V = V b2 + (G G) w2;  D = sqrt(V) / c2 + eps;  P = P decay + (M / D) stepSize
//
// The seven scalars sit at the start of memory, as float32; the driver copies each block of
// p, grad, expAvg and expAvgSq in with a typed-array `set`, runs the kernel, and copies p
// and the moments back out.

import type { AdamWStepHyper } from '../../backend.js';
import { type FunctionDef, assembleModule, op } from '../wasm/assembler.js';
import { type WasmMemory, instantiate } from '../wasm/instantiate.js';

/** Elements per region per block (4 x 16 KiB stay in the L1/L2 caches). */
const BLOCK = 4096;
/** The scalars' byte addresses, then the regions' (in elements: after 16 bytes of scalars). */
const [DECAY, W1, B2, W2, C2, EPS, STEP] = [0, 4, 8, 12, 16, 20, 24];
const SCALAR_BYTES = 32;
const REGIONS = [0, 1, 2, 3].map((i) => SCALAR_BYTES / 4 + i * BLOCK);
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

let module: { adamw: (bytes: number) => void; mem: Float32Array } | null | undefined;

function kernel(): typeof module {
  if (module === undefined) {
    const exports = instantiate(assembleModule([adamwFunction()], Math.ceil((SCALAR_BYTES + 4 * BLOCK * 4) / 65536)));
    module = exports === null ? null : { adamw: exports.adamw as (bytes: number) => void, mem: new Float32Array((exports.memory as WasmMemory).buffer) };
  }
  return module;
}

/** Whether the SIMD AdamW kernel runs here (WebAssembly SIMD). */
export function wasmAdamWAvailable(): boolean {
  return kernel() !== null;
}

/** adamwStepContiguous for float32 arrays, on the SIMD kernel. */
export function adamwStepWasm(
  p: Float32Array, grad: Float32Array, expAvg: Float32Array, expAvgSq: Float32Array,
  [po, go, mo, vo]: readonly number[], n: number, h: AdamWStepHyper,
): void {
  const { adamw, mem } = kernel()!;
  mem.set([1 - h.lr * h.weightDecay, 1 - h.beta1, h.beta2, 1 - h.beta2, Math.sqrt(1 - h.beta2 ** h.step), h.eps, -h.lr / (1 - h.beta1 ** h.step)], 0);
  const [rp, rg, rm, rv] = REGIONS;
  for (let e = 0; e < n; e += BLOCK) {
    const len = Math.min(BLOCK, n - e);
    mem.set(p.subarray(po + e, po + e + len), rp);
    mem.set(grad.subarray(go + e, go + e + len), rg);
    mem.set(expAvg.subarray(mo + e, mo + e + len), rm);
    mem.set(expAvgSq.subarray(vo + e, vo + e + len), rv);
    adamw(Math.ceil(len / 4) * 16);
    p.set(mem.subarray(rp, rp + len), po + e);
    expAvg.set(mem.subarray(rm, rm + len), mo + e);
    expAvgSq.set(mem.subarray(rv, rv + len), vo + e);
  }
}
