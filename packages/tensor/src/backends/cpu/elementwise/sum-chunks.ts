// The sum of every element of a contiguous tensor, split over threads: fixed chunks of
// SUM_CHUNK elements, each summed in float64 by whichever thread claims it, then the
// chunks' sums added in order on the calling thread. The chunks do not depend on the thread
// count, so neither do the bits of the result. Within a chunk, four running sums (elements
// i mod 4) keep four additions in flight instead of one chain of dependent ones.
// sumOfSquaresChunks does the same for x * x, each square rounded to x's dtype first (as a
// multiply kernel's output would be), for the 2-norms of gradient clipping: 8 million values
// a DINO step, in one pass instead of a multiply, a temporary and a sum. Float32 chunks run
// on the SIMD kernel of sum-chunks-wasm.ts where it runs (`simd`), with the same bits: in the
// DINO step the clipping's 2-norm of the head's 2048 x 2048 gradient took 9 ms on 2 threads
// with the loops below, 2.9 ms with the kernel.

import type { TypedArray } from '../../../dtype.js';
import { sumRunWasm } from './sum-chunks-wasm.js';

export const SUM_CHUNK = 1 << 16;

export interface SumChunksArgs {
  /** float32 or float64 data (sumOfSquaresChunks); any numeric type (sumChunks). */
  readonly data: TypedArray;
  readonly offset: number;
  readonly n: number;
  /** One float64 per chunk, on shared memory. */
  readonly partials: Float64Array;
  /** Sum float32 chunks on the SIMD kernel (sum-chunks-wasm.ts; the caller checks that it runs here). */
  readonly simd: boolean;
}

/** partials[c] = the sum of chunk c, for chunks [begin, end). */
export function sumChunks(args: SumChunksArgs, begin: number, end: number): void {
  chunkSums(args, begin, end, 'values');
}

/** partials[c] = the sum of the rounded squares of chunk c, for chunks [begin, end). */
export function sumOfSquaresChunks(args: SumChunksArgs, begin: number, end: number): void {
  chunkSums(args, begin, end, args.data instanceof Float32Array ? 'float32 squares' : 'squares');
}

/**
 * One tensor's share of a sum of squares over many (sumOfSquaresForeach in cpu-backend.ts),
 * for its elements [first, last), with the bits of that tensor's own 2-norm: a tensor of at
 * least two chunks in chunks, as sumOfSquaresChunks sums it (each chunk by the share that
 * holds its first element), into partials[chunk]; a smaller one in order into partials[0], as
 * the multiply and the sum that norm composes for it add its squares (by the share that holds
 * element 0).
 */
export function sumOfSquaresParts(args: SumChunksArgs, first: number, last: number): void {
  if (args.n >= 2 * SUM_CHUNK) {
    sumOfSquaresChunks(args, Math.ceil(first / SUM_CHUNK), Math.ceil(last / SUM_CHUNK));
    return;
  }
  if (first !== 0) return;
  const { data, offset, n, partials } = args;
  let s = 0;
  if (data instanceof Float32Array) for (let i = offset; i < offset + n; i++) s += Math.fround(data[i] * data[i]);
  else for (let i = offset; i < offset + n; i++) s += data[i] * data[i];
  partials[0] = s;
}

function chunkSums({ data, offset, n, partials, simd }: SumChunksArgs, begin: number, end: number, what: 'values' | 'float32 squares' | 'squares'): void {
  const wasm = simd && data instanceof Float32Array;
  for (let c = begin; c < end; c++) {
    const first = offset + c * SUM_CHUNK;
    const last = offset + Math.min(n, (c + 1) * SUM_CHUNK);
    if (wasm) {
      partials[c] = sumRunWasm(data, first, last, what !== 'values');
      continue;
    }
    // one loop per kind of term, so that the hot loop has no call and no test in it: with
    // the term as a function of the kind, 4M float64 squares took 12.6 ms instead of 3.0
    partials[c] = what === 'values' ? sumRun(data, first, last) : what === 'float32 squares' ? sumFloat32Squares(data, first, last) : sumSquares(data, first, last);
  }
}

/** The sum of data[first .. last), in four running sums (elements i mod 4) added as (s0 + s1) + (s2 + s3). */
function sumRun(data: TypedArray, first: number, last: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = first;
  for (; i + 3 < last; i += 4) {
    s0 += data[i];
    s1 += data[i + 1];
    s2 += data[i + 2];
    s3 += data[i + 3];
  }
  for (; i < last; i++) s0 += data[i];
  return s0 + s1 + (s2 + s3);
}

/** sumRun of the squares, each rounded to float32 first. */
function sumFloat32Squares(data: TypedArray, first: number, last: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = first;
  for (; i + 3 < last; i += 4) {
    const a = data[i];
    const b = data[i + 1];
    const c = data[i + 2];
    const d = data[i + 3];
    s0 += Math.fround(a * a);
    s1 += Math.fround(b * b);
    s2 += Math.fround(c * c);
    s3 += Math.fround(d * d);
  }
  for (; i < last; i++) s0 += Math.fround(data[i] * data[i]);
  return s0 + s1 + (s2 + s3);
}

/** sumRun of the squares (float64). */
function sumSquares(data: TypedArray, first: number, last: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = first;
  for (; i + 3 < last; i += 4) {
    const a = data[i];
    const b = data[i + 1];
    const c = data[i + 2];
    const d = data[i + 3];
    s0 += a * a;
    s1 += b * b;
    s2 += c * c;
    s3 += d * d;
  }
  for (; i < last; i++) s0 += data[i] * data[i];
  return s0 + s1 + (s2 + s3);
}

/** The total of the chunks' sums, added in chunk order. */
export function addPartials(partials: Float64Array): number {
  let total = 0;
  for (let c = 0; c < partials.length; c++) total += partials[c];
  return total;
}
