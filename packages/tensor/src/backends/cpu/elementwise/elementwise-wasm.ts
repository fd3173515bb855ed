// Float32 add, sub, mul, div, a + b * s, a * r + b * s, gelu and its gradient on the WebAssembly SIMD kernels
// (elementwise-kernel.ts).
//
// The kernels read only their own memory, so the driver walks the output in blocks of
// BLOCK elements: it copies each input's block in with a typed-array `set` (a native
// memcpy), runs the kernel four lanes at a time, and copies the result out. That pays for
// loops that are plain runs once simplifyStrided has merged their dims: an index space
// [n] or [rows, n] with a contiguous output, where every input is
//   'contiguous'  the same layout as the output,
//   'row'         one row of n elements repeated over the rows (a bias), n <= BLOCK,
//   'column'      one value per row, repeated along it (a per-sample drop-path scale, a
//                 norm dividing each row), or
//   'scalar'      one value everywhere.
// A 'row' input is laid out once per call as the row repeated BLOCK + n elements long, so
// that the block starting at element e reads it from position e mod n onwards; a 'scalar'
// is filled in once; a 'column' is filled in per block, one run per row the block touches.
// Everything else stays on the strided loop (elementwise.ts).

import type { TypedArray } from '../../../dtype.js';
import type { StridedArgs } from './elementwise.js';
import { CONSTANT_BYTES, SCALAR_BYTE, SECOND_SCALAR_BYTE, SIMD_OPS, type SimdOp, elementwiseKernelModule } from './elementwise-kernel.js';
import { lazyModule } from '../wasm/instantiate.js';

export type SimdInput = 'contiguous' | 'row' | 'column' | 'scalar';

/** Elements per operand per block (3 x 16 KiB stay in the L1/L2 caches). */
const BLOCK = 4096;
/** Each operand's region: a block, plus room for a 'row' input's phase. */
const REGION = 2 * BLOCK;
/** Where the regions start, in elements: after the kernels' constants. */
const BASE = Math.ceil(CONSTANT_BYTES / 64) * 16;

type Kernel = (a: number, b: number, out: number, bytes: number) => void;

const kernels = lazyModule(
  () => elementwiseKernelModule(Math.ceil(((BASE + 3 * REGION) * 4) / 65536)),
  (exports, memory) => ({ kernels: exports as unknown as Record<SimdOp, Kernel>, mem: new Float32Array(memory.buffer) }),
);

/** Whether `op` on float32 has a SIMD kernel here. */
export function wasmElementwiseAvailable(op: string): op is SimdOp {
  return op in SIMD_OPS && kernels() !== null;
}

/** How each input of a simplified unary or binary loop is read, when the SIMD kernels can run it; else null. */
export function wasmPlan({ shape, operands }: StridedArgs): SimdInput[] | null {
  if (shape.length === 0 || shape.length > 2) return null;
  const n = shape[shape.length - 1];
  const outerStride = (s: readonly number[]) => (shape.length === 2 ? s[0] : 0);
  const [out, ...inputs] = operands;
  if (out.strides[shape.length - 1] !== 1 || (shape.length === 2 && out.strides[0] !== n)) return null;
  const plan = inputs.map((o): SimdInput | null => {
    const inner = o.strides[shape.length - 1];
    const outer = outerStride(o.strides);
    if (inner === 1 && (shape.length === 1 || outer === n)) return 'contiguous';
    if (inner === 1 && outer === 0 && shape.length === 2 && n <= BLOCK) return 'row';
    if (inner === 0 && outer === 0) return 'scalar';
    if (inner === 0 && shape.length === 2) return 'column';
    return null;
  });
  return plan.every((p) => p !== null) ? (plan as SimdInput[]) : null;
}

export interface SimdArgs extends StridedArgs {
  readonly op: SimdOp;
  readonly plan: readonly SimdInput[];
}

/** Runs the loop on indices [begin, end) of its outermost dim (rows, or elements of a 1-d loop). */
export function elementwiseSlabWasm(args: SimdArgs, begin: number, end: number): void {
  const { kernels: k, mem } = kernels()!;
  const { shape, operands, plan } = args;
  const n = shape.length === 2 ? shape[1] : 1;
  const first = begin * n;
  const last = Math.min(end, shape[0]) * n;
  const [out, a, b] = operands;
  const regions = [BASE, BASE + REGION, BASE + 2 * REGION];
  const inputs = [a, b];
  // 'row' and 'scalar' inputs are laid out once per call
  plan.forEach((kind, i) => {
    const { data, offset } = inputs[i];
    if (kind === 'scalar') mem.fill(data[offset], regions[i], regions[i] + BLOCK);
    if (kind === 'row') for (let p = 0; p < BLOCK + n; p += n) mem.set(data.subarray(offset, offset + Math.min(n, BLOCK + n - p)), regions[i] + p);
  });
  if (args.op === 'addScaled') mem.fill(args.params[0], SCALAR_BYTE / 4, SCALAR_BYTE / 4 + 4);
  if (args.op === 'scaledSum') {
    mem.fill(args.params[0], SECOND_SCALAR_BYTE / 4, SECOND_SCALAR_BYTE / 4 + 4);
    mem.fill(args.params[1], SCALAR_BYTE / 4, SCALAR_BYTE / 4 + 4);
  }
  const run = k[args.op];
  for (let e = first; e < last; e += BLOCK) {
    const len = Math.min(BLOCK, last - e);
    const at = [regions[0], regions[plan.length - 1]]; // a unary kernel ignores its second input
    plan.forEach((kind, i) => {
      const { data, offset, strides } = inputs[i];
      if (kind === 'contiguous') mem.set(data.subarray(offset + e, offset + e + len), regions[i]);
      else if (kind === 'row') at[i] += e % n;
      else if (kind === 'column') {
        for (let pos = e; pos < e + len; pos = (Math.floor(pos / n) + 1) * n) {
          const row = Math.floor(pos / n);
          mem.fill(data[offset + row * strides[0]], regions[i] + pos - e, regions[i] + Math.min(e + len, (row + 1) * n) - e);
        }
      }
    });
    run(at[0] * 4, at[1] * 4, regions[2] * 4, Math.ceil(len / 4) * 16);
    (out.data as TypedArray).set(mem.subarray(regions[2], regions[2] + len), out.offset + e);
  }
}
