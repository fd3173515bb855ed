#!/usr/bin/env node
// The dinots command line:
//   dinots train [options]                 DINO on the embedded MNIST (or --data <image folder>)
//   dinots knn <checkpoint.safetensors>    weighted k-NN of the teacher vs random init vs raw pixels
//   dinots attention <checkpoint.safetensors> --out <dir>   attention-map PNGs of a few images
//   dinots parity <file.safetensors>       compare against reference tensors (sidecar <file>.json)
//   dinots export <checkpoint.safetensors> <out.pth>   the official DINO checkpoint layout (export-pth.ts)

import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadSafetensors } from '@dinots/nn';
import { loadCheckpointNetworks } from './checkpoint.js';
import { exportPth } from './export-pth.js';
import { IMAGENET_MEAN, IMAGENET_STD } from './augment/normalize.js';
import type { Dataset, LabeledImage } from './data/dataset.js';
import { ImageFolder } from './data/image-folder.js';
import { MNIST, MNIST_MEAN, MNIST_STD } from './data/mnist.js';
import { compareKnn, loadImages, writeAttentionMaps } from './evaluation.js';
import { buildDinoNetworks, type DinoModelOptions } from './model.js';
import { Generator } from '@dinots/tensor';
import { type ParitySidecar, runParity } from './parity.js';
import { trainDino } from './train.js';

const USAGE = `usage:
  dinots train [--data <folder>] [--out <dir>] [--epochs 10] [--batch-size 32] [--lr 0.0005]
               [--patch 7] [--embed-dim 64] [--depth 2] [--heads 4] [--out-dim 256]
               [--local-crops 4] [--teacher-temp 0.04] [--momentum 0.996] [--seed 0]
               [--max-iterations N] [--resume]
  dinots knn <checkpoint.safetensors> [--data <folder>] [--train 2000] [--test 500] [--k 20] [--t 0.07]
  dinots attention <checkpoint.safetensors> --out <dir> [--data <folder>] [--images 4] [--threshold 0.6]
  dinots parity <file.safetensors>   (reads <file>.json; exits 1 when an error exceeds 1e-9)
  dinots export <checkpoint.safetensors> <out.pth>   (the official main_dino.py checkpoint, for torch.load)`;

const PARITY_TOLERANCE = 1e-9;

interface DataChoice {
  dataset: Dataset<LabeledImage>;
  mean: readonly number[];
  std: readonly number[];
  size: number;
  channels: number;
}

function data(folder: string | undefined): DataChoice {
  if (folder === undefined) return { dataset: new MNIST(), mean: MNIST_MEAN, std: MNIST_STD, size: 28, channels: 1 };
  const dataset = new ImageFolder(folder);
  const first = dataset.get(0).image;
  return { dataset, mean: IMAGENET_MEAN, std: IMAGENET_STD, size: Math.min(first.shape[1], first.shape[2]), channels: first.shape[0] };
}

/** Every k-th image of the dataset from `offset`, so small subsets cover every class of a sorted dataset. */
function spread(length: number, count: number, offset: number): number[] {
  const step = Math.max(1, Math.floor(length / count));
  return Array.from({ length: Math.min(count, length) }, (_, i) => (i * step + offset) % length);
}

function train(args: string[]): void {
  const { values } = parseArgs({
    args,
    options: {
      data: { type: 'string' }, out: { type: 'string', default: 'dino-run' }, epochs: { type: 'string', default: '10' },
      'batch-size': { type: 'string', default: '32' }, lr: { type: 'string', default: '0.0005' }, patch: { type: 'string', default: '7' },
      'embed-dim': { type: 'string', default: '64' }, depth: { type: 'string', default: '2' }, heads: { type: 'string', default: '4' },
      'out-dim': { type: 'string', default: '256' }, 'local-crops': { type: 'string', default: '4' }, 'teacher-temp': { type: 'string', default: '0.04' },
      momentum: { type: 'string', default: '0.996' }, seed: { type: 'string', default: '0' }, 'max-iterations': { type: 'string' },
      resume: { type: 'boolean', default: false },
    },
  });
  const d = data(values.data);
  const num = (k: keyof typeof values) => Number(values[k]);
  const epochs = num('epochs');
  const result = trainDino({
    dataset: d.dataset,
    model: { imgSize: d.size, patchSize: num('patch'), inChans: d.channels, embedDim: num('embed-dim'), depth: num('depth'), numHeads: num('heads'), outDim: num('out-dim'), headHiddenDim: 4 * num('embed-dim'), headBottleneckDim: num('embed-dim') },
    augmentation: { globalCropSize: d.size, localCropSize: Math.round(d.size / 2), localCropsNumber: num('local-crops'), mean: d.mean, std: d.std },
    batchSize: num('batch-size'), epochs, warmupEpochs: Math.min(10, Math.ceil(epochs / 10)), lr: num('lr'), teacherTemp: num('teacher-temp'),
    warmupTeacherTemp: num('teacher-temp'), momentumTeacher: num('momentum'), seed: num('seed'), outputDir: values.out, resume: values.resume,
    maxIterations: values['max-iterations'] === undefined ? undefined : num('max-iterations'),
  });
  console.log(`trained ${result.iteration}/${result.totalIterations} iterations; checkpoint ${result.checkpointPath}, log ${values.out}/log.jsonl`);
}

