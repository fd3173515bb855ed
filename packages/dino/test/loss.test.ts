import { expect } from 'chai';
import { type Tensor, softmax, tensor } from '@dinots/tensor';
import { DINOLoss, teacherTempSchedule } from '../src/index.js';
import { golden, maxAbsDiff } from './golden.js';

const tiny = () => new DINOLoss({ outDim: 48, ncrops: 6, warmupTeacherTemp: 0.04, teacherTemp: 0.04, warmupTeacherTempEpochs: 0, epochs: 1, dtype: 'float64' });

describe('DINOLoss', () => {
  it('reproduces both golden steps: loss, teacher probabilities and centers (float64, 1e-10)', () => {
    const loss = tiny();
    expect(maxAbsDiff(loss.center, golden('step1/center_before'))).to.equal(0);
    expect(maxAbsDiff(loss.teacherProbs(golden('step1/teacher_head_out'), 0), golden('step1/teacher_probs'))).to.be.below(1e-10);
    const l1 = loss.forward(golden('step1/student_head_out'), golden('step1/teacher_head_out'), 0);
    expect(Math.abs(l1.item() - golden('step1/loss').item())).to.be.below(1e-10);
    expect(maxAbsDiff(loss.center, golden('step1/center_after'))).to.be.below(1e-10);
    const l2 = loss.forward(golden('step2/student_head_out'), golden('step2/teacher_head_out'), 0);
    expect(Math.abs(l2.item() - golden('step2/loss').item())).to.be.below(1e-10);
    expect(maxAbsDiff(loss.center, golden('step2/center_after'))).to.be.below(1e-10);
  });

  it('has the analytic gradient w.r.t. the student logits (Caron et al. 2021, equation 2)', () => {
    for (const step of ['step1', 'step2']) {
      const loss = tiny();
      if (step === 'step2') loss.center = golden('step1/center_after');
      const student = golden(`${step}/student_head_out`).detach().requiresGrad_();
      const teacherOut = golden(`${step}/teacher_head_out`).detach().requiresGrad_();
      const q = loss.teacherProbs(teacherOut, 0).dataSync();
      loss.forward(student, teacherOut, 0).backward();
      expect(teacherOut.grad).to.equal(null); // the teacher never gets gradients
      // dL/ds_v[b] = sum_{i in {0,1}, i != v} (softmax(s_v[b]/0.1) - q_i[b]) / (0.1 * B * nTerms)
      const B = 3, K = 48, V = 6, nTerms = 2 * (V - 1);
      const p = softmax(student.detach().div(0.1), -1).dataSync();
      const expected = new Float64Array(V * B * K);
      for (let v = 0; v < V; v++) for (let b = 0; b < B; b++) for (let i = 0; i < 2; i++) {
        if (i === v) continue;
        for (let k = 0; k < K; k++) expected[(v * B + b) * K + k] += (p[(v * B + b) * K + k] - q[(i * B + b) * K + k]) / (0.1 * B * nTerms);
      }
      expect(maxAbsDiff(student.grad!, tensor(expected, { shape: [V * B, K], dtype: 'float64' }))).to.be.below(1e-12);
    }
  });

  it('skips same-view pairs: with V = 2 it is the symmetric cross-entropy of the two global crops', () => {
    const loss = new DINOLoss({ outDim: 3, ncrops: 2, warmupTeacherTemp: 0.5, teacherTemp: 0.5, warmupTeacherTempEpochs: 0, epochs: 1, dtype: 'float64' });
    const s = tensor([[1, 0, 0], [0, 2, 0]], { dtype: 'float64' });
    const t = tensor([[0, 0, 1], [1, 1, 0]], { dtype: 'float64' });
    const ce = (qRow: number, sRow: number) => {
      const q = softmax(t.select(0, qRow).div(0.5), 0).dataSync();
      const ls = s.select(0, sRow).div(0.1).logSoftmax(0).dataSync();
      let ce = 0;
      for (let k = 0; k < 3; k++) ce -= q[k] * ls[k];
      return ce;
    };
    expect(loss.forward(s, t, 0).item()).to.be.closeTo((ce(0, 1) + ce(1, 0)) / 2, 1e-12);
    const center = loss.center.dataSync();
    [0.05, 0.05, 0.05].forEach((c, k) => expect(center[k]).to.be.closeTo(c, 1e-15));
  });

  it('agrees with the golden loss in float32 to ~1e-6 relative', () => {
    const loss = new DINOLoss({ outDim: 48, ncrops: 6, warmupTeacherTemp: 0.04, teacherTemp: 0.04, warmupTeacherTempEpochs: 0, epochs: 1 });
    const l1 = loss.forward(golden('step1/student_head_out').float(), golden('step1/teacher_head_out').float(), 0);
    expect(l1.dtype).to.equal('float32');
    expect(l1.item()).to.be.closeTo(golden('step1/loss').item(), 1e-5);
    const l2 = loss.forward(golden('step2/student_head_out').float(), golden('step2/teacher_head_out').float(), 0);
    expect(l2.item()).to.be.closeTo(golden('step2/loss').item(), 1e-5);
  });

  it('names the shapes when the outputs do not match the crop layout', () => {
    const loss = tiny();
    expect(() => loss.forward(golden('step1/student_head_out').narrow(0, 0, 17), golden('step1/teacher_head_out'), 0)).to.throw(/student rows 17/);
    expect(() => loss.teacherTemp(3)).to.throw(/epoch 3 is outside/);
  });
});

describe('teacherTempSchedule', () => {
  it('matches the golden 0.04 -> 0.07 warm-up over 3 of 5 epochs', () => {
    const s = teacherTempSchedule({ warmupTeacherTemp: 0.04, teacherTemp: 0.07, warmupTeacherTempEpochs: 3, epochs: 5 });
    expect(maxAbsDiff(tensor(s, { dtype: 'float64' }), golden('sched/teacher_temp'))).to.be.below(1e-15);
  });

  it('is the paper recipe: epoch e < 30 gets 0.04 + e * 0.03 / 29, then 0.07', () => {
    const s = teacherTempSchedule({ warmupTeacherTemp: 0.04, teacherTemp: 0.07, warmupTeacherTempEpochs: 30, epochs: 100 });
    for (let e = 0; e < 30; e++) expect(s[e]).to.be.closeTo(0.04 + (e * 0.03) / 29, 1e-15);
    expect(s[29]).to.equal(0.07);
    expect(Array.from(s.subarray(30)).every((t) => t === 0.07)).to.equal(true);
  });

  it('is constant without warm-up and rejects bad arguments', () => {
    expect(Array.from(teacherTempSchedule({ warmupTeacherTemp: 0.04, teacherTemp: 0.04, warmupTeacherTempEpochs: 0, epochs: 3 }))).to.deep.equal([0.04, 0.04, 0.04]);
    // one warm-up epoch is numpy's linspace(start, end, 1) = [start]
    expect(Array.from(teacherTempSchedule({ warmupTeacherTemp: 0.04, teacherTemp: 0.07, warmupTeacherTempEpochs: 1, epochs: 3 }))).to.deep.equal([0.04, 0.07, 0.07]);
    expect(() => teacherTempSchedule({ warmupTeacherTemp: 0.04, teacherTemp: 0.07, warmupTeacherTempEpochs: 6, epochs: 5 })).to.throw(/\[0, 5\], got 6/);
  });
});
