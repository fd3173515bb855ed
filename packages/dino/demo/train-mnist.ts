// npm run train:mnist -- [--epochs 150] [--out runs/dino-mnist] [--eval-every 310] [--threads 1]
//                        [--max-iterations N] [--resume] [--ship]
// Trains DINO on the 8,000 training digits of the embedded MNIST with the small-scale recipe
// (packages/dino/src/recipes/mnist.ts), logging a weighted k-NN (k 20, T 0.07) of the
// teacher's and the student's CLS features on the 2,000 held-out digits every --eval-every
// iterations to <out>/log.jsonl. A run is deterministic for a given thread count: the
// same command gives the same log, bit for bit. With --resume a finished run trains no
// further, so `--resume --ship` ships a run that has ended. --ship copies the final checkpoint to
// checkpoints/dino-mnist.safetensors, and its sidecar checkpoints/dino-mnist.json with a
// summary beside the checkpoint's own fields (config, command, k-NN curve, first iterations).

import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { setNumThreads } from '@dinots/tensor';
import { MNIST_MEAN, MNIST_STD, loadImages, mnistRecipe, mnistSplit, sidecarPath, trainDino } from '../src/index.js';

const { values } = parseArgs({
  options: {
    epochs: { type: 'string', default: '150' },
    out: { type: 'string', default: 'runs/dino-mnist' },
    'eval-every': { type: 'string', default: '310' },
    threads: { type: 'string', default: '1' },
    'max-iterations': { type: 'string' },
    resume: { type: 'boolean', default: false },
    ship: { type: 'boolean', default: false },
  },
});
const positiveInteger = (name: string, text: string): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`train-mnist: --${name} must be a positive integer, got '${text}'`);
  return n;
};
const epochs = positiveInteger('epochs', values.epochs);
const evalEvery = positiveInteger('eval-every', values['eval-every']);
const threads = positiveInteger('threads', values.threads);
const maxIterations = values['max-iterations'] === undefined ? undefined : positiveInteger('max-iterations', values['max-iterations']);
const out = resolve(values.out);
setNumThreads(threads);

const { train, test } = mnistSplit();
const all = (n: number) => Array.from({ length: n }, (_, i) => i);
const recipe = mnistRecipe(epochs);
const result = trainDino({
  ...recipe,
  dataset: train,
  outputDir: out,
  resume: values.resume,
  maxIterations,
  evaluation: { train: loadImages(train, all(train.length)), test: loadImages(test, all(test.length)), mean: MNIST_MEAN, std: MNIST_STD, every: evalEvery },
});
type LogLine = { iteration: number; loss: number; teacherEntropy: number; entropyOfMean: number; time: string; knn?: { teacher: number; student: number } };
// The last entry per iteration (a resumed run may have logged some twice).
const byIteration = new Map<number, LogLine>();
for (const line of readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n')) {
  const m = JSON.parse(line) as LogLine;
  byIteration.set(m.iteration, m);
}
const log = [...byIteration.values()].sort((a, b) => a.iteration - b.iteration);
const minutes = (Date.parse(log[log.length - 1].time) - Date.parse(log[0].time)) / 60000;
const knnCurve = log.filter((m) => m.knn !== undefined).map((m) => ({ iteration: m.iteration + 1, teacher: m.knn!.teacher, student: m.knn!.student }));
const last = log.slice(-50);
const mean = (f: (m: LogLine) => number) => last.reduce((s, m) => s + f(m), 0) / last.length;
const rounded = (x: number) => Number(x.toPrecision(5));
const summary = {
  command: `npm run train:mnist -- --epochs ${epochs} --eval-every ${evalEvery} --threads ${threads}${maxIterations === undefined ? '' : ` --max-iterations ${maxIterations}`}`,
  threads,
  recipe,
  iterations: result.iteration,
  totalIterations: result.totalIterations,
  // From the first to the last logged iteration (pauses of a resumed run included).
  wallMinutes: Number(minutes.toFixed(1)),
  knn: knnCurve,
  final: { loss: mean((m) => m.loss), teacherEntropy: mean((m) => m.teacherEntropy), entropyOfMean: mean((m) => m.entropyOfMean), logK: Math.log(recipe.model.outDim) },
  firstIterations: log.slice(0, 5).map((m) => ({ iteration: m.iteration, loss: m.loss, teacherEntropy: m.teacherEntropy, entropyOfMean: m.entropyOfMean })),
  // Every 10th iteration, for plots: [iteration + 1, loss, teacher entropy, entropy of the batch mean].
  curve: log.filter((m) => m.iteration % 10 === 9).map((m) => [m.iteration + 1, rounded(m.loss), rounded(m.teacherEntropy), rounded(m.entropyOfMean)]),
};
writeFileSync(join(out, 'summary.json'), JSON.stringify(summary, null, 1));
console.log(`${result.iteration} iterations in ${minutes.toFixed(1)} min; k-NN top-1 (teacher / student): ${knnCurve.map((k) => `${k.iteration}: ${k.teacher.toFixed(2)} / ${k.student.toFixed(2)}`).join(', ')}`);

if (values.ship) {
  const shipped = resolve('checkpoints/dino-mnist.safetensors');
  mkdirSync(dirname(shipped), { recursive: true });
  copyFileSync(result.checkpointPath!, shipped);
  // The sidecar is the checkpoint's own (loadCheckpoint reads it) with the summary beside it.
  const meta = JSON.parse(readFileSync(sidecarPath(result.checkpointPath!), 'utf8')) as object;
  writeFileSync(sidecarPath(shipped), JSON.stringify({ ...meta, summary }, null, 1));
  console.log(`shipped ${shipped}`);
}
