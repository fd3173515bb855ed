// Golden parity for DINO's schedules and for one SGD step, against values computed with the
// official utils.cosine_scheduler and PyTorch (fixtures/golden/dino-tiny.*).

import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { SGD, cosineSchedule, loadSafetensors } from '@dinots/nn';

const golden = loadSafetensors(readFileSync(new URL('../fixtures/golden/dino-tiny.safetensors', import.meta.url)));

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number): void {
  expect(actual.length).to.equal(expected.length);
  for (let i = 0; i < actual.length; i++) expect(Math.abs(actual[i] - expected[i]), `index ${i}`).to.be.at.most(tol);
}

describe('golden parity: schedules and SGD', () => {
  it('cosineSchedule reproduces sched/lr (1 warmup epoch), sched/wd and sched/momentum', () => {
    expectClose(cosineSchedule(0.1, 0.001, 3, 4, { warmupEpochs: 1 }), golden['sched/lr'].dataSync(), 1e-15);
    expectClose(cosineSchedule(0.04, 0.4, 3, 4), golden['sched/wd'].dataSync(), 1e-15);
    expectClose(cosineSchedule(0.996, 1, 3, 4), golden['sched/momentum'].dataSync(), 1e-15);
  });

  it('an SGD step (lr 0.1) on the golden gradients gives step1/student_after exactly', () => {
    const keys = Object.keys(golden).filter((k) => k.startsWith('step1/grad/'));
    const params = keys.map((k) => golden[`params/${k.slice('step1/grad/'.length)}`].clone().requiresGrad_(true));
    params.forEach((p, i) => (p.grad = golden[keys[i]]));
    new SGD(params, { lr: 0.1 }).step();
    params.forEach((p, i) => expectClose(p.dataSync(), golden[`step1/student_after/${keys[i].slice('step1/grad/'.length)}`].dataSync(), 1e-15));
  });
});
