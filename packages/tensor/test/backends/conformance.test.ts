// The conformance suite: the same property-based tests on the CPU backend and on every
// gpu.js mode available here. Each property draws shapes, broadcasting patterns, memory
// layouts (transposed, strided, offset views) and values, runs an op on the target
// device in float32, and compares it with the CPU backend computing in float64.
// Properties are async and read with `await t.data()`, so that webgpu mode (async reads
// only) runs the very same tests.

import * as fc from 'fast-check';
import { expect } from 'chai';
import * as T from '../../src/index.js';
import type { Device, Tensor } from '../../src/index.js';
import { describeTargets } from '../gpu/targets.js';
import { FLOAT32, LAYOUTS, type Layout, type Tolerance, expectClose, place, runs, sample, toCpu } from '../gpu/helpers.js';
import { broadcastPairArb, seedArb, shapeArb as boundedShapeArb } from '../helpers/cases.js';

// Shapes without the element cap of the CPU tests: the GPU kernels tile, so larger shapes matter here.
const shapeArb = (minDims = 0, maxDims = 4, maxSize = 5) => boundedShapeArb({ minDims, maxDims, maxSize, maxNumel: Infinity });
// The layouts the GPU backend has kernels for (transposed, strided, offset views).
const layoutArb = fc.constantFrom(...LAYOUTS);

/** fn on `device` over placed float32 inputs, against fn on float64 CPU copies. */
async function conforms(device: Device, inputs: readonly Tensor[], layouts: readonly Layout[], fn: (...xs: Tensor[]) => Tensor, tol: Tolerance, label: string): Promise<void> {
  const reference = fn(...inputs.map((t) => t.double()));
  const got = fn(...inputs.map((t, i) => place(t, device, layouts[i])));
  expect(got.device, `${label}: result device`).to.equal(device);
  await expectClose(got, reference, tol, label);
}

/** t's values rounded to multiples of 0.5 in [-2, 2], so that comparisons meet ties. */
function halves(t: Tensor): Tensor {
  return T.tensor(Float32Array.from(t.dataSync(), (v) => Math.max(-4, Math.min(4, Math.round(v * 2))) / 2), { shape: t.shape });
}

const UNARY: Record<string, [(x: Tensor) => Tensor, (x: Tensor) => Tensor]> = {
  neg: [(x) => x, (x) => x.neg()],
  exp: [(x) => x, (x) => x.exp()],
  log: [(x) => x.abs().add(0.1), (x) => x.log()],
  log1p: [(x) => x.abs().mul(0.3), (x) => x.log1p()],
  sqrt: [(x) => x.abs(), (x) => x.sqrt()],
  rsqrt: [(x) => x.abs().add(0.2), (x) => x.rsqrt()],
  reciprocal: [(x) => x.abs().add(0.3), (x) => x.reciprocal()],
  abs: [(x) => x, (x) => x.abs()],
  sign: [(x) => x, (x) => x.sign()],
  square: [(x) => x, (x) => x.square()],
  sin: [(x) => x, (x) => x.sin()],
  cos: [(x) => x, (x) => x.cos()],
  tanh: [(x) => x.mul(3), (x) => x.tanh()],
  sigmoid: [(x) => x.mul(3), (x) => x.sigmoid()],
  relu: [(x) => x, (x) => x.relu()],
  erf: [(x) => x.mul(2), (x) => x.erf()],
  gelu: [(x) => x.mul(2), (x) => x.gelu()],
  geluTanh: [(x) => x.mul(2), (x) => x.gelu({ approximate: 'tanh' })],
  clamp: [(x) => x, (x) => x.clamp(-0.5, 0.7)],
  clampMin: [(x) => x, (x) => x.clamp(0.1)],
  powScalar: [(x) => x.abs().add(0.1), (x) => x.pow(2.5)],
  powInteger: [(x) => x, (x) => x.pow(3)],
};

