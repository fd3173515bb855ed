// In-place ops under autograd, as PyTorch: chains of in-place ops on non-leaf tensors and
// on views of them give the values and gradients of their out-of-place equivalents, and
// every view of the same base sees the new history; the writes PyTorch refuses are refused.

import { expect } from 'chai';
import fc from 'fast-check';
import * as T from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { layoutArb, makeTensor, runs, seedArb, shapeArb, values } from './helpers/cases.js';

/** An in-place op and its out-of-place equivalent; `o` is an operand of t's shape that requires grad. */
interface OpCase {
  name: string;
  inplace: (t: Tensor, o: Tensor) => void;
  outOfPlace: (t: Tensor, o: Tensor) => Tensor;
}

const ops: OpCase[] = [
  { name: 'add_', inplace: (t, o) => t.add_(o, 0.5), outOfPlace: (t, o) => t.add(o.mul(0.5)) },
  { name: 'sub_ scalar', inplace: (t) => t.sub_(0.25), outOfPlace: (t) => t.sub(0.25) },
  { name: 'mul_', inplace: (t, o) => t.mul_(o), outOfPlace: (t, o) => t.mul(o) },
  { name: 'mul_ scalar', inplace: (t) => t.mul_(-1.5), outOfPlace: (t) => t.mul(-1.5) },
  { name: 'div_', inplace: (t, o) => t.div_(o.abs().add(1)), outOfPlace: (t, o) => t.div(o.abs().add(1)) },
  { name: 'pow_', inplace: (t) => t.pow_(2), outOfPlace: (t) => t.pow(2) },
  { name: 'maximum_', inplace: (t, o) => t.maximum_(o), outOfPlace: (t, o) => t.maximum(o) },
  { name: 'relu_', inplace: (t) => t.relu_(), outOfPlace: (t) => t.relu() },
  { name: 'sigmoid_', inplace: (t) => t.sigmoid_(), outOfPlace: (t) => t.sigmoid() },
  { name: 'tanh_', inplace: (t) => t.tanh_(), outOfPlace: (t) => t.tanh() },
  { name: 'neg_', inplace: (t) => t.neg_(), outOfPlace: (t) => t.neg() },
  { name: 'clamp_', inplace: (t) => t.clamp_(-0.7, 0.8), outOfPlace: (t) => t.clamp(-0.7, 0.8) },
  { name: 'lerp_', inplace: (t, o) => t.lerp_(o, 0.25), outOfPlace: (t, o) => t.add(o.sub(t).mul(0.25)) },
  { name: 'addcmul_', inplace: (t, o) => t.addcmul_(o, o, 2), outOfPlace: (t, o) => t.add(o.mul(o).mul(2)) },
  // t.mul(0) keeps the old value in the graph with a zero gradient, as the in-place op does
  { name: 'copy_', inplace: (t, o) => t.copy_(o), outOfPlace: (t, o) => t.mul(0).add(o) },
  { name: 'fill_', inplace: (t) => t.fill_(0.3), outOfPlace: (t) => t.mul(0).add(0.3) },
  { name: 'maskedFill_', inplace: (t, o) => t.maskedFill_(o.detach().gt(0), 0.5), outOfPlace: (t, o) => t.maskedFill(o.detach().gt(0), 0.5) },
];

/**
 * Where an op writes: the whole tensor, or a view of it. `rebuild(base, f)` is the
 * out-of-place equivalent of applying f to that view of base and writing the result back.
 */
interface Target {
  name: string;
  view: (t: Tensor) => Tensor;
  rebuild: (base: Tensor, f: (v: Tensor) => Tensor) => Tensor;
}

/** base with elements start..start+length-1 of dim d replaced by f of them (cat of the three parts). */
function replaceRange(base: Tensor, d: number, start: number, length: number, f: (v: Tensor) => Tensor): Tensor {
  const n = base.shape[d];
  const parts = [base.narrow(d, 0, start), f(base.narrow(d, start, length)), base.narrow(d, start + length, n - start - length)];
  return T.cat(parts.filter((p) => p.shape[d] > 0), d);
}

