// The fused AdamW step over a range of a parameter's elements, the unit the thread pool
// splits: the SIMD kernel (adamw-step-wasm.ts) for float32 where it runs, else the
// TypeScript loop (adamw-step.ts). Elements are independent, so the bits do not depend on
// how the range is cut.

import type { TypedArray } from '../../../dtype.js';
import type { AdamWStepHyper } from '../../backend.js';
import { adamwStepContiguous } from './adamw-step.js';
import { adamwStepWasm, wasmAdamWAvailable } from './adamw-step-wasm.js';

export interface AdamWStepArgs {
  readonly p: TypedArray;
  readonly grad: TypedArray;
  readonly expAvg: TypedArray;
  readonly expAvgSq: TypedArray;
  /** Where each array's first element is. */
  readonly offsets: readonly [number, number, number, number];
  readonly hyper: AdamWStepHyper;
  /** Whether to use the SIMD kernel for float32 (false: the TypeScript loop). */
  readonly simd: boolean;
}

/** The step for elements [begin, end). */
export function adamwStepPart({ p, grad, expAvg, expAvgSq, offsets, hyper, simd }: AdamWStepArgs, begin: number, end: number): void {
  const at = offsets.map((o) => o + begin) as [number, number, number, number];
  if (simd && p instanceof Float32Array && wasmAdamWAvailable()) adamwStepWasm(p, grad as Float32Array, expAvg as Float32Array, expAvgSq as Float32Array, at, end - begin, hyper);
  else adamwStepContiguous(p, grad, expAvg, expAvgSq, at, end - begin, hyper);
}
