import { expect } from 'chai';
import { softmaxRows } from '../../../src/backends/cpu/softmax-layer-norm/softmax.js';
import { parallelFor } from '../../../src/backends/cpu/threads/pool.js';
import { CHUNK_BITS, TASKS, runChunks } from '../../../src/backends/cpu/threads/tasks.js';

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
