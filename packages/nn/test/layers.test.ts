// Every layer in float64: values against a direct formula where there is one, and gradcheck
// (full Jacobians for the small layers, random projections for the composite ones).

import { expect } from 'chai';
import { Generator, type Tensor, cat, gradcheck, randn, tensor } from '@dinots/tensor';
import { Attention, Block, Conv2d, DropPath, Dropout, GELU, Identity, LayerNorm, Linear, Mlp, PatchEmbed, Sequential } from '../src/index.js';

const gen = () => new Generator(42);
const input = (shape: number[], seed = 1) => randn(shape, { dtype: 'float64', generator: new Generator(seed) }).requiresGrad_(true);
/** gradcheck of `fn` w.r.t. x and every parameter of the module. */
const check = (fn: (x: Tensor) => Tensor, x: Tensor, params: Iterable<Tensor>, fastMode = false) =>
  gradcheck((xx) => fn(xx), [x, ...params], { fastMode });

describe('layers', () => {
  it('Linear computes x W^T + b over any leading dims and passes gradcheck', () => {
    const lin = new Linear(3, 2, { dtype: 'float64', generator: gen() });
    const x = input([2, 2, 3]);
    const y = lin.forward(x);
    const [w, b, xs] = [lin.weight.toArray() as number[][], lin.bias!.toArray() as number[], x.toArray() as number[][][]];
    const expected = xs.map((m) => m.map((row) => w.map((wr, o) => wr.reduce((s, v, i) => s + v * row[i], b[o]))));
    const actual = y.toArray() as number[][][];
    actual.flat(2).forEach((v, i) => expect(v).to.be.closeTo(expected.flat(2)[i], 1e-14));
    expect(check((t) => lin.forward(t), x, lin.parameters())).to.equal(true);
    const noBias = new Linear(3, 2, { bias: false, dtype: 'float64', generator: gen() });
    expect(noBias.bias).to.equal(null);
    expect(check((t) => noBias.forward(t), x, noBias.parameters())).to.equal(true);
    expect(() => lin.forward(input([2, 4]))).to.throw('Linear(3, 2): expected input [..., 3], got [2, 4]');
  });

  it('Linear default init is kaiming-uniform: |w|, |b| <= 1/sqrt(fan_in)', () => {
    const lin = new Linear(16, 64, { generator: gen() });
    const w = lin.weight.dataSync();
    expect(Math.max(...w.map(Math.abs))).to.be.at.most(0.25).and.above(0.2);
    expect(Math.max(...lin.bias!.dataSync().map(Math.abs))).to.be.at.most(0.25);
  });

  it('LayerNorm normalises the last dims (biased variance) and passes gradcheck', () => {
    const ln = new LayerNorm(4, { eps: 1e-6, dtype: 'float64' });
    const x = input([3, 4]);
    const row = (x.toArray() as number[][])[0];
    const mean = row.reduce((a, b) => a + b) / 4;
    const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / 4;
    const y = (ln.forward(x).toArray() as number[][])[0];
    y.forEach((v, i) => expect(v).to.be.closeTo((row[i] - mean) / Math.sqrt(variance + 1e-6), 1e-14));
    ln.weight!.detach().copy_(randn([4], { dtype: 'float64', generator: gen() }));
    expect(check((t) => ln.forward(t), x, ln.parameters())).to.equal(true);
    expect(check((t) => new LayerNorm([3, 4], { elementwiseAffine: false, dtype: 'float64' }).forward(t), x, [])).to.equal(true);
  });

  it('GELU is the exact erf form and passes gradcheck', () => {
    const x = tensor([-1, 0.5, 2], { dtype: 'float64' });
    const y = new GELU().forward(x).toArray() as number[];
    expect(y[1]).to.be.closeTo(0.5 * 0.5 * (1 + 0.3829249225480262), 1e-15); // erf(0.5/sqrt 2), from Python's math.erf
    expect(check((t) => new GELU().forward(t), input([5]), [])).to.equal(true);
  });

  it('Dropout zeroes elements at rate p, scales the rest by 1/(1-p), and is the identity in eval mode', () => {
    const drop = new Dropout(0.25, gen());
    const y = drop.forward(randn([10000], { dtype: 'float64' }).abs().add(1)).dataSync();
    const zeros = y.filter((v) => v === 0).length;
    expect(zeros / y.length).to.be.closeTo(0.25, 0.02);
    const x = input([6]);
    expect(drop.eval().forward(x)).to.equal(x);
    // A fixed mask (same seed each call) is a linear map: its gradient must check out.
    expect(check((t) => new Dropout(0.5, gen()).forward(t), x, [])).to.equal(true);
    expect(() => new Dropout(1.5)).to.throw('Dropout: probability has to be between 0 and 1, got 1.5');
  });

  it('DropPath keeps or drops whole samples, scaling kept ones by 1/(1-r)', () => {
    const dp = new DropPath(0.5, gen());
    const x = tensor(Array.from({ length: 64 }, () => [1, 1, 1]), { dtype: 'float64' });
    const rows = dp.forward(x).toArray() as number[][];
    for (const r of rows) expect(r[0] === 0 || r[0] === 2).to.equal(true) && expect(new Set(r).size).to.equal(1);
    const kept = rows.filter((r) => r[0] === 2).length;
    expect(kept).to.be.within(20, 44);
    expect(check((t) => new DropPath(0.3, gen()).forward(t), input([4, 2, 3]), [])).to.equal(true);
    expect(dp.eval().forward(x)).to.equal(x);
  });

  it('Identity and Sequential', () => {
    const x = input([2, 3]);
    expect(new Identity().forward(x)).to.equal(x);
    const seq = new Sequential(new Linear(3, 4, { dtype: 'float64', generator: gen() }), new GELU(), new Linear(4, 2, { dtype: 'float64', generator: gen() }));
    expect(seq.forward(x).shape).to.deep.equal([2, 2]);
    expect(check((t) => seq.forward(t), x, seq.parameters())).to.equal(true);
  });

  it('Mlp passes gradcheck', () => {
    const mlp = new Mlp(4, { hiddenFeatures: 8, dtype: 'float64', generator: gen() });
    expect(check((t) => mlp.forward(t), input([2, 3, 4]), mlp.parameters(), true)).to.equal(true);
  });

  it('Attention matches a per-head reference, returns probabilities, and passes gradcheck', () => {
    const attn = new Attention(8, { numHeads: 2, qkvBias: true, dtype: 'float64', generator: gen() });
    const x = input([2, 3, 8]);
    const { output, attention } = attn.forwardWithAttention(x);
    expect(attention.shape).to.deep.equal([2, 2, 3, 3]);
    (attention.sum(-1).toArray() as number[][][]).flat(2).forEach((s) => expect(s).to.be.closeTo(1, 1e-15));
    // Reference for batch 0: head h's q, k, v are columns [4h, 4h+4) of the Q, K and V thirds of qkv(x).
    const qkv = attn.qkv.forward(x).select(0, 0);
    const part = (third: number, h: number) => qkv.narrow(1, 8 * third + 4 * h, 4);
    const probs = [0, 1].map((h) => part(0, h).matmul(part(1, h).mT).div(2).softmax(-1));
    probs.forEach((p, h) => expect(p.sub(attention.select(0, 0).select(0, h)).abs().max().item()).to.be.below(1e-15));
    const expected = attn.proj.forward(cat([0, 1].map((h) => probs[h].matmul(part(2, h))), 1));
    expect(expected.sub(output.select(0, 0)).abs().max().item()).to.be.below(1e-14);
    expect(output.shape).to.deep.equal([2, 3, 8]);
    expect(check((t) => attn.forward(t), x, attn.parameters(), true)).to.equal(true);
    expect(() => attn.forward(input([2, 3, 4]))).to.throw('Attention(dim=8): expected input [B, N, 8], got [2, 3, 4]');
  });

  it('Block is x + attn(norm1(x)), then + mlp(norm2(.)), and passes gradcheck (also with drop path)', () => {
    const block = new Block(8, { numHeads: 2, qkvBias: true, layerNormEps: 1e-6, dtype: 'float64', generator: gen() });
    const x = input([2, 3, 8]);
    const y = x.add(block.attn.forward(block.norm1.forward(x)));
    const expected = y.add(block.mlp.forward(block.norm2.forward(y)));
    expect(block.forward(x).sub(expected).abs().max().item()).to.equal(0);
    expect(block.selfAttention(x).shape).to.deep.equal([2, 2, 3, 3]);
    expect(check((t) => block.forward(t), x, block.parameters(), true)).to.equal(true);
    expect(block.dropPath).to.be.instanceOf(Identity);
    const dropping = new Block(8, { numHeads: 2, dropPath: 0.5, dtype: 'float64', generator: gen() });
    expect(dropping.dropPath).to.be.instanceOf(DropPath);
    expect(check((t) => { (dropping.dropPath as DropPath).generator!.manualSeed(3); return dropping.forward(t); }, x, dropping.parameters(), true)).to.equal(true);
  });

  it('Conv2d (patchify) equals the convolution sum, ignores leftover pixels, and passes gradcheck', () => {
    const conv = new Conv2d(2, 3, 2, { dtype: 'float64', generator: gen() });
    const x = input([1, 2, 5, 4]);
    const y = conv.forward(x);
    expect(y.shape).to.deep.equal([1, 3, 2, 2]);
    const [w, b, xs] = [conv.weight.toArray() as number[][][][], conv.bias!.toArray() as number[], (x.toArray() as number[][][][])[0]];
    let s = b[2];
    for (let c = 0; c < 2; c++) for (let u = 0; u < 2; u++) for (let v = 0; v < 2; v++) s += w[2][c][u][v] * xs[c][2 + u][0 + v];
    expect((y.toArray() as number[][][][])[0][2][1][0]).to.be.closeTo(s, 1e-14);
    expect(check((t) => conv.forward(t), x, conv.parameters())).to.equal(true);
    expect(() => new Conv2d(3, 4, 3, { stride: 1 })).to.throw(/only non-overlapping patches/);
    expect(() => conv.forward(input([1, 3, 4, 4]))).to.throw('Conv2d(2, 3, kernel_size=2): expected input [B, 2, H >= 2, W >= 2], got [1, 3, 4, 4]');
  });

  it('PatchEmbed orders tokens row-major over the patch grid', () => {
    const pe = new PatchEmbed({ imgSize: 4, patchSize: 2, inChans: 1, embedDim: 3, dtype: 'float64', generator: gen() });
    const x = input([1, 1, 4, 6]);
    const tokens = pe.forward(x);
    expect(tokens.shape).to.deep.equal([1, 6, 3]);
    const grid = pe.proj.forward(x);
    // token t = row * (W/p) + col
    expect(tokens.select(1, 4).sub(grid.select(2, 1).select(2, 1)).abs().max().item()).to.equal(0);
    expect(check((t) => pe.forward(t), x, pe.parameters())).to.equal(true);
  });
});
