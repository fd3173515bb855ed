// Optimizers against scalar re-implementations of the update rules as PyTorch documents them
// (https://pytorch.org/docs/stable/generated/torch.optim.AdamW.html and .../torch.optim.SGD.html),
// written element by element in plain JS numbers, independent of the tensor code.

import { expect } from 'chai';
import { type Tensor, tensor } from '@dinots/tensor';
import { AdamW, SGD } from '../src/index.js';

/** A fixed gradient for step t: g = p^3 - 0.5 p + 0.1 t (depends on the current value). */
const gradOf = (p: number, t: number) => p ** 3 - 0.5 * p + 0.1 * t;
const setGrads = (params: Tensor[], t: number) => {
  for (const p of params) p.grad = tensor(Array.from(p.dataSync(), (v) => gradOf(v, t)), { dtype: 'float64', shape: p.shape });
};
const param = (values: number[]) => tensor(values, { dtype: 'float64', requiresGrad: true });

/** PyTorch's AdamW pseudo-code (maximize false, amsgrad false), for one scalar parameter. */
function adamwReference(p0: number, steps: number, lr: number, wd: number, [b1, b2] = [0.9, 0.999], eps = 1e-8): number {
  let [p, m, v] = [p0, 0, 0];
  for (let t = 1; t <= steps; t++) {
    const g = gradOf(p, t);
    p = p - lr * wd * p; // theta_t <- theta_{t-1} - gamma lambda theta_{t-1}
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g * g;
    const mHat = m / (1 - b1 ** t);
    const vHat = v / (1 - b2 ** t);
    p = p - (lr * mHat) / (Math.sqrt(vHat) + eps);
  }
  return p;
}

/** PyTorch's SGD pseudo-code, for one scalar parameter. */
function sgdReference(p0: number, steps: number, lr: number, wd: number, mu: number, tau: number, nesterov: boolean): number {
  let [p, b] = [p0, 0];
  for (let t = 1; t <= steps; t++) {
    let g = gradOf(p, t) + wd * p;
    if (mu !== 0) {
      b = t > 1 ? mu * b + (1 - tau) * g : g;
      g = nesterov ? g + mu * b : b;
    }
    p = p - lr * g;
  }
  return p;
}

function run(opt: { step(): void; zeroGrad(): void }, params: Tensor[], from: number, to: number): void {
  for (let t = from; t <= to; t++) {
    setGrads(params, t);
    opt.step();
    opt.zeroGrad();
  }
}

describe('AdamW', () => {
  const start = [[0.5, -1.2, 0.3, 2.0], [0.7, -0.05, 1.5]];

  it('equals PyTorch AdamW over 6 steps, two param groups with their own lr and weight decay, to 1e-12', () => {
    const [w, b] = start.map(param);
    const opt = new AdamW([{ params: [w], weightDecay: 0.05 }, { params: [b], lr: 0.01, weightDecay: 0 }], { lr: 0.1 });
    run(opt, [w, b], 1, 6);
    Array.from(w.dataSync()).forEach((v, i) => expect(Math.abs(v - adamwReference(start[0][i], 6, 0.1, 0.05))).to.be.below(1e-12));
    Array.from(b.dataSync()).forEach((v, i) => expect(Math.abs(v - adamwReference(start[1][i], 6, 0.01, 0))).to.be.below(1e-12));
  });

  it('first step in closed form: p (1 - lr wd) - lr g / (|g| + eps) (bias corrections cancel)', () => {
    const w = param([0.5]);
    const opt = new AdamW([w], { lr: 0.1, weightDecay: 0.05 });
    run(opt, [w], 1, 1);
    const g = gradOf(0.5, 1); // 0.125 - 0.25 + 0.1 = -0.025
    expect(w.item()).to.be.closeTo(0.5 * (1 - 0.1 * 0.05) - (0.1 * g) / (Math.abs(g) + 1e-8), 1e-15);
  });

  it('skips parameters without a gradient entirely (no decay, no step count)', () => {
    const [w, frozen] = [param([1, 2]), param([3])];
    const opt = new AdamW([w, frozen], { lr: 0.1, weightDecay: 0.5 });
    setGrads([w], 1);
    opt.step();
    expect(frozen.item()).to.equal(3);
    expect(opt.stateDict().state).to.have.keys(['0']);
  });

  it('resumes from stateDict/loadStateDict exactly, including group hyperparameters', () => {
    const [w1, b1] = start.map(param);
    const straight = new AdamW([{ params: [w1] }, { params: [b1], weightDecay: 0 }], { lr: 0.05 });
    run(straight, [w1, b1], 1, 5);

    const [w2, b2] = start.map(param);
    const first = new AdamW([{ params: [w2] }, { params: [b2], weightDecay: 0 }], { lr: 0.05 });
    run(first, [w2, b2], 1, 3);
    const saved = first.stateDict();
    expect(saved.paramGroups.map((g) => g.params)).to.deep.equal([[0], [1]]);
    expect(saved.state[0].step).to.equal(3);
    const resumed = new AdamW([{ params: [w2] }, { params: [b2] }], { lr: 1 });
    resumed.loadStateDict(saved);
    expect(resumed.paramGroups[1].weightDecay).to.equal(0);
    expect(resumed.paramGroups[0].lr).to.equal(0.05);
    run(resumed, [w2, b2], 4, 5);
    expect(Array.from(w2.dataSync())).to.deep.equal(Array.from(w1.dataSync()));
    expect(Array.from(b2.dataSync())).to.deep.equal(Array.from(b1.dataSync()));
  });

  it('rejects bad arguments with clear errors', () => {
    expect(() => new AdamW([])).to.throw('AdamW: got an empty parameter list');
    const w = param([1]);
    expect(() => new AdamW([{ params: [w] }, { params: [w] }])).to.throw(/more than one parameter group/);
    expect(() => new AdamW([w], { betas: [1, 0.9] })).to.throw(/invalid betas/);
    expect(() => new AdamW([w], { weightDecay: -1 })).to.throw("AdamW: argument 'weightDecay' must be a number >= 0, got -1 (a number)");
    const opt = new AdamW([w]);
    expect(() => opt.loadStateDict({ state: {}, paramGroups: [] })).to.throw('AdamW.loadStateDict: the state dict has 0 parameter groups, this optimizer has 1');
  });
});

describe('SGD', () => {
  for (const [name, options] of [
    ['plain', { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false }],
    ['momentum + dampening + weight decay', { momentum: 0.9, dampening: 0.1, weightDecay: 0.01, nesterov: false }],
    ['nesterov', { momentum: 0.8, dampening: 0, weightDecay: 0.02, nesterov: true }],
  ] as const) {
    it(`equals PyTorch SGD (${name}) over 5 steps to 1e-12`, () => {
      const init = [0.4, -0.9, 1.3];
      const w = param(init);
      const opt = new SGD([w], { lr: 0.1, ...options });
      run(opt, [w], 1, 5);
      Array.from(w.dataSync()).forEach((v, i) =>
        expect(Math.abs(v - sgdReference(init[i], 5, 0.1, options.weightDecay, options.momentum, options.dampening, options.nesterov))).to.be.below(1e-12),
      );
    });
  }

  it('refuses nesterov without momentum', () => {
    expect(() => new SGD([param([1])], { nesterov: true })).to.throw('SGD: Nesterov momentum requires a momentum and zero dampening');
  });
});
