// Test helpers: fast-check arbitraries for shapes and layouts, tensors built from a seed
// in a chosen memory layout, and an independent element reader for reference loops.

import fc from 'fast-check';
import { CpuStorage, Generator, type DType, type Tensor, tensor } from '../../src/index.js';

export type Shape = number[];

export const numel = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** Shapes with `minDims`..`maxDims` dims of sizes 1..maxSize and at most maxNumel elements. */
export function shapeArb({ minDims = 0, maxDims = 4, maxSize = 5, maxNumel = 48 } = {}): fc.Arbitrary<Shape> {
  return fc
    .array(fc.integer({ min: 1, max: maxSize }), { minLength: minDims, maxLength: maxDims })
    .filter((s) => numel(s) <= maxNumel);
}

/** A shape that broadcasts to `s`: some leading dims dropped, some dims set to 1. */
export function broadcastableTo(s: Shape): fc.Arbitrary<Shape> {
  return fc
    .tuple(fc.integer({ min: 0, max: s.length }), fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }))
    .map(([drop, ones]) => s.slice(drop).map((d, i) => (ones[i + drop] ? 1 : d)));
}

/** Two shapes that broadcast together, with their broadcast shape (computed here, independently of the library). */
export function broadcastPairArb(options?: Parameters<typeof shapeArb>[0]): fc.Arbitrary<{ out: Shape; a: Shape; b: Shape }> {
  return shapeArb(options).chain((s) =>
    fc.tuple(broadcastableTo(s), broadcastableTo(s)).map(([a, b]) => {
      const n = Math.max(a.length, b.length);
      const dim = (t: Shape, i: number) => t[i - (n - t.length)] ?? 1;
      const out = Array.from({ length: n }, (_, i) => Math.max(dim(a, i), dim(b, i)));
      return { out, a, b };
    }),
  );
}

/** How a test tensor sits in memory: contiguous, a permutation of a contiguous base, or every other element of a larger base. */
export type Layout = 'contiguous' | 'permuted' | 'stepped';
export const layoutArb: fc.Arbitrary<Layout> = fc.constantFrom('contiguous', 'permuted', 'stepped');
export const seedArb = fc.integer({ min: 0, max: 2 ** 31 - 1 });

export interface ValueRange {
  low?: number;
  high?: number;
  /** Keep |v| at least this far from 0 (kinks of abs, relu, sign; poles of 1/x). */
  awayFromZero?: number;
}

/** Draws values in [low, high] (or +-[away, high]) from a seeded generator. */
export function values(n: number, seed: number, { low = -2, high = 2, awayFromZero }: ValueRange = {}): Float64Array {
  const gen = new Generator(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    if (awayFromZero !== undefined) {
      const mag = awayFromZero + gen.random() * (high - awayFromZero);
      out[i] = gen.random() < 0.5 ? -mag : mag;
    } else {
      out[i] = low + gen.random() * (high - low);
    }
  }
  return out;
}

/**
 * A leaf tensor of `shape` whose elements are `values(numel, seed, range)` in row-major
 * order, stored with the given layout. Non-contiguous layouts never overlap, so
 * gradcheck can nudge each element on its own.
 */
export function makeTensor(
  shape: Shape,
  layout: Layout,
  seed: number,
  { range = {}, dtype = 'float64' as DType, requiresGrad = false }: { range?: ValueRange; dtype?: DType; requiresGrad?: boolean } = {},
): Tensor {
  const vals = values(numel(shape), seed, range);
  const logical = tensor(vals, { shape, dtype });
  let t: Tensor;
  if (layout === 'permuted' && shape.length >= 2) {
    // base holds the data with dims in a rotated order; permuting back gives `shape` with non-contiguous strides
    const order = shape.map((_, i) => (i + 1) % shape.length);
    const inverse = order.map((_, i) => order.indexOf(i));
    const base = logical.permute(order).contiguous();
    t = base.permute(inverse);
  } else if (layout === 'stepped' && shape.length >= 1) {
    // base has the last dim doubled; t takes every other element of it
    const d = shape.length - 1;
    const bigShape = shape.map((s, i) => (i === d ? 2 * s : s));
    const base = tensor(values(numel(bigShape), seed + 1), { shape: bigShape, dtype });
    t = base.slice(d, 1, null, 2);
    (t.detach() as Tensor).copy_(logical);
  } else {
    t = logical;
  }
  const leaf = t.detach();
  if (requiresGrad) leaf.requiresGrad_(true);
  return leaf;
}

/** The element at `index`, read straight from storage through the strides (independent of every kernel). */
export function at(t: Tensor, index: readonly number[]): number {
  let o = t.offset;
  index.forEach((i, d) => (o += i * t.strides[d]));
  return (t.storage as CpuStorage).data[o];
}

/** Every index of a shape in row-major order. */
export function* indices(shape: readonly number[]): IterableIterator<number[]> {
  const n = numel(shape);
  const idx = new Array<number>(shape.length).fill(0);
  for (let e = 0; e < n; e++) {
    yield [...idx];
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

/** The index into a tensor of shape `from` that broadcasting maps output index `index` to. */
export function broadcastIndex(index: readonly number[], from: readonly number[]): number[] {
  const lead = index.length - from.length;
  return from.map((s, i) => (s === 1 ? 0 : index[i + lead]));
}

/** Asserts every element of `actual` is within atol + rtol*|expected| of `expected(index)`. */
export function expectElements(actual: Tensor, expected: (index: number[]) => number, { atol = 1e-12, rtol = 1e-12 } = {}): void {
  for (const idx of indices(actual.shape)) {
    const a = at(actual, idx);
    const e = expected(idx);
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (a === e) continue;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      throw new Error(`element [${idx.join(', ')}] of shape [${actual.shape.join(', ')}]: got ${a}, expected ${e}`);
    }
  }
}

/** fast-check settings shared by the property tests (fixed seed: CI runs are reproducible). */
export const runs = (numRuns: number) => ({ numRuns, seed: 20261126 });
