// gradcheck (float64) for reductions, softmax, matmul, views, joins, indexing, padding,
// interpolation and layer norm, on random shapes, dims and non-contiguous inputs.

import fc from 'fast-check';
import * as T from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { type Layout, type Shape, layoutArb, makeTensor, numel, runs, seedArb, shapeArb } from './helpers/cases.js';

const RUNS = 100;

/** A shape with at least one dim, a dim of it, a layout and a seed. */
const withDim = (opts?: Parameters<typeof shapeArb>[0]) =>
  shapeArb({ minDims: 1, ...opts }).chain((shape) =>
    fc.record({ shape: fc.constant(shape), dim: fc.integer({ min: -shape.length, max: shape.length - 1 }), layout: layoutArb, seed: seedArb }),
  );

/** A shape with a random subset of its dims (possibly empty = reduce all). */
const withDims = shapeArb().chain((shape) =>
  fc.record({
    shape: fc.constant(shape),
    dims: fc.subarray(shape.map((_, i) => i)),
    keepdim: fc.boolean(),
    layout: layoutArb,
    seed: seedArb,
  }),
);

function check(fn: (...xs: Tensor[]) => Tensor | Tensor[], ...inputs: Tensor[]): void {
  T.gradcheck(fn, inputs);
}

const leaf = (shape: Shape, layout: Layout, seed: number, range = {}) => makeTensor(shape, layout, seed, { range, requiresGrad: true });
const dimsOrAll = (dims: number[]) => (dims.length === 0 ? undefined : dims);

describe('gradcheck: reductions', () => {
  const reductions: [string, (x: Tensor, dims: number[] | undefined, keepdim: boolean) => Tensor][] = [
    ['sum', (x, d, k) => T.sum(x, d, k)],
    ['mean', (x, d, k) => T.mean(x, d, k)],
    ['amax', (x, d, k) => T.amax(x, d, k)],
    ['amin', (x, d, k) => T.amin(x, d, k)],
    ['logsumexp', (x, d, k) => T.logsumexp(x, d ?? x.shape.map((_, i) => i), k)],
    ['norm p=2', (x, d, k) => T.norm(x, 2, d, k)],
    ['norm p=1', (x, d, k) => T.norm(x, 1, d, k)],
    ['norm p=3', (x, d, k) => T.norm(x, 3, d, k)],
    ['norm p=inf', (x, d, k) => T.norm(x, Infinity, d, k)],
  ];
  for (const [name, fn] of reductions) {
    it(name, () => {
      fc.assert(
        fc.property(withDims, ({ shape, dims, keepdim, layout, seed }) => {
          const range = name.startsWith('norm') ? { awayFromZero: 0.2 } : {};
          check((x) => fn(x, dimsOrAll(dims), keepdim), leaf(shape, layout, seed, range));
        }),
        runs(RUNS),
      );
    });
  }

  for (const unbiased of [true, false]) {
    for (const [name, fn] of [['var', T.variance], ['std', T.std]] as const) {
      it(`${name} (unbiased=${unbiased})`, () => {
        fc.assert(
          fc.property(
            withDims.filter(({ shape, dims }) => (dims.length === 0 ? numel(shape) : numel(dims.map((d) => shape[d]))) > 1),
            ({ shape, dims, keepdim, layout, seed }) => check((x) => fn(x, dimsOrAll(dims), unbiased, keepdim), leaf(shape, layout, seed)),
          ),
          runs(RUNS),
        );
      });
    }
  }

  for (const op of ['max', 'min'] as const) {
    it(`${op} along a dim (values; the gradient goes to the index)`, () => {
      fc.assert(
        fc.property(withDim(), fc.boolean(), ({ shape, dim, layout, seed }, keepdim) =>
          check((x) => (op === 'max' ? x.max(dim, keepdim) : x.min(dim, keepdim)).values, leaf(shape, layout, seed)),
        ),
        runs(RUNS),
      );
    });
    it(`${op} of all elements`, () => {
      fc.assert(
        fc.property(shapeArb(), layoutArb, seedArb, (shape, layout, seed) =>
          check((x) => (op === 'max' ? x.max() : x.min()), leaf(shape, layout, seed)),
        ),
        runs(RUNS),
      );
    });
  }
});

