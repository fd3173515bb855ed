// Golden parity: DINO's ViT in float64 against values computed with PyTorch by the official
// vision_transformer.py (fixtures/golden/dino-tiny.*; tiny config: 32 px, patch 8, D 32,
// depth 2, 4 heads, qkv bias, LayerNorm eps 1e-6).

import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { type Tensor, cat, gradcheck, randn, Generator } from '@dinots/tensor';
import { VisionTransformer, loadSafetensors } from '@dinots/nn';

const fixture = (name: string) => new URL(`../fixtures/golden/${name}`, import.meta.url);
const golden = loadSafetensors(readFileSync(fixture('dino-tiny.safetensors')));
const config = JSON.parse(readFileSync(fixture('dino-tiny.json'), 'utf8')).config;

function maxAbsDiff(a: Tensor, b: Tensor): number {
  expect(a.shape).to.deep.equal(b.shape);
  const x = a.dataSync();
  const y = b.dataSync();
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

function goldenVit(): VisionTransformer {
  const vit = new VisionTransformer({
    imgSize: config.img_size,
    patchSize: config.patch_size,
    inChans: config.in_chans,
    embedDim: config.embed_dim,
    depth: config.depth,
    numHeads: config.num_heads,
    mlpRatio: config.mlp_ratio,
    qkvBias: config.qkv_bias,
    layerNormEps: config.layernorm_eps,
    dtype: 'float64',
  }).eval();
  const state = Object.fromEntries(
    Object.entries(golden)
      .filter(([k]) => k.startsWith('params/backbone.'))
      .map(([k, v]) => [k.slice('params/backbone.'.length), v]),
  );
  vit.loadStateDict(state);
  return vit;
}

const crops = [0, 1, 2, 3, 4, 5].map((c) => golden[`input/crop${c}`]);

describe('golden parity: ViT (float64, PyTorch reference)', () => {
  const vit = goldenVit();

  it('loads every backbone key of the official checkpoint layout, strictly', () => {
    expect(Object.keys(vit.stateDict())).to.have.length(4 + 12 * config.depth + 2);
  });

  it('resamples the positional embedding for the 16x16 local crops to 1e-10', () => {
    const x = crops[2];
    const tokens = vit.patchEmbed.forward(x);
    const withCls = cat([vit.clsToken.expand(x.shape[0], 1, config.embed_dim), tokens], 1);
    const pos = vit.interpolatePosEncoding(withCls, 16, 16);
    expect(maxAbsDiff(pos, golden['step1/pos_embed_interp_local'])).to.be.below(1e-10);
  });

  it('reproduces the CLS outputs of all six crops to 1e-10', () => {
    const out = cat(crops.map((x) => vit.forward(x)), 0);
    expect(maxAbsDiff(out, golden['step1/student_backbone_out'])).to.be.below(1e-10);
  });

  it('reproduces the last-layer self-attention of crop 0 to 1e-10', () => {
    expect(maxAbsDiff(vit.getLastSelfAttention(crops[0]), golden['step1/last_selfattn_crop0'])).to.be.below(1e-10);
  });

  it('getIntermediateLayers(x, 1) ends in the same CLS feature as forward', () => {
    const [last] = vit.getIntermediateLayers(crops[3], 1);
    expect(maxAbsDiff(last.select(1, 0), vit.forward(crops[3]))).to.equal(0);
  });

  it('passes gradcheck of a scalar function of the outputs w.r.t. the input and every parameter', () => {
    // A local crop, so the gradient also flows back through the bicubic pos_embed resampling.
    const x = crops[2].narrow(0, 0, 2).clone().requiresGrad_(true);
    const weights = randn([2, config.embed_dim], { dtype: 'float64', generator: new Generator(7) });
    const loss = () => vit.forward(x).mul(weights).sum().square();
    expect(gradcheck(loss, [x, ...vit.parameters()], { fastMode: true })).to.equal(true);
  });
});
