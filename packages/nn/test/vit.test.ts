import { expect } from 'chai';
import { Generator, randn } from '@dinots/tensor';
import { VisionTransformer, vitTiny } from '../src/index.js';

const tiny = (options = {}) =>
  new VisionTransformer({ imgSize: 32, patchSize: 8, embedDim: 32, depth: 3, numHeads: 4, qkvBias: true, layerNormEps: 1e-6, generator: new Generator(5), ...options });
const images = (shape: number[], dtype: 'float32' | 'float64' = 'float32') => randn(shape, { dtype, generator: new Generator(9) });

describe('VisionTransformer', () => {
  it('initialises as the official code: trunc_normal(0.02) Linear weights and tokens, zero biases, LayerNorm 1/0, default conv', () => {
    const vit = vitTiny({ generator: new Generator(1) });
    const stats = (name: string) => {
      const v = Array.from(vit.stateDict()[name].dataSync());
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
      return { mean, std, maxAbs: v.reduce((m, x) => Math.max(m, Math.abs(x)), 0) };
    };
    for (const name of ['blocks.0.attn.qkv.weight', 'blocks.11.mlp.fc2.weight', 'pos_embed', 'cls_token']) {
      const s = stats(name);
      expect(s.std, name).to.be.closeTo(0.02, name === 'cls_token' ? 0.006 : 0.0006);
      expect(Math.abs(s.mean), name).to.be.below(0.003);
    }
    for (const name of ['blocks.0.attn.qkv.bias', 'blocks.3.mlp.fc1.bias', 'norm.bias', 'blocks.2.norm1.bias']) expect(stats(name).maxAbs, name).to.equal(0);
    expect(vit.stateDict()['blocks.5.norm2.weight'].dataSync().every((v) => v === 1)).to.equal(true);
    const bound = 1 / Math.sqrt(3 * 16 * 16);
    const conv = stats('patch_embed.proj.weight');
    expect(conv.maxAbs).to.be.at.most(bound).and.above(0.99 * bound);
    expect(conv.std).to.be.closeTo(bound / Math.sqrt(3), 0.001);
  });

  it('uses pos_embed unchanged for the training grid and resamples otherwise', () => {
    const vit = tiny();
    const tokens = (n: number) => randn([1, n + 1, 32]);
    expect(vit.interpolatePosEncoding(tokens(16), 32, 32)).to.equal(vit.posEmbed);
    expect(vit.interpolatePosEncoding(tokens(4), 16, 16).shape).to.deep.equal([1, 5, 32]);
    expect(vit.interpolatePosEncoding(tokens(8), 16, 32).shape).to.deep.equal([1, 9, 32]);
    // 17 tokens but a 2x8 grid (H != W): resampled even though the count matches.
    expect(vit.interpolatePosEncoding(tokens(16), 16, 64)).to.not.equal(vit.posEmbed);
    expect(vit.forward(images([2, 3, 24, 40])).shape).to.deep.equal([2, 32]);
  });

  it('returns CLS features, last-layer attention and intermediate layers with the right shapes', () => {
    const vit = tiny().eval();
    const x = images([2, 3, 32, 32]);
    expect(vit.forward(x).shape).to.deep.equal([2, 32]);
    const attn = vit.getLastSelfAttention(x);
    expect(attn.shape).to.deep.equal([2, 4, 17, 17]);
    const layers = vit.getIntermediateLayers(x, 2);
    expect(layers.map((t) => t.shape)).to.deep.equal([[2, 17, 32], [2, 17, 32]]);
    expect(layers[1].select(1, 0).sub(vit.forward(x)).abs().max().item()).to.equal(0);
  });

  it('float32 and float64 copies of the same model agree to float32 precision', () => {
    const vit = tiny();
    const x = images([2, 3, 32, 32]);
    const y32 = vit.forward(x);
    const y64 = vit.double().forward(x.double());
    expect(y64.dtype).to.equal('float64');
    expect(y32.double().sub(y64).abs().max().item()).to.be.below(1e-4);
  });

  it('sets drop-path rates linspace(0, r, depth) in float32 and draws per sample in training', () => {
    const vit = tiny({ dropPathRate: 0.1 });
    const rates = [...vit.blocks].map((b) => ('dropProb' in b.dropPath ? b.dropPath.dropProb : 0));
    expect(rates).to.deep.equal([0, Math.fround(0.05), Math.fround(0.1)]);
    const x = images([4, 3, 32, 32]);
    const train = vit.forward(x);
    const evaluation = vit.eval().forward(x);
    expect(train.sub(evaluation).abs().max().item()).to.be.above(0);
    expect(vit.forward(x).sub(evaluation).abs().max().item()).to.equal(0);
  });

  it('rejects inputs that are not image batches', () => {
    expect(() => tiny().forward(images([3, 32, 32]))).to.throw('VisionTransformer: expected images [B, C, H, W], got [3, 32, 32]');
    expect(() => tiny().forward(images([1, 1, 32, 32]))).to.throw(/Conv2d\(3, 32, kernel_size=8\): expected input \[B, 3/);
  });
});