describe('gradcheck: softmax and logSoftmax', () => {
  for (const [name, fn] of [['softmax', T.softmax], ['logSoftmax', T.logSoftmax]] as const) {
    it(name, () => {
      fc.assert(
        fc.property(withDim(), ({ shape, dim, layout, seed }) => check((x) => fn(x, dim), leaf(shape, layout, seed, { low: -3, high: 3 }))),
        runs(RUNS),
      );
    });
  }
});

describe('gradcheck: linear (x W^T + b, the bias added in the GEMM kernel)', () => {
  it('matches central differences, with and without a bias, for 1-D to 3-D inputs', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 0, maxLength: 2 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.boolean(), layoutArb, layoutArb, seedArb,
        (lead, inF, outF, withBias, lx, lw, seed) => {
          const x = leaf([...lead, inF], lx, seed);
          const w = leaf([outF, inF], lw, seed + 1);
          const inputs = withBias ? [x, w, leaf([outF], 'stepped', seed + 2)] : [x, w];
          T.gradcheck((a: Tensor, b: Tensor, c?: Tensor) => T.linear(a, b, c ?? null), inputs);
        }),
      runs(RUNS),
    );
  });
});

describe('gradcheck: matmul (1-D, 2-D, batched, broadcast batch dims)', () => {
  const matmulShapes = fc
    .record({
      m: fc.integer({ min: 1, max: 4 }),
      k: fc.integer({ min: 1, max: 4 }),
      n: fc.integer({ min: 1, max: 4 }),
      kind: fc.constantFrom('vv', 'mv', 'vm', 'mm', 'bmm', 'bcast', 'bv'),
      batch: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 2 }),
      ones: fc.array(fc.boolean(), { minLength: 2, maxLength: 2 }),
    })
    .map(({ m, k, n, kind, batch, ones }) => {
      const bA = batch.map((d, i) => (ones[i] ? 1 : d));
      switch (kind) {
        case 'vv': return [[k], [k]];
        case 'mv': return [[m, k], [k]];
        case 'vm': return [[k], [k, n]];
        case 'mm': return [[m, k], [k, n]];
        case 'bmm': return [[...batch, m, k], [...batch, k, n]];
        case 'bcast': return [[...bA, m, k], [...batch.slice(1), k, n]];
        default: return [[...batch, m, k], [k]];
      }
    });
  it('matches central differences', () => {
    fc.assert(
      fc.property(matmulShapes, layoutArb, layoutArb, seedArb, ([sa, sb], la, lb, seed) =>
        check(T.matmul, leaf(sa, la, seed), leaf(sb, lb, seed + 3)),
      ),
      runs(RUNS),
    );
  });
});