const BINARY: Record<string, [(a: Tensor, b: Tensor) => [Tensor, Tensor], (a: Tensor, b: Tensor) => Tensor]> = {
  add: [(a, b) => [a, b], (a, b) => a.add(b)],
  sub: [(a, b) => [a, b], (a, b) => a.sub(b)],
  mul: [(a, b) => [a, b], (a, b) => a.mul(b)],
  div: [(a, b) => [a, b.abs().add(0.5).mul(b.sign().add(0.5).sign())], (a, b) => a.div(b)],
  pow: [(a, b) => [a.abs().add(0.2), b], (a, b) => a.pow(b)],
  maximum: [(a, b) => [a, b], (a, b) => a.maximum(b)],
  minimum: [(a, b) => [a, b], (a, b) => a.minimum(b)],
  // comparisons on values rounded to halves, so that ties occur
  eq: [(a, b) => [halves(a), halves(b)], (a, b) => a.eq(b).float()],
  lt: [(a, b) => [halves(a), halves(b)], (a, b) => a.lt(b).float()],
  ge: [(a, b) => [halves(a), halves(b)], (a, b) => a.ge(b).float()],
  where: [(a, b) => [a, b], (a, b) => T.where(a.gt(b), a.mul(2), b)],
};

describeTargets('conformance: elementwise', (device) => {
  for (const [name, [domain, op]] of Object.entries(UNARY)) {
    it(`${name} over random shapes and layouts`, async () => {
      await fc.assert(
        fc.asyncProperty(shapeArb(), layoutArb, seedArb, async (shape, layout, seed) => {
          await conforms(device, [domain(sample(shape, seed))], [layout], op, name === 'erf' || name === 'gelu' ? { atol: 2e-6, rtol: 1e-5 } : FLOAT32, name);
        }),
        { numRuns: runs(device) },
      );
    });
  }

  for (const [name, [domain, op]] of Object.entries(BINARY)) {
    it(`${name} with broadcasting and strided inputs`, async () => {
      await fc.assert(
        fc.asyncProperty(broadcastPairArb({ maxNumel: Infinity }), layoutArb, layoutArb, seedArb, async (shapes, la, lb, seed) => {
          const [a, b] = domain(sample(shapes.a, seed), sample(shapes.b, seed + 1));
          await conforms(device, [a, b], [la, lb], op, FLOAT32, name);
        }),
        { numRuns: runs(device) },
      );
    });
  }

  it('int32 and bool tensors keep their dtype and values', async () => {
    const x = T.tensor([[-3, 0, 5], [7, -1, 2]], { dtype: 'int32' }).to(device);
    expect(x.add(2).dtype).to.equal('int32');
    expect((await toCpu(x.add(2))).toArray()).to.deep.equal([[-1, 2, 7], [9, 1, 4]]);
    expect(x.gt(0).dtype).to.equal('bool');
    expect((await toCpu(x.gt(0))).toArray()).to.deep.equal([[false, false, true], [true, false, true]]);
    expect((await toCpu(x.float().div(2).int())).toArray()).to.deep.equal([[-1, 0, 2], [3, 0, 1]]);
  });
});

