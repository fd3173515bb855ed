// The shipped DINO MNIST checkpoint (checkpoints/dino-mnist.*) is reproducible: the recipe in
// packages/dino/src/recipes/mnist.ts is the one recorded with it, and its first iterations,
// rerun here, give the shipped log's loss and teacher entropies bit for bit. The log was
// recorded with matrix products that round each multiply-add twice (CpuBackend's
// `fma: false`, the same bits on every machine); with the default fused multiply-add the
// same iterations agree to about 1e-6. Its networks load, and its teacher's k-NN accuracy on
// the held-out digits is the one recorded.

import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { CpuBackend, getNumThreads, registerBackend, setNumThreads } from '@dinots/tensor';
import { MNIST_MEAN, MNIST_STD, compareKnn, loadCheckpointNetworks, loadImages, mnistRecipe, mnistSplit, trainDino } from '@dinots/dino';

const root = new URL('../../', import.meta.url);
const checkpoint = new URL('checkpoints/dino-mnist.safetensors', root).pathname;
let summary: Summary;

interface Summary {
  threads: number;
  recipe: ReturnType<typeof mnistRecipe>;
  iterations: number;
  knn: { iteration: number; teacher: number; student: number }[];
  firstIterations: { iteration: number; loss: number; teacherEntropy: number; entropyOfMean: number }[];
}

describe('the shipped DINO MNIST checkpoint', () => {
  before(() => {
    summary = (JSON.parse(readFileSync(new URL('checkpoints/dino-mnist.json', root), 'utf8')) as { summary: Summary }).summary;
  });

  it('was made by the recipe in packages/dino/src/recipes/mnist.ts', () => {
    expect(JSON.parse(JSON.stringify(mnistRecipe(summary.recipe.epochs)))).to.deep.equal(summary.recipe);
  });

  it("reproduces the first 3 iterations of its log bit for bit (the shipped run's thread count and 2 threads)", function () {
    this.timeout(300000);
    const before = getNumThreads();
    const firstIterations = () => {
      const { history } = trainDino({ ...mnistRecipe(summary.recipe.epochs), dataset: mnistSplit().train, maxIterations: 3, progress: false });
      return history.map((m) => ({ iteration: m.iteration, loss: m.loss, teacherEntropy: m.teacherEntropy, entropyOfMean: m.entropyOfMean }));
    };
    try {
      registerBackend('cpu', () => new CpuBackend({ fma: false }));
      for (const threads of [...new Set([summary.threads, 2])]) {
        setNumThreads(threads);
        expect(firstIterations(), `${threads} thread(s)`).to.deep.equal(summary.firstIterations.slice(0, 3));
      }
      registerBackend('cpu', () => new CpuBackend());
      firstIterations().forEach((row, i) => {
        const recorded = summary.firstIterations[i];
        for (const key of ['loss', 'teacherEntropy', 'entropyOfMean'] as const) expect(row[key], `fused multiply-add, iteration ${i}: ${key}`).to.be.closeTo(recorded[key], 1e-5);
      });
    } finally {
      registerBackend('cpu', () => new CpuBackend());
      setNumThreads(before);
    }
  });

  it("loads, and its teacher's weighted k-NN top-1 on the 2,000 held-out digits is the recorded one", function () {
    this.timeout(300000);
    const { teacher, meta } = loadCheckpointNetworks(checkpoint);
    expect(meta.iteration).to.equal(summary.iterations);
    const { train, test } = mnistSplit();
    const all = (n: number) => Array.from({ length: n }, (_, i) => i);
    const [row] = compareKnn([{ name: 'teacher', backbone: teacher.backbone }], loadImages(train, all(train.length)), loadImages(test, all(test.length)), { mean: MNIST_MEAN, std: MNIST_STD }, { k: 20, temperature: 0.07 });
    expect(row.result.top1).to.be.closeTo(summary.knn[summary.knn.length - 1].teacher, 0.05);
  });
});