function targetArb(shape: readonly number[]): fc.Arbitrary<Target> {
  const nd = shape.length;
  const whole: Target = { name: 'whole', view: (t) => t, rebuild: (b, f) => f(b) };
  const narrowArb = fc.integer({ min: 0, max: nd - 1 }).chain((d) =>
    fc.integer({ min: 0, max: shape[d] - 1 }).chain((start) =>
      fc.integer({ min: 1, max: shape[d] - start }).map(
        (length): Target => ({
          name: `narrow(${d}, ${start}, ${length})`,
          view: (t) => t.narrow(d, start, length),
          rebuild: (b, f) => replaceRange(b, d, start, length, f),
        }),
      ),
    ),
  );
  const selectArb = fc.integer({ min: 0, max: nd - 1 }).chain((d) =>
    fc.integer({ min: 0, max: shape[d] - 1 }).map(
      (i): Target => ({
        name: `select(${d}, ${i})`,
        view: (t) => t.select(d, i),
        rebuild: (b, f) => replaceRange(b, d, i, 1, (v) => f(v.squeeze(d)).unsqueeze(d)),
      }),
    ),
  );
  // a view of a view: the last dim of the transpose, narrowed
  const transposedArb = fc.integer({ min: 0, max: shape[0] - 1 }).map(
    (start): Target => ({
      name: `transpose(0, -1).narrow(-1, ${start}, 1)`,
      view: (t) => t.transpose(0, -1).narrow(-1, start, 1),
      rebuild: (b, f) => replaceRange(b, 0, start, 1, (v) => f(v.transpose(0, -1)).transpose(0, -1)),
    }),
  );
  return fc.oneof(fc.constant(whole), narrowArb, selectArb, transposedArb);
}

interface Chain {
  shape: number[];
  steps: { target: Target; op: OpCase }[];
}

const chainArb: fc.Arbitrary<Chain> = shapeArb({ minDims: 1, maxDims: 3, maxSize: 4, maxNumel: 24 }).chain((shape) =>
  fc
    .array(fc.record({ target: targetArb(shape), op: fc.constantFrom(...ops) }), { minLength: 1, maxLength: 4 })
    .map((steps) => ({ shape, steps })),
);

/** An operand of `like`'s shape that depends on the scalar input o (varying element by element). */
const operandFor = (like: Tensor, o: Tensor) => o.mul(T.arange(0, like.numel, 1, { dtype: 'float64' }).reshape(like.shape).mul(0.3).sub(0.5));

/**
 * The chain with in-place ops on y = 2x (a non-leaf) and views of it. Returns y and a
 * view taken before any write, which must follow every write through its base.
 */
function inPlaceChain(chain: Chain, x: Tensor, o: Tensor): Tensor[] {
  const y = x.mul(2);
  const early = y.select(-1, 0);
  for (const { target, op } of chain.steps) {
    const v = target.view(y);
    op.inplace(v, operandFor(v, o));
  }
  return [y, early.mul(1)];
}

function outOfPlaceChain(chain: Chain, x: Tensor, o: Tensor): Tensor[] {
  let y = x.mul(2);
  for (const { target, op } of chain.steps) y = target.rebuild(y, (v) => op.outOfPlace(v, operandFor(v, o)));
  return [y, y.select(-1, 0)];
}

const describeChain = (c: Chain) => `[${c.shape.join(', ')}]: ${c.steps.map((s) => `${s.target.name}.${s.op.name}`).join(', ')}`;

describe('in-place ops under autograd', () => {
  it('chains on non-leaf tensors and their views match the out-of-place chain in values and gradients, and pass gradcheck', () => {
    fc.assert(
      fc.property(chainArb, layoutArb, seedArb, (chain, layout, seed) => {
        const x = makeTensor(chain.shape, layout, seed, { requiresGrad: true, range: { awayFromZero: 0.05, high: 1.5 } });
        const o = T.tensor(values(1, seed + 7, { awayFromZero: 0.2 })[0], { dtype: 'float64', requiresGrad: true });
        const got = inPlaceChain(chain, x, o);
        const want = outOfPlaceChain(chain, x, o);
        got.forEach((g, i) => {
          expect(g.shape, describeChain(chain)).to.deep.equal(want[i].shape);
          expect(T.allclose(g, want[i], 1e-12, 1e-12), `${describeChain(chain)}: output ${i}`).to.equal(true);
        });
        const gradOutputs = want.map((w, i) => T.tensor(values(w.numel, seed + 11 + i), { shape: w.shape, dtype: 'float64' }));
        const gGot = T.grad(got, [x, o], { gradOutputs, allowUnused: true });
        const gWant = T.grad(want, [x, o], { gradOutputs, allowUnused: true });
        // an input that only reaches the outputs through an overwritten value gets null on one side, zeros on the other
        const orZeros = (g: Tensor | null, like: Tensor) => g ?? T.zerosLike(like);
        gGot.forEach((g, i) => {
          const like = [x, o][i];
          expect(T.allclose(orZeros(g, like), orZeros(gWant[i], like), 1e-10, 1e-10), `${describeChain(chain)}: gradient ${i}`).to.equal(true);
        });
        T.gradcheck((a, b) => inPlaceChain(chain, a, b), [x, o]);
      }),
      runs(80),
    );
  });

  it('rebases the history: gradFn, isLeaf and requiresGrad follow the write', () => {
    const x = T.tensor([1, 2, 3, 4], { dtype: 'float64', requiresGrad: true });
    const y = x.mul(1);
    const v = y.narrow(0, 1, 2);
    const w = y.narrow(0, 0, 2);
    const wNodeBefore = w.gradFn;
    v.mul_(3);
    expect(y.gradFn!.name).to.equal('CopySlices');
    expect(v.gradFn!.name).to.equal('NarrowBackward');
    expect(w.gradFn).to.not.equal(wNodeBefore); // rebuilt on top of CopySlices
    y.add_(1);
    expect(y.gradFn!.name).to.equal('AddBackward');

    // a buffer that requires no grad becomes a non-leaf when a view of it receives a tensor that does
    const buffer = T.zeros([6], { dtype: 'float64' });
    buffer.narrow(0, 1, 4).copy_(x);
    expect(buffer.isLeaf).to.equal(false);
    expect(buffer.requiresGrad).to.equal(true);
    buffer.mul(buffer).sum().backward();
    expect(x.grad!.toArray()).to.deep.equal([2, 4, 6, 8]);

    // overwriting every element keeps requiresGrad, with a zero gradient for the old value
    const z = T.tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    const u = z.mul(5);
    u.fill_(7);
    expect(u.requiresGrad).to.equal(true);
    u.sum().backward();
    expect(z.grad!.toArray()).to.deep.equal([0, 0]);
  });

  it('second derivatives flow through in-place ops and CopySlices (gradgradcheck)', () => {
    const x = makeTensor([3, 4], 'permuted', 3, { requiresGrad: true });
    const o = makeTensor([4], 'contiguous', 4, { requiresGrad: true });
    T.gradgradcheck(
      (a, b) => {
        const y = a.mul(a);
        y.narrow(0, 1, 2).mul_(b).tanh_();
        y.select(1, 2).addcmul_(b.narrow(0, 0, 3), y.select(1, 0).clone());
        return y;
      },
      [x, o],
    );
  });

  it('in-place ops inside noGrad keep the history and bump the version', () => {
    const x = T.tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    const y = x.mul(3);
    const node = y.gradFn;
    const version = y.storage.version;
    T.noGrad(() => y.add_(1));
    expect(y.gradFn).to.equal(node);
    expect(y.storage.version).to.equal(version + 1);
    expect(y.toArray()).to.deep.equal([4, 7]);
  });
});