function knn(args: string[]): void {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true,
    options: { data: { type: 'string' }, train: { type: 'string', default: '2000' }, test: { type: 'string', default: '500' }, k: { type: 'string', default: '20' }, t: { type: 'string', default: '0.07' } },
  });
  if (positionals.length !== 1) throw new Error(`dinots knn: expected one checkpoint file\n${USAGE}`);
  const { teacher, meta } = loadCheckpointNetworks(positionals[0]);
  const d = data(values.data);
  const nTrain = Number(values.train);
  const nTest = Number(values.test);
  if (nTrain + nTest > d.dataset.length) throw new Error(`dinots knn: ${nTrain} train + ${nTest} test images exceed the dataset's ${d.dataset.length}`);
  // Interleaved, disjoint picks: every class of a class-sorted dataset shows up in both.
  const trainSet = loadImages(d.dataset, spread(d.dataset.length, nTrain, 0));
  const trainIndices = new Set(spread(d.dataset.length, nTrain, 0));
  const testSet = loadImages(d.dataset, spread(d.dataset.length, nTest + nTrain, 1).filter((i) => !trainIndices.has(i)).slice(0, nTest));
  // The baseline is the student's initial weights: the same architecture and seed.
  const random = buildDinoNetworks(meta.config.model as DinoModelOptions, new Generator(Number(meta.config.seed ?? 0))).teacher.backbone;
  const rows = compareKnn([{ name: 'DINO teacher', backbone: teacher.backbone }, { name: 'random init', backbone: random }], trainSet, testSet, d, { k: Number(values.k), temperature: Number(values.t) });
  console.log(`weighted k-NN (k ${values.k}, T ${values.t}), ${trainSet.labels.length} train / ${testSet.labels.length} other test images:`);
  for (const r of rows) console.log(`  ${r.name.padEnd(14)} top-1 ${r.result.top1.toFixed(2)} %  top-5 ${r.result.top5.toFixed(2)} %`);
}

function attention(args: string[]): void {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true,
    options: { data: { type: 'string' }, out: { type: 'string' }, images: { type: 'string', default: '4' }, threshold: { type: 'string', default: '0.6' } },
  });
  if (positionals.length !== 1 || values.out === undefined) throw new Error(`dinots attention: expected a checkpoint file and --out <dir>\n${USAGE}`);
  const { teacher } = loadCheckpointNetworks(positionals[0]);
  const d = data(values.data);
  const { images } = loadImages(d.dataset, spread(d.dataset.length, Number(values.images), 0));
  const folders = writeAttentionMaps(teacher.backbone, images, values.out, d, Number(values.threshold));
  console.log(`attention maps of the teacher's last layer (one PNG per head, ${values.threshold}-mass masks) in ${folders.join(', ')}`);
}

/** Returns the exit code: 0 when every group is within PARITY_TOLERANCE. */
function parity(args: string[]): number {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  if (positionals.length !== 1) throw new Error(`dinots parity: expected one .safetensors file\n${USAGE}`);
  const file = positionals[0];
  const json = file.replace(/\.safetensors$/, '') + '.json';
  if (!existsSync(json)) throw new Error(`dinots parity: no sidecar ${json} next to ${file}`);
  const report = runParity(loadSafetensors(readFileSync(file)), JSON.parse(readFileSync(json, 'utf8')) as ParitySidecar);
  console.log(`parity of ${file} (float64; error = max |ours - ref| / max(1, |ref|), tolerance ${PARITY_TOLERANCE}):`);
  for (const g of report.groups) {
    const ok = g.worst <= PARITY_TOLERANCE ? 'ok  ' : 'FAIL';
    console.log(`  ${ok} ${g.group.padEnd(22)} ${String(g.count).padStart(3)} tensors  worst ${g.worst.toExponential(2)}  (${g.worstTensor})`);
  }
  for (const name of report.unrecognised) console.log(`  FAIL not compared: ${name} (unknown tensor name)`);
  const pass = report.worst <= PARITY_TOLERANCE && report.unrecognised.length === 0 && report.groups.length > 0;
  console.log(pass ? `PASS: ${report.comparisons.length} tensors within ${PARITY_TOLERANCE}` : 'FAIL');
  return pass ? 0 : 1;
}

function main(argv: string[]): number {
  const [command, ...rest] = argv;
  switch (command) {
    case 'train': train(rest); return 0;
    case 'knn': knn(rest); return 0;
    case 'attention': attention(rest); return 0;
    case 'parity': return parity(rest);
    case 'export': exportPth(rest); return 0;
    case undefined: case '-h': case '--help': console.log(USAGE); return command === undefined ? 2 : 0;
    default: console.error(`dinots: unknown command '${command}'\n${USAGE}`); return 2;
  }
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
}
