import { expect } from 'chai';
import fc from 'fast-check';
import { adamwStepPart } from '../../../src/backends/cpu/optim/adamw-step-part.js';
import { softmaxRows } from '../../../src/backends/cpu/softmax-layer-norm/softmax.js';
import { parallelFor } from '../../../src/backends/cpu/threads/pool.js';
import { CHUNK_BITS, TASKS, multiTensorParts, runChunks, taskIndex } from '../../../src/backends/cpu/threads/tasks.js';

/** Counters as the pool sets them for a task of `chunks` ranges in `generation`. */
const countersFor = (chunks: number, generation: number) => Int32Array.from([chunks, generation << CHUNK_BITS]);

describe('thread pool range claiming (runChunks)', () => {
  it('runs every range of [0, total) exactly once, in order, when one thread claims them all', () => {
    const counters = countersFor(3, 5);
    const ranges: [number, number][] = [];
    runChunks((_: null, begin, end) => ranges.push([begin, end]), null, 10, 3, 5, counters, () => expect.fail('no error expected'));
    expect(ranges).to.deep.equal([[0, 3], [3, 7], [7, 10]]);
    expect(counters[0], 'unfinished ranges').to.equal(0);
  });

  it('claims nothing for a task whose generation is over (a worker that woke late)', () => {
    const counters = countersFor(2, 7);
    runChunks(() => expect.fail('ran a range of a finished task'), null, 10, 2, 6, counters, () => {});
    expect([...counters]).to.deep.equal([2, 7 << CHUNK_BITS]);
  });

  it('reports a failing range and still runs and counts the others', () => {
    const counters = countersFor(4, 1);
    const ran: number[] = [];
    const errors: unknown[] = [];
    runChunks((_: null, begin) => {
      if (begin === 2) throw new Error('range 2 failed');
      ran.push(begin);
    }, null, 8, 4, 1, counters, (error) => errors.push(error));
    expect(ran).to.deep.equal([0, 4, 6]);
    expect(errors.map((e) => (e as Error).message)).to.deep.equal(['range 2 failed']);
    expect(counters[0]).to.equal(0);
  });
});

describe('thread pool tasks (parallelFor)', () => {
  it('takes the kernel function itself; a name or a function outside TASKS is refused', () => {
    const args = { x: new Float64Array([1, 2, 3, 4]), xShape: [2, 2], xStrides: [2, 1], xOffset: 0, out: new Float64Array(4), outStrides: [2, 1], outOffset: 0, dim: 1, log: false };
    parallelFor(softmaxRows, args, 2, 1);
    expect([...args.out].map((v) => v.toFixed(4))).to.deep.equal(['0.2689', '0.7311', '0.2689', '0.7311']);
    // @ts-expect-error a task is a function of TASKS, not its name
    expect(() => parallelFor('softmaxRows', args, 2, 1)).to.throw(/is not in TASKS/);
    const stray = () => {};
    expect(() => parallelFor(stray as unknown as typeof softmaxRows, args, 2, 1)).to.throw(/stray is not in TASKS/);
    expect(TASKS).to.include(softmaxRows);
  });
});

describe('multi-tensor ranges (multiTensorParts)', () => {
  it('runs every index of every item exactly once, wherever the joint index space is cut (empty items included)', () => {
    const hyper = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, step: 1 };
    // an AdamW step changes every element, and a second step changes it again
    const items = (sizes: readonly number[]) =>
      sizes.map((n, i) => ({
        p: Float64Array.from({ length: n }, (_, j) => i + j + 1), grad: Float64Array.from({ length: n }, (_, j) => (j - i) / 3),
        expAvg: new Float64Array(n), expAvgSq: new Float64Array(n), offsets: [0, 0, 0, 0] as const, hyper, simd: false,
      }));
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 5 }), (sizes, cutSeeds) => {
        const starts = [0];
        for (const n of sizes) starts.push(starts[starts.length - 1] + n);
        const total = starts[sizes.length];
        const cuts = [0, ...cutSeeds.map((c) => c % (total + 1)).sort((a, b) => a - b), total];
        const whole = items(sizes);
        whole.forEach((item, i) => adamwStepPart(item, 0, sizes[i]));
        const parts = items(sizes);
        for (let k = 0; k + 1 < cuts.length; k++) multiTensorParts({ task: taskIndex(adamwStepPart), items: parts, starts }, cuts[k], cuts[k + 1]);
        parts.forEach((item, i) => {
          for (const key of ['p', 'expAvg', 'expAvgSq'] as const) expect(Array.from(item[key]), `${key} of item ${i} of [${sizes}], cut at [${cuts}]`).to.deep.equal(Array.from(whole[i][key]));
        });
      }),
      { numRuns: 200 },
    );
  });
});