describe('gradcheck: views and shape ops', () => {
  it('view / reshape to a random factorisation', () => {
    fc.assert(
      fc.property(shapeArb(), layoutArb, seedArb, fc.boolean(), (shape, layout, seed, useView) => {
        const n = numel(shape);
        const target = n % 2 === 0 ? [2, -1] : [-1];
        check((x) => (useView ? x.contiguous().view(target) : x.reshape(target)), leaf(shape, layout, seed));
      }),
      runs(RUNS),
    );
  });
  it('transpose', () => {
    fc.assert(
      fc.property(withDim(), fc.nat(), ({ shape, dim, layout, seed }, k) =>
        check((x) => x.transpose(dim, k % shape.length), leaf(shape, layout, seed)),
      ),
      runs(RUNS),
    );
  });
  it('permute', () => {
    fc.assert(
      fc.property(
        shapeArb().chain((s) => fc.record({ shape: fc.constant(s), order: fc.shuffledSubarray(s.map((_, i) => i), { minLength: s.length, maxLength: s.length }) })),
        layoutArb,
        seedArb,
        ({ shape, order }, layout, seed) => check((x) => x.permute(order), leaf(shape, layout, seed)),
      ),
      runs(RUNS),
    );
  });
  it('narrow', () => {
    fc.assert(
      fc.property(withDim(), fc.nat(), fc.nat(), ({ shape, dim, layout, seed }, p, q) => {
        const size = shape[(dim + shape.length) % shape.length];
        const start = p % size;
        const length = 1 + (q % (size - start));
        check((x) => x.narrow(dim, start, length), leaf(shape, layout, seed));
      }),
      runs(RUNS),
    );
  });
  it('slice with a step', () => {
    fc.assert(
      fc.property(withDim(), fc.integer({ min: -6, max: 6 }), fc.integer({ min: -6, max: 6 }), fc.integer({ min: 1, max: 3 }), ({ shape, dim, layout, seed }, s, e, step) =>
        check((x) => x.slice(dim, s, e, step).mul(1), leaf(shape, layout, seed)),
      ),
      runs(RUNS),
    );
  });
  it('select', () => {
    fc.assert(
      fc.property(withDim(), fc.nat(), ({ shape, dim, layout, seed }, k) => {
        const size = shape[(dim + shape.length) % shape.length];
        check((x) => x.select(dim, (k % (2 * size)) - size), leaf(shape, layout, seed));
      }),
      runs(RUNS),
    );
  });
  it('expand (inside the function) and broadcastTo', () => {
    fc.assert(
      fc.property(shapeArb({ maxDims: 3 }), layoutArb, seedArb, fc.integer({ min: 1, max: 3 }), (shape, layout, seed, lead) => {
        const target = [lead, ...shape.map((d) => (d === 1 ? 3 : d))];
        check((x) => x.expand(target).mul(T.arange(numel(target), undefined, 1, { dtype: 'float64' }).reshape(target)), leaf(shape, layout, seed));
        check((x) => T.broadcastTo(x, target).sum(0), leaf(shape, layout, seed));
      }),
      runs(RUNS),
    );
  });
  it('squeeze / unsqueeze / flatten / unflatten', () => {
    fc.assert(
      fc.property(withDim(), ({ shape, dim, layout, seed }) => {
        check((x) => x.unsqueeze(dim).squeeze(), leaf(shape, layout, seed));
        check((x) => x.flatten(), leaf(shape, layout, seed));
        const d = (dim + shape.length) % shape.length;
        check((x) => x.flatten().unflatten(0, shape).flatten(d), leaf(shape, layout, seed));
      }),
      runs(RUNS),
    );
  });
  it('contiguous / clone / flip', () => {
    fc.assert(
      fc.property(withDim(), ({ shape, dim, layout, seed }) => {
        check((x) => x.contiguous().mul(x.clone()), leaf(shape, layout, seed));
        check((x) => x.flip(dim), leaf(shape, layout, seed));
      }),
      runs(RUNS),
    );
  });
});

describe('gradcheck: cat / stack / split / chunk / unbind', () => {
  it('cat and stack', () => {
    fc.assert(
      fc.property(withDim({ maxNumel: 24 }), fc.integer({ min: 1, max: 3 }), ({ shape, dim, layout, seed }, grow) => {
        const other = shape.map((s, i) => (i === (dim + shape.length) % shape.length ? grow : s));
        check((a, b) => T.cat([a, b, a], dim), leaf(shape, layout, seed), leaf(other, 'contiguous', seed + 1));
        check((a, b) => T.stack([a, b], dim), leaf(shape, layout, seed), leaf(shape, 'permuted', seed + 2));
      }),
      runs(RUNS),
    );
  });
  it('split / chunk / unbind', () => {
    fc.assert(
      fc.property(withDim(), fc.integer({ min: 1, max: 3 }), ({ shape, dim, layout, seed }, k) => {
        check((x) => x.split(k, dim).map((p, i) => p.mul(i + 1)), leaf(shape, layout, seed));
        check((x) => x.chunk(k, dim).map((p, i) => p.mul(i - 1)), leaf(shape, layout, seed));
        check((x) => x.unbind(dim), leaf(shape, layout, seed));
      }),
      runs(RUNS),
    );
  });
});

