import { expect } from 'chai';
import { poolWorkerCount } from '../../../src/backends/cpu/threads/pool.js';
import { CpuBackend, CpuStorage, type Tensor, getBackend, getNumThreads, matmul, randn, registerBackend, setNumThreads, transpose } from '../../../src/index.js';
import { gemmReference } from '../../../src/backends/cpu/matmul/gemm-reference.js';

function withThreads<T>(n: number, f: () => T): T {
  const before = getNumThreads();
  setNumThreads(n);
  try {
    return f();
  } finally {
    setNumThreads(before);
  }
}

const data = (t: Tensor) => t.dataSync() as Float32Array;

describe('CPU thread pool', () => {
  it('rejects a thread count that is not a positive integer', () => {
    expect(() => setNumThreads(0)).to.throw(/positive integer/);
    expect(() => setNumThreads(1.5)).to.throw(/positive integer/);
  });

  it('puts large storages on shared memory so that workers can use them', () => {
    const a = randn([256, 256]);
    expect((matmul(a, a).storage as CpuStorage).data.buffer).to.be.instanceOf(SharedArrayBuffer);
  });

  // The shapes below are large enough for every kernel to be split (see MATMUL_GRAIN and ELEMENTWISE_GRAIN).
  it('gives the same matmul on 1, 2 and 3 threads (row blocks, column blocks, batches, transposed views)', () => {
    const cases: [Tensor, Tensor][] = [
      [randn([333, 200]), randn([200, 301])],
      // more columns than rows: split by columns (a weight gradient X^T dY)
      [transpose(randn([300, 64]), 0, 1), randn([300, 1001])],
      [randn([8, 300, 130]), transpose(randn([8, 200, 130]), 1, 2)],
      [transpose(randn([257, 513]), 0, 1), randn([257, 129])],
    ];
    for (const [a, b] of cases) {
      const one = withThreads(1, () => data(matmul(a, b)));
      for (const n of [2, 3]) {
        const many = withThreads(n, () => data(matmul(a, b)));
        expect(many.length).to.equal(one.length);
        let differing = 0;
        for (let i = 0; i < one.length; i++) if (many[i] !== one[i]) differing++;
        expect(differing, `${n} threads, shapes ${a.shape} x ${b.shape}`).to.equal(0);
      }
    }
  });

  it('parks the workers when the thread count goes down, and wakes the same ones when it goes up', () => {
    const a = randn([300, 150]);
    const b = randn([150, 200]);
    const expected = withThreads(1, () => data(matmul(a, b)));
    withThreads(2, () => data(matmul(a, b))); // starts the pool's worker
    const started = poolWorkerCount();
    expect(started).to.be.at.least(1);
    withThreads(1, () => {
      expect(poolWorkerCount()).to.equal(started);
      return data(matmul(a, b));
    });
    const again = withThreads(2, () => data(matmul(a, b)));
    expect(poolWorkerCount()).to.equal(started);
    expect(Array.from(again)).to.deep.equal(Array.from(expected));
  });

  it('computes the right product with threads on (checked against the reference)', () => {
    const [M, K, N] = [300, 150, 200];
    const a = randn([M, K]);
    const b = randn([K, N]);
    const actual = withThreads(2, () => data(matmul(a, b)));
    const expected = new Float32Array(M * N);
    gemmReference({ M, N, K, a: { data: data(a), offset: 0, rowStride: K, colStride: 1 }, b: { data: data(b), offset: 0, rowStride: N, colStride: 1 }, c: expected, cOffset: 0, ldc: N });
    for (let i = 0; i < M * N; i++) expect(Math.abs(actual[i] - expected[i])).to.be.below(1e-3);
  });

  it('gives the same product on the plain TypeScript kernel (CpuBackend with simd: false)', () => {
    const a = randn([130, 70]);
    const b = randn([70, 90]);
    const simd = data(matmul(a, b));
    registerBackend('cpu', () => new CpuBackend({ simd: false }));
    try {
      expect((getBackend('cpu') as CpuBackend).simd).to.equal(false);
      const plain = withThreads(2, () => data(matmul(a, b)));
      for (let i = 0; i < simd.length; i++) expect(Math.abs(plain[i] - simd[i])).to.be.below(1e-4);
    } finally {
      registerBackend('cpu', () => new CpuBackend());
    }
  });
});
