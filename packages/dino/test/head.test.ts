import { expect } from 'chai';
import { type Tensor, Generator, randn, tensor } from '@dinots/tensor';
import { Linear, Module } from '@dinots/nn';
import { DINOHead, MultiCropWrapper, buildDinoNetworks, cancelGradientsLastLayer, getParamsGroups, updateTeacher } from '../src/index.js';

const gen = () => new Generator(3);
const tiny = { imgSize: 16, patchSize: 8, inChans: 1, embedDim: 8, depth: 1, numHeads: 2, outDim: 12, headHiddenDim: 16, headBottleneckDim: 4, dtype: 'float64' as const };

describe('DINOHead', () => {
  it('has the official keys, shapes and init (MLP trunc-normal 0.02, zero biases; weight_v default Linear init; g = 1 frozen)', () => {
    const head = new DINOHead({ inDim: 32, outDim: 300, hiddenDim: 64, bottleneckDim: 16, generator: gen() });
    const sd = head.stateDict();
    expect(Object.entries(sd).map(([k, v]) => `${k} ${v.shape}`)).to.deep.equal([
      'mlp.0.weight 64,32', 'mlp.0.bias 64', 'mlp.2.weight 64,64', 'mlp.2.bias 64', 'mlp.4.weight 16,64', 'mlp.4.bias 16',
      'last_layer.weight_g 300,1', 'last_layer.weight_v 300,16',
    ]);
    const w = sd['mlp.2.weight'].dataSync();
    const std = Math.sqrt([...w].reduce((s, x) => s + x * x, 0) / w.length);
    expect(std).to.be.within(0.018, 0.022);
    expect([...sd['mlp.0.bias'].dataSync()].every((x) => x === 0)).to.equal(true);
    const v = [...sd['last_layer.weight_v'].dataSync()];
    expect(Math.max(...v.map(Math.abs))).to.be.at.most(1 / Math.sqrt(16)).and.above(0.2);
    expect([...sd['last_layer.weight_g'].dataSync()].every((x) => x === 1)).to.equal(true);
    expect(head.lastLayer.weightG.requiresGrad).to.equal(false);
    expect(new DINOHead({ inDim: 4, outDim: 5, normLastLayer: false }).lastLayer.weightG.requiresGrad).to.equal(true);
    expect(Object.keys(new DINOHead({ inDim: 4, outDim: 5, nlayers: 1, bottleneckDim: 3 }).stateDict())).to.deep.equal(['mlp.weight', 'mlp.bias', 'last_layer.weight_g', 'last_layer.weight_v']);
  });

  it('computes g * v/||v|| on the L2-normalised bottleneck: logits are cosines when g = 1', () => {
    const head = new DINOHead({ inDim: 6, outDim: 5, hiddenDim: 7, bottleneckDim: 3, dtype: 'float64', generator: gen() });
    const x = randn([4, 6], { dtype: 'float64', generator: gen() });
    const out = head.forward(x);
    const h = head.mlp.forward(x).dataSync();
    const v = head.lastLayer.weightV.dataSync();
    const o = out.dataSync();
    for (let b = 0; b < 4; b++) for (let k = 0; k < 5; k++) {
      let dot = 0, nh = 0, nv = 0;
      for (let j = 0; j < 3; j++) { dot += h[b * 3 + j] * v[k * 3 + j]; nh += h[b * 3 + j] ** 2; nv += v[k * 3 + j] ** 2; }
      expect(o[b * 5 + k]).to.be.closeTo(dot / Math.sqrt(nh * nv), 1e-14);
    }
    expect(() => head.forward(randn([2, 5]))).to.throw(/Linear\(6, 7\).*\[2, ?5\]/);
  });
});