describeTargets('conformance: reductions', (device) => {
  const reductions: Record<string, (x: Tensor, dims: number[], keep: boolean) => Tensor> = {
    sum: (x, d, k) => x.sum(d, k),
    mean: (x, d, k) => x.mean(d, k),
    amax: (x, d, k) => x.amax(d, k),
    amin: (x, d, k) => x.amin(d, k),
    var: (x, d, k) => x.var(d, false, k),
    logsumexp: (x, d, k) => x.logsumexp(d, k),
  };
  for (const [name, op] of Object.entries(reductions)) {
    it(`${name} over random dims`, async () => {
      await fc.assert(
        fc.asyncProperty(shapeArb(1, 4, 6), fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), fc.boolean(), layoutArb, seedArb, async (shape, pick, keep, layout, seed) => {
          const dims = shape.map((_, i) => i).filter((i) => pick[i]);
          if (dims.length === 0) dims.push(shape.length - 1);
          await conforms(device, [sample(shape, seed)], [layout], (x) => op(x, dims, keep), { atol: 1e-5, rtol: 2e-4 }, `${name} over ${dims}`);
        }),
        { numRuns: runs(device) },
      );
    });
  }

  it('long reductions (two passes over chunks) over inner, outer, trailing and all dims', async () => {
    const x = sample([3, 1500, 4], 11);
    for (const layout of LAYOUTS) {
      for (const [name, op] of Object.entries(reductions)) {
        await conforms(device, [x], [layout], (t) => op(t, [1], false), { atol: 1e-4, rtol: 2e-4 }, `${name} over 1500 (${layout})`);
        await conforms(device, [x], [layout], (t) => op(t, [0, 1], true), { atol: 1e-4, rtol: 2e-4 }, `${name} over 4500 (${layout})`);
        // trailing dims: a contiguous x is already [rows, R], read with no copy on the GPU
        await conforms(device, [x], [layout], (t) => op(t, [1, 2], false), { atol: 1e-4, rtol: 2e-4 }, `${name} over the last 6000 (${layout})`);
      }
      await conforms(device, [x], [layout], (t) => t.sum(), { atol: 1e-3, rtol: 1e-4 }, `sum of all (${layout})`);
    }
  });

  it('argmax / argmin / max(dim) along a random dim', async () => {
    await fc.assert(
      fc.asyncProperty(shapeArb(1, 3, 6), fc.nat(2), layoutArb, seedArb, async (shape, d, layout, seed) => {
        const dim = d % shape.length;
        const x = sample(shape, seed);
        const xr = place(x, device, layout);
        expect((await toCpu(xr.argmax(dim))).toArray()).to.deep.equal(x.argmax(dim).toArray());
        expect((await toCpu(xr.argmin(dim, true))).toArray()).to.deep.equal(x.argmin(dim, true).toArray());
        await expectClose(xr.max(dim).values, x.double().max(dim).values, FLOAT32, 'max values');
      }),
      { numRuns: runs(device) },
    );
  });

  it('softmax and logSoftmax along a random dim', async () => {
    await fc.assert(
      fc.asyncProperty(shapeArb(1, 4, 7), fc.nat(3), fc.boolean(), layoutArb, seedArb, async (shape, d, log, layout, seed) => {
        const dim = d % shape.length;
        await conforms(device, [sample(shape, seed, 3)], [layout], (x) => (log ? x.logSoftmax(dim) : x.softmax(dim)), FLOAT32, log ? 'logSoftmax' : 'softmax');
      }),
      { numRuns: runs(device) },
    );
  });
});

