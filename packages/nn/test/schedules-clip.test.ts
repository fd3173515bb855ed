import { expect } from 'chai';
import { Generator, type Tensor, div, getNumThreads, noGrad, randn, setNumThreads, stack, tensor } from '@dinots/tensor';
import { Linear, Sequential, clipGradNorm, clipGradients, cosineSchedule } from '../src/index.js';

describe('cosineSchedule', () => {
  it('warms up linearly from startWarmup to exactly base, then decays along a cosine', () => {
    const s = cosineSchedule(1, 0, 3, 2, { warmupEpochs: 1, startWarmup: 0.5 });
    expect(s).to.have.length(6);
    expect(s.slice(0, 2)).to.deep.equal([0.5, 1]);
    expect(s[2]).to.equal(1);
    expect(s[3]).to.be.closeTo(0.5 * (1 + Math.cos(Math.PI / 4)), 1e-16);
    expect(s[5]).to.be.above(0);
  });

  it('a warmup of one iteration is startWarmup, as numpy.linspace(start, base, 1) gives (not NaN)', () => {
    expect(cosineSchedule(1, 0, 4, 1, { warmupEpochs: 1, startWarmup: 0.25 })[0]).to.equal(0.25);
    expect(cosineSchedule(1, 0, 4, 1, { warmupEpochs: 1 })[1]).to.equal(1);
  });

  it('refuses a warmup longer than the schedule', () => {
    expect(() => cosineSchedule(1, 0, 1, 4, { warmupEpochs: 2 })).to.throw(/cosineSchedule: need whole, non-negative iteration counts/);
  });
});

function modelWithGrads(): Linear {
  const lin = new Linear(2, 2, { dtype: 'float64' });
  lin.weight.grad = tensor([[3, 4], [0, 0]], { dtype: 'float64' }); // norm 5
  lin.bias!.grad = tensor([0.3, 0.4], { dtype: 'float64' }); // norm 0.5
  return lin;
}

describe('gradient clipping', () => {
  it('clipGradients clips each tensor on its own to norm ~clip and returns the norms before clipping', () => {
    const lin = modelWithGrads();
    expect(clipGradients(lin, 3).toArray()).to.deep.equal([5, 0.5]);
    const coef = 3 / (5 + 1e-6);
    expect(lin.weight.grad!.toArray()).to.deep.equal([[3 * coef, 4 * coef], [0, 0]]);
    expect(lin.bias!.grad!.toArray()).to.deep.equal([0.3, 0.4]);
  });

  it('clipGradients over a model of many tensors (foreachNorm in one pass) gives the bits of clipping tensor by tensor, on 1 and 2 threads', () => {
    // weights from 6 to 2 x 65536 + 64 elements, biases on ordinary memory; some gradients above the clip, some below
    const model = (dtype: 'float32' | 'float64') => {
      const generator = new Generator(11);
      const m = new Sequential(new Linear(3, 2, { dtype }), new Linear(2049, 64, { dtype }), new Linear(64, 2048, { dtype }), new Linear(2048, 5, { dtype }));
      [...m.parameters()].forEach((p, i) => (p.grad = noGrad(() => randn(p.shape, { dtype, generator }).mul(i % 3 === 0 ? 0.001 : 0.1))));
      return m;
    };
    // the official clip_gradients, one tensor at a time, in composed ops
    const reference = (grads: Tensor[]) =>
      noGrad(() => {
        const norms = grads.map((g) => {
          const n = g.norm(2);
          const coefficient = div(3, n.add(1e-6));
          if (coefficient.item() < 1) g.mul_(coefficient);
          return n;
        });
        return stack(norms).dataSync();
      });
    for (const dtype of ['float32', 'float64'] as const) {
      const expected = model(dtype);
      const expectedNorms = reference([...expected.parameters()].map((p) => p.grad!));
      for (const threads of [1, 2]) {
        const m = model(dtype);
        const before = getNumThreads();
        setNumThreads(threads);
        try {
          expect(Array.from(clipGradients(m, 3).dataSync()), `norms, ${dtype}, ${threads} thread(s)`).to.deep.equal(Array.from(expectedNorms));
        } finally {
          setNumThreads(before);
        }
        [...m.parameters()].forEach((p, i) => {
          const [got, want] = [p.grad!.dataSync(), [...expected.parameters()][i].grad!.dataSync()];
          for (let j = 0; j < want.length; j++) if (!Object.is(got[j], want[j])) expect.fail(`${dtype}, ${threads} thread(s): gradient ${i} [${p.shape}] element ${j} is ${got[j]}, expected ${want[j]}`);
        });
      }
      expect(Array.from(expectedNorms).some((n) => n > 3) && Array.from(expectedNorms).some((n) => n < 3), 'some tensors clipped, some not').to.equal(true);
    }
  });

  it('clipGradNorm scales all gradients by one factor from the global norm, as torch.nn.utils.clip_grad_norm_', () => {
    const lin = modelWithGrads();
    const total = Math.hypot(5, 0.5);
    expect(clipGradNorm(lin.parameters(), 1)).to.be.closeTo(total, 1e-15);
    const coef = 1 / (total + 1e-6);
    (lin.bias!.grad!.toArray() as number[]).forEach((v, i) => expect(v).to.be.closeTo([0.3, 0.4][i] * coef, 1e-16));
    const untouched = modelWithGrads();
    clipGradNorm(untouched.parameters(), 10);
    expect(untouched.weight.grad!.toArray()).to.deep.equal([[3, 4], [0, 0]]);
    const inf = modelWithGrads();
    expect(clipGradNorm(inf.parameters(), 100, Infinity)).to.equal(4);
  });
});
