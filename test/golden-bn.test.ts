// Golden parity of BatchNorm1d and of the DINO head with BatchNorm (the official
// use_bn_in_head) in float64 against PyTorch (fixtures/golden/dino-bn.*, made by
// fixtures/golden/make_golden_bn.py with torch.nn.BatchNorm1d): outputs, gradients and
// running statistics in train mode, eval mode, the cumulative average; then two DINO steps
// of a BN head where the student normalises over all six crops at once and the teacher over
// the two global crops (both in train mode, as main_dino.py), SGD, and the EMA over
// parameters only (each network keeps its own running statistics).

import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import type { Tensor } from '@dinots/tensor';
import { BatchNorm1d, SGD, loadSafetensors } from '@dinots/nn';
import { DINOHead, DINOLoss, initTeacher, parityError, updateTeacher } from '@dinots/dino';

const fixture = (name: string) => new URL(`../fixtures/golden/${name}`, import.meta.url);
const golden = loadSafetensors(readFileSync(fixture('dino-bn.safetensors')));
const TOL = 1e-10;

function close(ours: Tensor, name: string): void {
  expect(golden[name], name).to.not.equal(undefined);
  expect(parityError(ours.to('float64'), golden[name]), name).to.be.below(TOL);
}

/** The golden entries under `prefix`, keys without it. */
const group = (prefix: string) => Object.fromEntries(Object.entries(golden).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));

describe('golden parity: BatchNorm1d and the DINO head with BatchNorm (float64, PyTorch reference)', () => {
  for (const [name, momentum, forwards] of [['2d', 0.1, 1], ['3d', 0.1, 1], ['cumulative', null, 2]] as const) {
    it(`BatchNorm1d ${name}: output, gradients, running statistics and eval output to 1e-10`, () => {
      const g = group(`bn/${name}/`);
      const bn = new BatchNorm1d(4, { momentum, dtype: 'float64' });
      bn.loadStateDict({ weight: g.weight, bias: g.bias, running_mean: g.running_mean_before, running_var: g.running_var_before }, { strict: false });
      const x = g.input.clone().requiresGrad_(true);
      let y = bn.forward(x);
      for (let i = 1; i < forwards; i++) y = bn.forward(x);
      y.mul(g.upstream).sum().backward();
      close(y, `bn/${name}/output`);
      close(x.grad!, `bn/${name}/grad_input`);
      close(bn.weight!.grad!, `bn/${name}/grad_weight`);
      close(bn.bias!.grad!, `bn/${name}/grad_bias`);
      close(bn.runningMean!, `bn/${name}/running_mean_after`);
      close(bn.runningVar!, `bn/${name}/running_var_after`);
      close(bn.eval().forward(x), `bn/${name}/eval_output`);
    });
  }

  it('two DINO steps of a BN head: student over all crops, teacher over the global crops, EMA of parameters only', () => {
    const params = group('head/params/');
    const options = { inDim: 32, outDim: 48, hiddenDim: 64, bottleneckDim: 16, useBn: true, dtype: 'float64' } as const;
    const student = new DINOHead(options);
    expect(Object.keys(student.stateDict())).to.deep.equal(Object.keys(params));
    student.loadStateDict(params);
    const teacher = initTeacher(new DINOHead(options), student);
    const loss = new DINOLoss({ outDim: 48, ncrops: 6, warmupTeacherTemp: 0.04, teacherTemp: 0.04, warmupTeacherTempEpochs: 0, epochs: 1, dtype: 'float64' });
    const trainable = [...student.namedParameters()].filter(([, p]) => p.requiresGrad);
    const sgd = new SGD(trainable.map(([, p]) => p), { lr: 0.1 });
    for (const step of [1, 2]) {
      const s = `head/step${step}`;
      const x = golden['head/input/student'].clone().requiresGrad_(true);
      const tOut = teacher.forward(golden['head/input/teacher']);
      const sOut = student.forward(x);
      close(sOut, `${s}/student_out`);
      close(tOut, `${s}/teacher_out`);
      const l = loss.forward(sOut, tOut, 0);
      close(l, `${s}/loss`);
      sgd.zeroGrad();
      l.backward();
      close(x.grad!, `${s}/grad_input`);
      for (const [k, p] of trainable) close(p.grad!, `${s}/grad/${k}`);
      sgd.step();
      updateTeacher(teacher, student, 0.996);
      for (const [k, v] of Object.entries(student.stateDict())) close(v, `${s}/student_after/${k}`);
      for (const [k, v] of Object.entries(teacher.stateDict())) close(v, `${s}/teacher_after/${k}`);
    }
    close(student.eval().forward(golden['head/input/student']), 'head/eval_output');
  });
});