describeTargets('conformance: matmul, layerNorm, indexing', (device) => {
  it('batched matmul with broadcast batches and transposed operands', async () => {
    const dims = fc.integer({ min: 1, max: 9 });
    await fc.assert(
      fc.asyncProperty(dims, dims, dims, shapeArb(0, 2, 3), fc.boolean(), layoutArb, layoutArb, seedArb, async (M, K, N, batch, shareB, la, lb, seed) => {
        const a = sample([...batch, M, K], seed);
        const b = sample(shareB ? [K, N] : [...batch.map((s, i) => (i === 0 ? 1 : s)), K, N], seed + 1);
        await conforms(device, [a, b], [la, lb], (x, y) => x.matmul(y), { atol: 1e-5, rtol: 1e-4 }, `matmul [${a.shape}] x [${b.shape}]`);
      }),
      { numRuns: runs(device) },
    );
  });

  it('matrix-vector and vector-matrix products', async () => {
    const a = sample([5, 7], 1);
    const v = sample([7], 2);
    await conforms(device, [a, v], ['transposed', 'strided'], (x, y) => x.matmul(y), FLOAT32, 'matvec');
    await conforms(device, [v, a.T.contiguous()], ['offset', 'contiguous'], (x, y) => x.matmul(y), FLOAT32, 'vecmat');
  });

  it('layerNorm with and without affine parameters', async () => {
    await fc.assert(
      fc.asyncProperty(shapeArb(0, 2, 4), fc.integer({ min: 1, max: 24 }), fc.boolean(), layoutArb, seedArb, async (lead, D, affine, layout, seed) => {
        const x = sample([...lead, D], seed, 2).add(0.5);
        const w = sample([D], seed + 1);
        const b = sample([D], seed + 2);
        const fn = affine ? (xi: Tensor, wi: Tensor, bi: Tensor) => T.layerNorm(xi, [D], wi, bi, 1e-5) : (xi: Tensor) => T.layerNorm(xi, [D], null, null, 1e-5);
        await conforms(device, [x, w, b], [layout, 'strided', 'offset'], fn, { atol: 2e-5, rtol: 2e-4 }, 'layerNorm');
      }),
      { numRuns: runs(device) },
    );
  });

  it('gather and scatterAdd along a random dim', async () => {
    await fc.assert(
      fc.asyncProperty(shapeArb(1, 3, 5), fc.nat(2), layoutArb, seedArb, async (shape, d, layout, seed) => {
        const dim = d % shape.length;
        const x = sample(shape, seed);
        const index = T.randint(-shape[dim], shape[dim], shape, { generator: new T.Generator(seed + 3) });
        const xd = place(x, device, layout);
        await expectClose(xd.gather(dim, index.to(device)), x.double().gather(dim, index), FLOAT32, 'gather');
        const src = sample(shape, seed + 4);
        const base = sample(shape, seed + 5);
        const got = place(base, device, layout).clone().scatterAdd(dim, index.to(device), src.to(device));
        await expectClose(got, base.double().scatterAdd(dim, index, src.double()), FLOAT32, 'scatterAdd');
      }),
      { numRuns: runs(device) },
    );
  });

  it('contiguous() materialises permuted and sliced views', async () => {
    await fc.assert(
      fc.asyncProperty(shapeArb(2, 4, 5), layoutArb, seedArb, async (shape, layout, seed) => {
        const perm = shape.map((_, i) => i).reverse();
        await conforms(device, [sample(shape, seed)], [layout], (x) => x.permute(perm).slice(0, 0, null, 2).contiguous(), { atol: 0, rtol: 0 }, 'contiguous');
      }),
      { numRuns: runs(device) },
    );
  });

  it('in-place ops write through views', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 6 }), fc.integer({ min: 2, max: 6 }), seedArb, async (m, n, seed) => {
        const run = (dev: Device, dtype: 'float32' | 'float64') => {
          const x = sample([m, n], seed).to(dtype).to(dev);
          const y = sample([m, n - 1], seed + 1).to(dtype).to(dev);
          x.narrow(1, 1, n - 1).add_(y);
          x.T.select(0, 0).mul_(3);
          x.slice(0, 0, null, 2).copy_(x.slice(0, 0, null, 2).exp());
          x.narrow(0, m - 1, 1).fill_(0.25);
          return x;
        };
        await expectClose(run(device, 'float32'), run('cpu', 'float64'), FLOAT32, 'in-place');
      }),
      { numRuns: runs(device) },
    );
  });
});

describeTargets('conformance: ops composed from the backend primitives', (device) => {
  const composed: Record<string, (t: Tensor) => Tensor> = {
    cat: (t) => T.cat([t, t.mul(2)], 1),
    stack: (t) => T.stack([t, t.exp()], 2),
    pad: (t) => t.pad([1, 2, 0, 1]),
    padReflect: (t) => t.pad([1, 1, 1, 1], { mode: 'reflect' }),
    flip: (t) => t.flip([1, 3]),
    indexSelect: (t) => t.indexSelect(2, T.tensor([3, 0, 0], { dtype: 'int32' }).to(t.device)),
    maskedFill: (t) => t.maskedFill(t.gt(0.5), -1),
    norm: (t) => t.norm(2, [1, 3]),
    bicubic: (t) => T.interpolate(t, { size: [6, 7], mode: 'bicubic' }),
    nearest: (t) => T.interpolate(t, { scaleFactor: 2, mode: 'nearest' }),
    std: (t) => t.std(1),
  };
  for (const [name, op] of Object.entries(composed)) {
    it(name, async () => {
      for (const layout of LAYOUTS) await conforms(device, [sample([2, 3, 4, 5], 1)], [layout], op, FLOAT32, `${name} (${layout})`);
    });
  }

  it('normal_ and uniform_ fill GPU tensors with the generator\'s draws', async () => {
    const a = T.zeros([3, 4], { device }).normal_(0, 1, new T.Generator(3));
    const b = T.zeros([3, 4]).normal_(0, 1, new T.Generator(3));
    await expectClose(a, b.double(), FLOAT32, 'normal_');
    const u = T.zeros([50], { device }).uniform_(2, 3, new T.Generator(4));
    expect((await u.amin().data())[0]).to.be.at.least(2);
    expect((await u.amax().data())[0]).to.be.below(3);
  });
});