describe('in-place ops that PyTorch refuses', () => {
  it('a leaf that requires grad, while recording (allowed inside noGrad)', () => {
    const p = T.tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    expect(() => p.add_(1)).to.throw(/^add_: a leaf tensor that requires grad \(shape \[2\]\) is being used in an in-place operation/);
    expect(() => p.relu_()).to.throw(/^relu_: a leaf tensor that requires grad/);
    T.noGrad(() => p.add_(1));
    expect(p.toArray()).to.deep.equal([2, 3]);
  });

  it('a view of a leaf that requires grad', () => {
    const p = T.tensor([[1, 2], [3, 4]], { dtype: 'float64', requiresGrad: true });
    expect(() => p.select(0, 1).mul_(2)).to.throw(/^mul_: a view \(shape \[2\]\) of a leaf tensor that requires grad \(shape \[2, 2\]\) is being used in an in-place operation/);
    expect(() => p.T.narrow(0, 0, 1).zero_()).to.throw(/^fill_: a view \(shape \[1, 2\]\) of a leaf tensor that requires grad/);
  });

  it('a tensor saved for backward and modified afterwards, naming the op and both versions', () => {
    const x = T.tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
    const y = x.exp(); // ExpBackward saves its output
    const loss = y.sum();
    y.add_(1);
    expect(() => loss.backward()).to.throw(
      /^ExpBackward: one of the tensors needed for gradient computation has been modified by an in-place operation: saved tensor 0 of shape \[3\] is at version 1; expected version 0/,
    );
    // through a view of the saved tensor
    const h = x.mul(1);
    const s = h.sigmoid();
    const out = s.sum();
    s.narrow(0, 0, 1).mul_(2);
    expect(() => out.backward()).to.throw(/^SigmoidBackward: .*modified by an in-place operation.*is at version 1; expected version 0/);
    // mul_ by a tensor that requires grad needs the old value of self, and keeps its own copy
    const a = x.mul(1);
    a.mul_(x);
    a.sum().backward();
    expect(x.grad!.toArray()).to.deep.equal([2, 4, 6]);
  });

  it('a view made inside noGrad whose base takes part in autograd', () => {
    const y = T.tensor([1, 2], { dtype: 'float64', requiresGrad: true }).mul(2);
    const v = T.noGrad(() => y.narrow(0, 0, 1));
    expect(() => v.mul_(2)).to.throw(/^mul_: a view \(shape \[1\]\) made inside noGrad\(\) is being modified in place while gradients are recorded/);
  });

  it('an expanded tensor, always', () => {
    const y = T.tensor([1], { dtype: 'float64', requiresGrad: true }).mul(2).expand([3]);
    expect(() => y.add_(1)).to.throw(/^add_: cannot write into an expanded tensor \(shape \[3\], strides \[0\]\)/);
  });
});
