// The float32 AdamW step of adamw-step.ts on the WebAssembly SIMD kernel of
// adamw-step-kernel.ts: the same bits, about 4x faster than the TypeScript loop, where every
// rounding is a Math.fround call. The driver writes the step's scalars into the module's
// memory, copies each block of p, grad, expAvg and expAvgSq in with a typed-array `set`,
// runs the kernel, and copies p and the moments back out.

import type { AdamWStepHyper } from '../../backend.js';
import { lazyModule } from '../wasm/instantiate.js';
import { BLOCK, REGIONS, adamwKernelModule, adamwScalars } from './adamw-step-kernel.js';

const kernel = lazyModule(adamwKernelModule, (exports, memory) => ({ adamw: exports.adamw as (bytes: number) => void, mem: new Float32Array(memory.buffer) }));

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
  mem.set(adamwScalars(h), 0); // rounded to float32 as they are stored, as the composed ops round their scalars
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
