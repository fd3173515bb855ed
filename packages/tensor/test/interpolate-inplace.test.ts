// interpolate against a direct per-pixel implementation of PyTorch's formulas, and in-place ops.

import { expect } from 'chai';
import fc from 'fast-check';
import * as T from '../src/index.js';
import { at, expectElements, layoutArb, makeTensor, runs, seedArb } from './helpers/cases.js';

/** PyTorch's upsample kernels, written pixel by pixel (non-separably) from ATen's formulas. */
function reference(x: T.Tensor, outH: number, outW: number, mode: string, alignCorners: boolean, factor?: number): (i: number[]) => number {
  const [, , H, W] = x.shape;
  const scaleOf = (inS: number, outS: number) =>
    alignCorners ? (outS > 1 ? (inS - 1) / (outS - 1) : 0) : factor !== undefined ? 1 / factor : inS / outS;
  const sh = scaleOf(H, outH);
  const sw = scaleOf(W, outW);
  const A = -0.75;
  const cubic = (d: number) => {
    const t = Math.abs(d);
    if (t <= 1) return ((A + 2) * t - (A + 3)) * t * t + 1;
    if (t < 2) return ((A * t - 5 * A) * t + 8 * A) * t - 4 * A;
    return 0;
  };
  const clampI = (i: number, n: number) => Math.min(Math.max(i, 0), n - 1);
  return ([n, c, oy, ox]) => {
    const px = (y: number, xx: number) => at(x, [n, c, clampI(y, H), clampI(xx, W)]);
    if (mode === 'nearest') {
      const y = Math.min(Math.floor(Math.fround(oy * Math.fround(sh))), H - 1);
      const xx = Math.min(Math.floor(Math.fround(ox * Math.fround(sw))), W - 1);
      return px(y, xx);
    }
    const src = (o: number, s: number) => (alignCorners ? o * s : s * (o + 0.5) - 0.5);
    let sy = src(oy, sh);
    let sx = src(ox, sw);
    if (mode === 'bilinear') {
      sy = Math.max(sy, 0);
      sx = Math.max(sx, 0);
      const y0 = Math.min(Math.floor(sy), H - 1);
      const x0 = Math.min(Math.floor(sx), W - 1);
      const ly = sy - y0;
      const lx = sx - x0;
      return (1 - ly) * ((1 - lx) * px(y0, x0) + lx * px(y0, x0 + 1)) + ly * ((1 - lx) * px(y0 + 1, x0) + lx * px(y0 + 1, x0 + 1));
    }
    const y0 = Math.floor(sy);
    const x0 = Math.floor(sx);
    let s = 0;
    for (let a = -1; a <= 2; a++) for (let b = -1; b <= 2; b++) s += cubic(sy - (y0 + a)) * cubic(sx - (x0 + b)) * px(y0 + a, x0 + b);
    return s;
  };
}

describe('interpolate forward', () => {
  it('matches the per-pixel PyTorch formulas for every mode, by size and by scale factor', () => {
    fc.assert(
      fc.property(
        fc.record({
          h: fc.integer({ min: 1, max: 7 }),
          w: fc.integer({ min: 1, max: 7 }),
          mode: fc.constantFrom('nearest', 'bilinear', 'bicubic'),
          bySize: fc.boolean(),
          f: fc.constantFrom(0.525, 0.5, 1.5, 2, 2.3, 3),
          alignCorners: fc.boolean(),
        }),
        layoutArb,
        seedArb,
        ({ h, w, mode, bySize, f, alignCorners }, layout, seed) => {
          const outH = bySize ? Math.max(1, Math.round(h * f)) : Math.floor(h * f);
          const outW = bySize ? Math.max(1, Math.round(w * f)) : Math.floor(w * f);
          if (outH < 1 || outW < 1) return;
          const ac = mode !== 'nearest' && alignCorners;
          const x = makeTensor([2, 2, h, w], layout, seed);
          const y = T.interpolate(x, {
            ...(bySize ? { size: [outH, outW] as const } : { scaleFactor: f }),
            mode,
            ...(mode !== 'nearest' ? { alignCorners: ac } : {}),
          });
          expect(y.shape).to.deep.equal([2, 2, outH, outW]);
          expectElements(y, reference(x, outH, outW, mode, ac, bySize ? undefined : f), { atol: 1e-14, rtol: 1e-13 });
        },
      ),
      runs(200),
    );
  });

  it('the scale-factor path differs from the size path (DINO positional embeddings rely on it)', () => {
    const x = makeTensor([1, 1, 4, 4], 'contiguous', 5);
    const byFactor = T.interpolate(x, { scaleFactor: 0.525, mode: 'bicubic', alignCorners: false });
    const bySize = T.interpolate(x, { size: [2, 2], mode: 'bicubic', alignCorners: false });
    expect(byFactor.shape).to.deep.equal([1, 1, 2, 2]);
    expect(T.allclose(byFactor, bySize)).to.equal(false);
  });
});

describe('in-place ops', () => {
  it('compute the same values as their out-of-place forms and bump the version', () => {
    fc.assert(
      fc.property(layoutArb, seedArb, (layout, seed) => {
        const fresh = () => makeTensor([3, 4], layout, seed);
        const o = makeTensor([4], 'contiguous', seed + 1, { range: { awayFromZero: 0.5 } });
        const pairs: [(t: T.Tensor) => T.Tensor, (t: T.Tensor) => T.Tensor][] = [
          [(t) => t.add_(o, 0.5), (t) => t.add(o.mul(0.5))],
          [(t) => t.sub_(o), (t) => t.sub(o)],
          [(t) => t.mul_(o), (t) => t.mul(o)],
          [(t) => t.div_(o), (t) => t.div(o)],
          [(t) => t.addcmul_(o, o, 2), (t) => t.add(o.mul(o).mul(2))],
          [(t) => t.addcdiv_(o, o.abs().add(1), -1), (t) => t.sub(o.div(o.abs().add(1)))],
          [(t) => t.lerp_(o, 0.25), (t) => t.add(o.sub(t).mul(0.25))],
          [(t) => t.clamp_(-0.5, 0.5), (t) => t.clamp(-0.5, 0.5)],
          [(t) => t.copy_(o), (t) => o.expand([3, 4])],
          [(t) => t.maskedFill_(o.gt(0), 3), (t) => t.maskedFill(o.gt(0), 3)],
          [(t) => t.zero_(), (t) => T.zerosLike(t)],
        ];
        for (const [inplace, outOfPlace] of pairs) {
          const a = fresh();
          const v = a.storage.version;
          const expected = outOfPlace(fresh());
          const r = inplace(a);
          expect(r).to.equal(a);
          expect(a.storage.version).to.equal(v + 1);
          expect(T.allclose(a, expected, 1e-14, 1e-14)).to.equal(true);
        }
      }),
      runs(30),
    );
  });

  it('uniform_ / normal_ fill from a generator', () => {
    const t = T.zeros([1000]);
    t.uniform_(2, 3, new T.Generator(1));
    expect(t.min().item()).to.be.at.least(2);
    expect(t.max().item()).to.be.below(3);
    t.normal_(5, 0.1, new T.Generator(1));
    expect(t.mean().item()).to.be.closeTo(5, 0.02);
  });
});