describe('MultiCropWrapper', () => {
  it('runs the backbone once per run of consecutive equal widths and keeps crop-major rows', () => {
    const calls: number[][] = [];
    class Probe extends Module {
      forward(x: Tensor): Tensor {
        calls.push([...x.shape]);
        return x.mean([1, 2, 3], false).unsqueeze(1);
      }
    }
    const w = new MultiCropWrapper(new Probe(), new Linear(1, 1));
    const crop = (v: number, s: number) => tensor(v, { dtype: 'float64' }).expand(2, 1, s, s).contiguous();
    const feats = w.backboneFeatures([crop(0, 4), crop(1, 4), crop(2, 2), crop(3, 2), crop(4, 4)]);
    expect(calls).to.deep.equal([[4, 1, 4, 4], [4, 1, 2, 2], [2, 1, 4, 4]]);
    expect([...feats.dataSync()]).to.deep.equal([0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
    expect(() => w.forward([crop(0, 4), randn([3, 1, 4, 4])])).to.throw(/MultiCropWrapper: crop 1 has shape \[3, ?1, ?4, ?4\]/);
  });
});

describe('momentum teacher, parameter groups, last-layer freezing', () => {
  it('starts as an exact copy without gradients, and the EMA follows theta_t <- m theta_t + (1 - m) theta_s over every parameter', () => {
    const { student, teacher } = buildDinoNetworks(tiny, gen());
    const s0 = student.stateDict();
    const t0 = Object.fromEntries(Object.entries(teacher.stateDict()).map(([k, v]) => [k, v.clone()]));
    for (const [k, v] of Object.entries(t0)) expect([...v.dataSync()], k).to.deep.equal([...s0[k].dataSync()]);
    expect([...teacher.parameters()].every((p) => !p.requiresGrad)).to.equal(true);
    const shift = new Map([...student.namedParameters()].map(([k, p]) => [k, p.detach().add(0.5)]));
    for (const [k, p] of student.namedParameters()) p.detach().copy_(shift.get(k)!);
    updateTeacher(teacher, student, 0.9);
    for (const [k, p] of teacher.namedParameters()) {
      const expected = t0[k].mul(0.9).add(shift.get(k)!.mul(1 - 0.9));
      expect(Math.max(...p.sub(expected).abs().dataSync()), k).to.be.below(1e-15);
    }
    // weight_g is frozen in the student but still averaged.
    expect(teacher.head.lastLayer.weightG.dataSync()[0]).to.be.closeTo(0.9 + 0.1 * 1.5, 1e-15);
  });

  it('puts biases and 1-D tensors in the group without weight decay and leaves frozen weight_g out', () => {
    const { student } = buildDinoNetworks(tiny, gen());
    const [decayed, plain] = getParamsGroups(student);
    const name = new Map([...student.namedParameters()].map(([k, p]) => [p, k]));
    expect(decayed.params.map((p) => name.get(p))).to.include.members(['backbone.cls_token', 'backbone.pos_embed', 'backbone.patch_embed.proj.weight', 'head.last_layer.weight_v', 'head.mlp.0.weight']);
    expect(plain.params.map((p) => name.get(p))).to.include.members(['backbone.patch_embed.proj.bias', 'backbone.norm.weight', 'backbone.blocks.0.norm1.weight', 'head.mlp.4.bias']);
    expect(plain.weightDecay).to.equal(0);
    const all = [...decayed.params, ...plain.params].map((p) => name.get(p));
    expect(all).to.not.include('head.last_layer.weight_g');
    expect(all.length).to.equal([...student.parameters()].length - 1);
    expect(decayed.params.every((p) => p.ndim > 1) && plain.params.every((p) => p.ndim === 1)).to.equal(true);
  });

  it('drops the last layer gradients while epoch < freezeLastLayer only', () => {
    const { student } = buildDinoNetworks(tiny, gen());
    const fill = () => { for (const p of student.parameters()) p.grad = p.detach().mul(0).add(1); };
    fill();
    cancelGradientsLastLayer(0, student, 1);
    for (const [k, p] of student.namedParameters()) expect(p.grad === null, k).to.equal(k.includes('last_layer'));
    fill();
    cancelGradientsLastLayer(1, student, 1);
    expect([...student.parameters()].every((p) => p.grad !== null)).to.equal(true);
  });
});
