// Golden parity of two full DINO training steps in float64 against PyTorch
// (fixtures/golden/dino-tiny.*, made with the official vision_transformer.py, DINOHead,
// MultiCropWrapper and DINOLoss): backbone and head outputs, teacher probabilities, loss,
// centers, every gradient, the student after SGD and the teacher after EMA, for both steps;
// plus the schedules, the attention map and mask, and the k-NN toy case.

import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { type Tensor, Generator, cat, randn } from '@dinots/tensor';
import { SGD, loadSafetensors } from '@dinots/nn';
import { DINOLoss, buildDinoNetworks, parityError, runParity, updateTeacher, type ParitySidecar } from '@dinots/dino';

const fixture = (name: string) => new URL(`../fixtures/golden/${name}`, import.meta.url);
const golden = loadSafetensors(readFileSync(fixture('dino-tiny.safetensors')));
const sidecar = JSON.parse(readFileSync(fixture('dino-tiny.json'), 'utf8')) as ParitySidecar;
const c = sidecar.config;
const TOL = 1e-10;

function close(ours: Tensor, name: string): void {
  const err = parityError(ours, golden[name]);
  expect(err, name).to.be.below(TOL);
}

describe('golden parity: two DINO training steps (float64, PyTorch reference)', () => {
  it('builds student and teacher with the official keys and reproduces both steps to 1e-10', () => {
    const { student, teacher } = buildDinoNetworks({
      imgSize: c.img_size, patchSize: c.patch_size, inChans: c.in_chans, embedDim: c.embed_dim, depth: c.depth,
      numHeads: c.num_heads, mlpRatio: c.mlp_ratio, qkvBias: c.qkv_bias, layerNormEps: c.layernorm_eps,
      outDim: c.head_out_dim, headHiddenDim: c.head_hidden_dim, headBottleneckDim: c.head_bottleneck_dim,
      headNlayers: c.head_nlayers, normLastLayer: c.norm_last_layer, dtype: 'float64',
    });
    const params = Object.fromEntries(Object.entries(golden).filter(([k]) => k.startsWith('params/')).map(([k, v]) => [k.slice(7), v]));
    expect(Object.keys(student.stateDict())).to.deep.equal(Object.keys(params));
    student.loadStateDict(params);
    teacher.loadStateDict(params);
    const crops = [0, 1, 2, 3, 4, 5].map((i) => golden[`input/crop${i}`]);
    const loss = new DINOLoss({ outDim: 48, ncrops: 6, warmupTeacherTemp: 0.04, teacherTemp: 0.04, warmupTeacherTempEpochs: 0, epochs: 1, dtype: 'float64' });
    const trainable = [...student.namedParameters()].filter(([, p]) => p.requiresGrad);
    expect(trainable.map(([k]) => k)).to.not.include('head.last_layer.weight_g');
    const sgd = new SGD(trainable.map(([, p]) => p), { lr: 0.1 });

    for (const step of [1, 2]) {
      const s = `step${step}`;
      const feats = student.backboneFeatures(crops);
      const sOut = student.head.forward(feats);
      const tFeats = teacher.backboneFeatures(crops.slice(0, 2));
      const tOut = teacher.head.forward(tFeats);
      // Grouping crops by width must not change anything: per-crop passes give the same rows.
      if (step === 1) {
        expect(parityError(cat(crops.map((x) => student.backbone.forward(x)), 0), feats)).to.be.below(1e-14);
        close(feats, 'step1/student_backbone_out');
        close(tFeats, 'step1/teacher_backbone_out');
        close(loss.teacherProbs(tOut, 0), 'step1/teacher_probs');
        close(loss.center, 'step1/center_before');
      }
      close(sOut, `${s}/student_head_out`);
      close(tOut, `${s}/teacher_head_out`);
      const l = loss.forward(sOut, tOut, 0);
      close(l, `${s}/loss`);
      close(loss.center, `${s}/center_after`);
      student.zeroGrad();
      l.backward();
      for (const [key, p] of trainable) close(p.grad!, `${s}/grad/${key}`);
      for (const p of teacher.parameters()) expect(p.grad).to.equal(null);
      expect(student.head.lastLayer.weightG.grad).to.equal(null);
      sgd.step();
      updateTeacher(teacher, student, 0.996);
      if (step === 1) {
        for (const [key, p] of student.namedParameters()) close(p, `step1/student_after/${key}`);
        for (const [key, p] of teacher.namedParameters()) close(p, `step1/teacher_after/${key}`);
      }
    }
  });

  it('runParity compares every result tensor of the fixture, each group within 1e-10', () => {
    const report = runParity(golden, sidecar);
    expect(report.unrecognised).to.deep.equal([]);
    expect(report.groups.map((g) => g.group)).to.have.members([
      'positional embedding', 'attention', 'attention masks', 'centers', 'backbone outputs', 'head outputs',
      'teacher probabilities', 'loss', 'gradients', 'student after SGD', 'teacher after EMA', 'schedules', 'k-NN',
    ]);
    const inputs = Object.keys(golden).filter((n) => /^(params|input)\/|^knn\/(train|test)_/.test(n)).length;
    expect(report.comparisons.length + inputs).to.equal(Object.keys(golden).length);
    for (const g of report.groups) expect(g.worst, `${g.group} (${g.worstTensor})`).to.be.below(TOL);
  });

  it('runParity notices a corrupted tensor', () => {
    const corrupted = { ...golden, 'step2/grad/head.mlp.2.bias': golden['step2/grad/head.mlp.2.bias'].add(1e-7) };
    const report = runParity(corrupted, sidecar);
    const g = report.groups.find((x) => x.group === 'gradients')!;
    expect(g.worstTensor).to.equal('step2/grad/head.mlp.2.bias');
    expect(g.worst).to.be.above(9e-8);
  });
});

