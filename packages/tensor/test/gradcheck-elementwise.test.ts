// Every differentiable elementwise op passes a float64 gradcheck on random shapes (0-d to 4-d,
// sizes 1..5), random broadcasting pairs and non-contiguous inputs (permuted, strided slices).

import fc from 'fast-check';
import * as T from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { type ValueRange, broadcastPairArb, layoutArb, makeTensor, runs, seedArb, shapeArb } from './helpers/cases.js';

const RUNS = 100;

interface UnaryCase {
  name: string;
  fn: (x: Tensor) => Tensor;
  range?: ValueRange;
}

const unaryCases: UnaryCase[] = [
  { name: 'neg', fn: (x) => T.neg(x) },
  { name: 'reciprocal', fn: (x) => T.reciprocal(x), range: { awayFromZero: 0.5 } },
  { name: 'exp', fn: (x) => T.exp(x) },
  { name: 'log', fn: (x) => T.log(x), range: { low: 0.3, high: 3 } },
  { name: 'log1p', fn: (x) => T.log1p(x), range: { low: -0.5, high: 3 } },
  { name: 'sqrt', fn: (x) => T.sqrt(x), range: { low: 0.3, high: 3 } },
  { name: 'rsqrt', fn: (x) => T.rsqrt(x), range: { low: 0.3, high: 3 } },
  { name: 'abs', fn: (x) => T.abs(x), range: { awayFromZero: 0.1 } },
  { name: 'sign', fn: (x) => T.sign(x), range: { awayFromZero: 0.1 } },
  { name: 'square', fn: (x) => T.square(x) },
  { name: 'sin', fn: (x) => T.sin(x) },
  { name: 'cos', fn: (x) => T.cos(x) },
  { name: 'tanh', fn: (x) => T.tanh(x) },
  { name: 'sigmoid', fn: (x) => T.sigmoid(x) },
  { name: 'relu', fn: (x) => T.relu(x), range: { awayFromZero: 0.1 } },
  { name: 'erf', fn: (x) => T.erf(x) },
  { name: 'gelu', fn: (x) => T.gelu(x), range: { low: -4, high: 4 } },
  { name: 'gelu tanh', fn: (x) => T.gelu(x, { approximate: 'tanh' }), range: { low: -4, high: 4 } },
  { name: 'clamp', fn: (x) => T.clamp(x, -0.7, 0.9) },
  { name: 'clamp min only', fn: (x) => x.clamp(0.2) },
  { name: 'pow scalar 3', fn: (x) => x.pow(3) },
  { name: 'pow scalar -1.5', fn: (x) => x.pow(-1.5), range: { low: 0.3, high: 3 } },
  { name: 'add scalar', fn: (x) => x.add(2.5) },
  { name: 'rsub scalar', fn: (x) => T.sub(1, x) },
  { name: 'mul scalar', fn: (x) => x.mul(-3) },
  { name: 'div scalar', fn: (x) => x.div(7) },
  { name: 'scalar div', fn: (x) => T.div(2, x), range: { awayFromZero: 0.5 } },
  { name: 'scalar pow', fn: (x) => T.pow(1.7, x) },
];

describe('gradcheck: unary elementwise ops (float64, random shapes and layouts)', () => {
  for (const c of unaryCases) {
    it(c.name, () => {
      fc.assert(
        fc.property(shapeArb(), layoutArb, seedArb, (shape, layout, seed) => {
          const x = makeTensor(shape, layout, seed, { range: c.range, requiresGrad: true });
          T.gradcheck(c.fn, [x]);
        }),
        runs(RUNS),
      );
    });
  }
});

interface BinaryCase {
  name: string;
  fn: (a: Tensor, b: Tensor) => Tensor;
  rangeA?: ValueRange;
  rangeB?: ValueRange;
}

const binaryCases: BinaryCase[] = [
  { name: 'add', fn: T.add },
  { name: 'sub', fn: T.sub },
  { name: 'mul', fn: T.mul },
  { name: 'div', fn: T.div, rangeB: { awayFromZero: 0.5 } },
  { name: 'pow', fn: T.pow, rangeA: { low: 0.3, high: 2 }, rangeB: { low: -2, high: 2 } },
  { name: 'maximum', fn: T.maximum },
  { name: 'minimum', fn: T.minimum },
  { name: 'where', fn: (a, b) => T.where(T.gt(a, b.mul(0.5)), a, b) },
];

describe('gradcheck: binary elementwise ops with broadcasting (float64)', () => {
  for (const c of binaryCases) {
    it(c.name, () => {
      fc.assert(
        fc.property(broadcastPairArb(), layoutArb, layoutArb, seedArb, ({ a, b }, la, lb, seed) => {
          const x = makeTensor(a, la, seed, { range: c.rangeA, requiresGrad: true });
          const y = makeTensor(b, lb, seed + 7, { range: c.rangeB, requiresGrad: true });
          T.gradcheck(c.fn, [x, y]);
        }),
        runs(RUNS),
      );
    });
  }

  it('one operand without requiresGrad gets no gradient and the other is still right', () => {
    fc.assert(
      fc.property(broadcastPairArb(), seedArb, ({ a, b }, seed) => {
        const x = makeTensor(a, 'contiguous', seed, { requiresGrad: true });
        const y = makeTensor(b, 'permuted', seed + 1);
        T.gradcheck((p) => T.mul(p, y), [x]);
      }),
      runs(RUNS),
    );
  });
});