/**
 * The gradients of f's (scalar) output with respect to every input, by backward() on
 * `device` in float32, against the same on the CPU in float64.
 */
async function gradientsConform(device: Device, inputs: readonly Tensor[], f: (...xs: Tensor[]) => Tensor): Promise<void> {
  const grads = (dev: Device, dtype: 'float32' | 'float64') => {
    const leaves = inputs.map((t) => t.to(dtype).to(dev).detach().requiresGrad_());
    f(...leaves).backward();
    return leaves.map((l) => l.grad!);
  };
  const want = grads('cpu', 'float64');
  for (const [i, g] of grads(device, 'float32').entries()) {
    expect(g.device).to.equal(device);
    await expectClose(g, want[i], { atol: 2e-4, rtol: 2e-3 }, `grad of input ${i}`);
  }
}

describeTargets('conformance: backward', (device) => {
  it('gradients of a ViT-like composite (layerNorm, matmul, GELU, softmax, views)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 2, max: 8 }), fc.integer({ min: 1, max: 6 }), seedArb, async (B, N, D, E, seed) => {
        const inputs = [sample([B, N, D], seed), sample([D], seed + 1), sample([D], seed + 2), sample([D, E], seed + 3, 0.5), sample([E], seed + 4)];
        const f = (x: Tensor, g: Tensor, b: Tensor, w: Tensor, c: Tensor) => {
          const h = T.layerNorm(x, [D], g, b, 1e-5).matmul(w).add(c).gelu();
          const att = h.matmul(h.transpose(-1, -2)).softmax(-1);
          return att.matmul(h).logSoftmax(-1).mul(h.tanh()).sum();
        };
        await gradientsConform(device, inputs, (x, g, b, w, c) => f(x, g, b, w, c));
      }),
      { numRuns: runs(device) },
    );
  });

  it("gradients of selected and sliced views (q, k, v by unbind; overlapping slices), which the engine adds into each other's views in place", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 2, max: 6 }), fc.integer({ min: 1, max: 5 }), seedArb, async (B, N, D, seed) => {
        const inputs = [sample([3, B, N, D], seed), sample([D, D], seed + 1, 0.5)];
        const f = (qkv: Tensor, w: Tensor) => {
          const [q, k, v] = T.unbind(qkv, 0);
          const att = q.matmul(k.transpose(-1, -2)).softmax(-1).matmul(v);
          const edge = T.slice(qkv, 2, 0, N - 1).mul(T.slice(qkv, 2, 1, N)).sum(); // slices that overlap
          return att.matmul(w).tanh().sum().add(edge);
        };
        await gradientsConform(device, inputs, (x, y) => f(x, y));
      }),
      { numRuns: runs(device) },
    );
  });

  it('gradients through broadcasting, reductions, maximum and where', async () => {
    await fc.assert(
      fc.asyncProperty(shapeArb(1, 3, 4), seedArb, async (shape, seed) => {
        const inputs = [sample(shape, seed), sample(shape.slice(1), seed + 1)];
        const f = (x: Tensor, y: Tensor) => {
          const m = x.maximum(y).mul(x.sigmoid());
          const w = T.where(x.gt(0), m, y.mul(x).exp());
          return w.amax(-1).sum().add(w.mean(0).square().sum()).add(x.abs().sqrt().sum());
        };
        await gradientsConform(device, inputs, (x, y) => f(x, y));
      }),
      { numRuns: runs(device) },
    );
  });
});