describe('runParity on another configuration', () => {
  it('has no sizes built in: a reference written for depth 1, patch 4, 3 local crops, a 2-layer head, K 20, B 2 passes', () => {
    // The reference is written here with the same modules (so this checks generality, not
    // values; the values are checked against PyTorch above).
    const config = {
      ...c, img_size: 16, patch_size: 4, embed_dim: 16, head_in_dim: 16, depth: 1, num_heads: 2, head_hidden_dim: 24, head_bottleneck_dim: 8,
      head_out_dim: 20, head_nlayers: 2, n_local_crops: 3, global_crop_size: 16, local_crop_size: 8, batch_size: 2,
      teacher_temp: 0.05, center_momentum: 0.8, sgd_lr: 0.05, ema_momentum: 0.99,
    };
    const gen = new Generator(11);
    const build = () => buildDinoNetworks({
      imgSize: 16, patchSize: 4, inChans: 3, embedDim: 16, depth: 1, numHeads: 2, mlpRatio: 4, qkvBias: true, layerNormEps: 1e-6,
      outDim: 20, headHiddenDim: 24, headBottleneckDim: 8, headNlayers: 2, dtype: 'float64',
    }, gen);
    const { student, teacher } = build();
    const file: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(student.stateDict())) file[`params/${k}`] = v.clone();
    const crops = [16, 16, 8, 8, 8].map((s, i) => (file[`input/crop${i}`] = randn([2, 3, s, s], { dtype: 'float64', generator: gen })));
    const loss = new DINOLoss({ outDim: 20, ncrops: 5, studentTemp: 0.1, centerMomentum: 0.8, warmupTeacherTemp: 0.05, teacherTemp: 0.05, warmupTeacherTempEpochs: 0, epochs: 1, dtype: 'float64' });
    const sgd = new SGD([...student.parameters()].filter((p) => p.requiresGrad), { lr: 0.05 });
    for (const step of [1, 2]) {
      const sOut = student.forward(crops);
      const tOut = teacher.forward(crops.slice(0, 2));
      file[`step${step}/student_head_out`] = sOut.detach().clone();
      file[`step${step}/teacher_head_out`] = tOut.detach().clone();
      const l = loss.forward(sOut, tOut, 0);
      file[`step${step}/loss`] = l.detach().clone();
      file[`step${step}/center_after`] = loss.center.clone();
      l.backward();
      for (const [k, p] of student.namedParameters()) if (p.grad !== null) file[`step${step}/grad/${k}`] = p.grad.clone();
      sgd.step();
      sgd.zeroGrad();
      updateTeacher(teacher, student, 0.99);
      for (const [k, p] of teacher.namedParameters()) file[`step${step}/teacher_after/${k}`] = p.detach().clone();
    }
    const report = runParity(file, { config });
    expect(report.unrecognised).to.deep.equal([]);
    expect(report.comparisons.length).to.equal(Object.keys(file).filter((n) => n.startsWith('step')).length);
    expect(report.worst).to.equal(0);
    // And a wrong config is caught: another center momentum changes step 2.
    expect(runParity(file, { config: { ...config, center_momentum: 0.9 } }).worst).to.be.above(1e-6);
  });
});