describe('gradcheck: gather / scatterAdd / indexSelect / indexAdd / maskedFill', () => {
  const indexFor = (shape: Shape, dim: number, seed: number, size: number) =>
    T.randint(0, size, shape, { generator: new T.Generator(seed) });
  it('gather and scatterAdd', () => {
    fc.assert(
      fc.property(withDim(), ({ shape, dim, layout, seed }) => {
        const d = (dim + shape.length) % shape.length;
        const index = indexFor(shape, d, seed, shape[d]);
        check((x) => x.gather(d, index), leaf(shape, layout, seed));
        check((x, s) => x.scatterAdd(d, index, s), leaf(shape, layout, seed), leaf(shape, 'permuted', seed + 5));
      }),
      runs(RUNS),
    );
  });
  it('indexSelect and indexAdd', () => {
    fc.assert(
      fc.property(withDim(), fc.integer({ min: 1, max: 4 }), ({ shape, dim, layout, seed }, n) => {
        const d = (dim + shape.length) % shape.length;
        const index = T.randint(0, shape[d], [n], { generator: new T.Generator(seed) });
        check((x) => x.indexSelect(d, index), leaf(shape, layout, seed));
        const srcShape = shape.map((s, i) => (i === d ? n : s));
        check((x, s) => x.indexAdd(d, index, s), leaf(shape, layout, seed), leaf(srcShape, 'contiguous', seed + 9));
      }),
      runs(RUNS),
    );
  });
  it('maskedFill', () => {
    fc.assert(
      fc.property(shapeArb(), layoutArb, seedArb, (shape, layout, seed) => {
        const mask = T.rand(shape, { generator: new T.Generator(seed) }).gt(0.5);
        check((x) => x.maskedFill(mask, -1.5), leaf(shape, layout, seed));
      }),
      runs(RUNS),
    );
  });
});

describe('gradcheck: pad, interpolate, layerNorm', () => {
  it('pad (constant, replicate, reflect; negative amounts crop)', () => {
    fc.assert(
      fc.property(
        shapeArb({ minDims: 1, maxDims: 3 }),
        layoutArb,
        seedArb,
        fc.array(fc.integer({ min: -1, max: 2 }), { minLength: 2, maxLength: 4 }),
        fc.constantFrom('constant', 'replicate', 'reflect'),
        (shape, layout, seed, amounts, mode) => {
          const pairs = amounts.slice(0, 2 * Math.min(shape.length, Math.floor(amounts.length / 2)));
          const size = (i: number) => shape[shape.length - 1 - (i >> 1)];
          // constant: crop at most (size-1)/2 per side; reflect: pad less than the size; replicate: no crop
          const padding = pairs.map((p, i) =>
            mode === 'constant' ? Math.max(p, -Math.floor((size(i) - 1) / 2)) : Math.max(0, Math.min(p, mode === 'reflect' ? size(i) - 1 : p)),
          );
          check((x) => x.pad(padding, { mode, value: 0.25 }), leaf(shape, layout, seed));
        },
      ),
      runs(RUNS),
    );
  });
  it('interpolate (nearest, bilinear, bicubic; by size or scale factor)', () => {
    fc.assert(
      fc.property(
        fc.record({
          h: fc.integer({ min: 1, max: 5 }),
          w: fc.integer({ min: 1, max: 5 }),
          c: fc.integer({ min: 1, max: 2 }),
          mode: fc.constantFrom('nearest', 'bilinear', 'bicubic'),
          bySize: fc.boolean(),
          f: fc.constantFrom(0.525, 0.75, 1.5, 2, 2.3),
          alignCorners: fc.boolean(),
        }),
        layoutArb,
        seedArb,
        ({ h, w, c, mode, bySize, f, alignCorners }, layout, seed) => {
          const options: T.InterpolateOptions = bySize ? { size: [Math.max(1, Math.round(h * f)), Math.max(1, Math.round(w * f))], mode } : { scaleFactor: f, mode };
          if (mode !== 'nearest') options.alignCorners = alignCorners;
          if (!bySize && (Math.floor(h * f) < 1 || Math.floor(w * f) < 1)) return;
          check((x) => T.interpolate(x, options), leaf([1, c, h, w], layout, seed));
        },
      ),
      runs(RUNS),
    );
  });
  it('layerNorm (with and without affine parameters)', () => {
    fc.assert(
      fc.property(shapeArb({ minDims: 1 }), fc.integer({ min: 1, max: 2 }), layoutArb, seedArb, fc.boolean(), (shape, k, layout, seed, affine) => {
        const normalized = shape.slice(-Math.min(k, shape.length));
        const x = leaf(shape, layout, seed);
        if (affine) {
          check((a, w, b) => T.layerNorm(a, normalized, w, b, 1e-5), x, leaf(normalized, 'contiguous', seed + 1), leaf(normalized, 'contiguous', seed + 2));
        } else {
          check((a) => T.layerNorm(a, normalized, null, null, 1e-5), x);
        }
      }),
      runs(RUNS),
    );
  });
});
