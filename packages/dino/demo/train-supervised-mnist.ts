// npm run train:supervised-mnist -- [--epochs 120] [--threads 1]
// The supervised reference for the DINO MNIST checkpoint: the same ViT as the DINO recipe
// (packages/dino/src/recipes/mnist.ts), a Linear classifier on its CLS feature, trained with
// labels on the same 8,000 digits for the same number of iterations as the recipe's
// `epochs` (62 iterations of 128 per epoch), the same lr and weight-decay schedules, no
// augmentation. Writes checkpoints/supervised-mnist.safetensors (backbone.*, head.*) and
// checkpoints/supervised-mnist.json (the command, the config, the k-NN top-1 of its CLS
// features on the 2,000 held-out digits, the wall time).

import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { setNumThreads } from '@dinots/tensor';
import { saveSafetensors } from '@dinots/nn';
import { MNIST_MEAN, MNIST_STD, compareKnn, loadImages, mnistRecipe, mnistSplit, trainSupervised } from '../src/index.js';

const { values } = parseArgs({ options: { epochs: { type: 'string', default: '120' }, threads: { type: 'string', default: '1' } } });
const epochs = Number(values.epochs);
const threads = Number(values.threads);
for (const [name, n] of [['epochs', epochs], ['threads', threads]] as const) {
  if (!Number.isInteger(n) || n < 1) throw new Error(`train-supervised-mnist: --${name} must be a positive integer, got '${values[name]}'`);
}
setNumThreads(threads);
const recipe = mnistRecipe(epochs);
const { train, test } = mnistSplit();
const iterations = epochs * Math.floor(train.length / recipe.batchSize);
const lr = (recipe.lr! * recipe.batchSize) / 256;
const config = {
  model: recipe.model, numClasses: 10, iterations, batchSize: recipe.batchSize, lr, minLr: recipe.minLr, warmupIterations: Math.floor(iterations / 10),
  weightDecay: recipe.weightDecay, weightDecayEnd: recipe.weightDecayEnd, clipGrad: recipe.clipGrad, seed: recipe.seed,
};
const started = performance.now();
const { model, backbone, history } = trainSupervised({ ...config, dataset: train, mean: MNIST_MEAN, std: MNIST_STD });
const minutes = (performance.now() - started) / 60000;
const all = (n: number) => Array.from({ length: n }, (_, i) => i);
const [knn] = compareKnn([{ name: 'supervised', backbone }], loadImages(train, all(train.length)), loadImages(test, all(test.length)), { mean: MNIST_MEAN, std: MNIST_STD }, { k: 20, temperature: 0.07 });
mkdirSync('checkpoints', { recursive: true });
saveSafetensors('checkpoints/supervised-mnist.safetensors', model.stateDict());
const last = history.slice(-50);
writeFileSync('checkpoints/supervised-mnist.json', JSON.stringify({
  command: `npm run train:supervised-mnist -- --epochs ${epochs} --threads ${threads}`,
  config: { ...config, augmentation: 'none' },
  wallMinutes: Number(minutes.toFixed(1)),
  knnTop1: knn.result.top1,
  final: { loss: last.reduce((s, m) => s + m.loss, 0) / last.length, batchAccuracy: last.reduce((s, m) => s + m.batchAccuracy, 0) / last.length },
}, null, 1));
console.log(`supervised ViT: ${iterations} iterations in ${minutes.toFixed(1)} min; k-NN top-1 of its CLS features on the held-out digits ${knn.result.top1.toFixed(2)} %`);