describe('runParity with a BatchNorm head (head_use_bn), against PyTorch', () => {
  // fixtures/golden/dino-bn.* (make_golden_bn.py) holds a DINO head with BatchNorm fed the
  // CLS features of dino-tiny's step 1: its step 1 is step 1 of a full run with dino-tiny's
  // backbone and crops and that head. The reference here is that run in runParity's format:
  // dino-tiny's backbone parameters and crops, and dino-bn's head state and step-1 results
  // under the official MultiCropWrapper keys. (dino-bn's step 2 feeds the same features
  // again, while a full run's backbone has taken an SGD step in between, so it is left out.)
  const bn = loadSafetensors(readFileSync(fixture('dino-bn.safetensors')));
  const file: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(golden)) if (/^(params\/backbone\.|input\/)/.test(name)) file[name] = t;
  const renamed: [string, string][] = [
    ['head/params/', 'params/head.'],
    ['head/step1/grad/', 'step1/grad/head.'],
    ['head/step1/student_after/', 'step1/student_after/head.'],
    ['head/step1/teacher_after/', 'step1/teacher_after/head.'],
    ['head/step1/student_out', 'step1/student_head_out'],
    ['head/step1/teacher_out', 'step1/teacher_head_out'],
    ['head/step1/loss', 'step1/loss'],
  ];
  for (const [name, t] of Object.entries(bn)) {
    const rule = renamed.find(([from]) => name.startsWith(from));
    if (rule !== undefined) file[rule[1] + name.slice(rule[0].length)] = t;
  }
  const config = { ...c, head_use_bn: true };

  it('reproduces step 1 to 1e-10: head outputs, loss, gradients, parameters after SGD and EMA, and both networks\' running statistics', () => {
    const report = runParity(file, { config });
    expect(report.unrecognised).to.deep.equal([]);
    expect(report.groups.map((g) => g.group)).to.have.members([
      'head outputs', 'loss', 'gradients', 'student after SGD', 'teacher after EMA', 'BatchNorm running statistics',
    ]);
    expect(report.comparisons.length).to.equal(Object.keys(file).filter((n) => n.startsWith('step1/')).length);
    expect(report.groups.find((g) => g.group === 'BatchNorm running statistics')!.count).to.equal(2 * 2 * 3);
    for (const g of report.groups) expect(g.worst, `${g.group} (${g.worstTensor})`).to.be.below(TOL);
  });

  it('notices a wrong running statistic, and still reports a tensor it does not know', () => {
    const name = 'step1/teacher_after/head.mlp.4.running_var';
    const report = runParity({ ...file, [name]: file[name].add(1e-7), 'step1/grad_input': bn['head/step1/grad_input'] }, { config });
    const g = report.groups.find((x) => x.group === 'BatchNorm running statistics')!;
    expect(g.worstTensor).to.equal(name);
    expect(g.worst).to.be.above(9e-8);
    expect(report.unrecognised).to.deep.equal(['step1/grad_input']);
  });
});
