// The float32 chunk sums of sum-chunks.ts on WebAssembly SIMD, with the same bits:
//
//   sum(bytes):         (s0, s1, s2, s3) = the float64 sums of x[i] for i mod 4 = 0, 1, 2, 3
//   sumSquares(bytes):  the same for the squares x[i] * x[i], each rounded to float32
//
// over the first `bytes` of the module's input region (a multiple of 16). Four float32
// lanes are loaded at a time; lanes 0 and 1 are widened exactly to float64
// (f64x2.promote_low_f32x4) and added to one pair of running sums, lanes 2 and 3 (moved low
// by a shuffle) to the other: each running sum takes the same terms in the same order as
// the TypeScript loop's s0 .. s3, and float32 -> float64 widening and the float32 square
// (f32x4.mul, one IEEE rounding: what Math.fround(a * a) gives, a * a being exact in
// float64) are exact matches, so the sums are bit for bit those of sumRun and
// sumFloat32Squares. The driver copies the chunk in with a typed-array `set` and adds the
// tail of fewer than four elements itself.
//
// Why: V8 ran the TypeScript loops at 2.4-2.8 ns an element inside the DINO step (its
// optimised code specialised for the double-valued bounds the thread pool hands over),
// where the copy and the SIMD loop take about 0.5.

import { type FunctionDef, assembleModule, op } from '../wasm/assembler.js';
import { type WasmMemory, instantiate } from '../wasm/instantiate.js';

/** Elements per call: one chunk of sum-chunks.ts (SUM_CHUNK). */
const CAPACITY = 1 << 16;
/** Byte addresses: the four float64 sums, then the input region. */
const SUMS = 0;
const INPUT = 64;

/** sum or sumSquares (see the header). */
function sumFunction(name: 'sum' | 'sumSquares'): FunctionDef {
  const [bytes, i, low, high, v] = [0, 1, 2, 3, 4];
  // lanes 2 and 3 (bytes 8 .. 15) moved to lanes 0 and 1; the upper half is not used
  const upperHalf = op.i8x16Shuffle([8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7]);
  const promoteLow = op.f64x2PromoteLowF32x4;
  return {
    name,
    params: ['i32'],
    locals: ['i32', 'v128', 'v128', 'v128'],
    body: [
      op.v128Zero, op.localSet(low),
      op.v128Zero, op.localSet(high),
      op.i32Const(0), op.localSet(i),
      op.block,
      op.localGet(bytes), op.i32Eqz, op.brIf(0),
      op.loop,
      op.localGet(i), op.v128Load(INPUT),
      ...(name === 'sumSquares' ? [op.localTee(v), op.localGet(v), op.f32x4Mul] : []),
      op.localTee(v), promoteLow, op.localGet(low), op.f64x2Add, op.localSet(low),
      op.localGet(v), op.localGet(v), upperHalf, promoteLow, op.localGet(high), op.f64x2Add, op.localSet(high),
      op.localGet(i), op.i32Const(16), op.i32Add, op.localTee(i),
      op.localGet(bytes), op.i32LtU, op.brIf(0),
      op.end,
      op.end,
      op.i32Const(SUMS), op.localGet(low), op.v128Store(0),
      op.i32Const(SUMS), op.localGet(high), op.v128Store(16),
    ],
  };
}

let module: { sum: (bytes: number) => void; sumSquares: (bytes: number) => void; input: Float32Array; sums: Float64Array } | null | undefined;

function kernels(): typeof module {
  if (module === undefined) {
    const exports = instantiate(assembleModule([sumFunction('sum'), sumFunction('sumSquares')], Math.ceil((INPUT + CAPACITY * 4) / 65536)));
    if (exports === null) module = null;
    else {
      const buffer = (exports.memory as WasmMemory).buffer;
      module = {
        sum: exports.sum as (bytes: number) => void,
        sumSquares: exports.sumSquares as (bytes: number) => void,
        input: new Float32Array(buffer, INPUT, CAPACITY),
        sums: new Float64Array(buffer, SUMS, 4),
      };
    }
  }
  return module;
}

/** Whether the SIMD chunk sums run here (WebAssembly SIMD). */
export function wasmSumChunksAvailable(): boolean {
  return kernels() !== null;
}

/**
 * sumRun (squares false) or sumFloat32Squares (squares true) of sum-chunks.ts on
 * data[first .. last), at most CAPACITY elements, with the same bits.
 */
export function sumRunWasm(data: Float32Array, first: number, last: number, squares: boolean): number {
  const { sum, sumSquares, input, sums } = kernels()!;
  const n = last - first;
  if (n > CAPACITY) throw new Error(`sumRunWasm: ${n} elements, more than one chunk of ${CAPACITY}`);
  const whole = n & ~3;
  input.set(data.subarray(first, first + whole));
  (squares ? sumSquares : sum)(whole * 4);
  let s0 = sums[0];
  for (let i = first + whole; i < last; i++) s0 += squares ? Math.fround(data[i] * data[i]) : data[i];
  return s0 + sums[1] + (sums[2] + sums[3]);
}
