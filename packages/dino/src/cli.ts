#!/usr/bin/env node
// The dinots command line:
//   dinots train [options]                 DINO on the embedded MNIST (or --data <image folder>)
//   dinots knn <checkpoint>                weighted k-NN of the teacher vs random init vs raw pixels
//   dinots attention <checkpoint> --out <dir>   attention-map PNGs of a few images
//   dinots parity <file.safetensors>       compare against reference tensors (sidecar <file>.json)
//   dinots export <checkpoint.safetensors> <out.pth>   the official DINO checkpoint layout (export-pth.ts)
// <checkpoint> is checkpoint.safetensors or its sidecar checkpoint.json. Every option is
// validated before any work starts (cli-options.ts); `<command> --help` prints its options.

import { existsSync, readFileSync } from 'node:fs';
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
import { type OptionSpec, UsageError, describeOptions, parseCommand } from './cli-options.js';

const TRAIN_OPTIONS = {
  data: { kind: 'folder', help: 'image folder with one sub-folder per class (default: the embedded MNIST)' },
  'skip-bad-images': { kind: 'flag', help: 'skip files in --data that cannot be decoded, with a warning' },
  out: { kind: 'string', default: 'dino-run', help: 'output folder: checkpoint.safetensors (+ .json) and log.jsonl' },
  epochs: { kind: 'int', default: 10, range: { min: 1 }, help: 'epochs' },
  'batch-size': { kind: 'int', default: 32, range: { min: 1 }, help: 'images per batch' },
  lr: { kind: 'number', default: 0.0005, range: { min: 0, minExclusive: true, max: Infinity, maxExclusive: true }, help: 'peak learning rate at batch size 256' },
  patch: { kind: 'int', default: 7, range: { min: 1 }, help: 'ViT patch size' },
  'embed-dim': { kind: 'int', default: 64, range: { min: 1 }, help: 'ViT embedding dim' },
  depth: { kind: 'int', default: 2, range: { min: 1 }, help: 'ViT blocks' },
  heads: { kind: 'int', default: 4, range: { min: 1 }, help: 'attention heads (must divide --embed-dim)' },
  'out-dim': { kind: 'int', default: 256, range: { min: 1 }, help: 'DINO head output dim' },
  'local-crops': { kind: 'int', default: 4, range: { min: 0 }, help: 'local crops per image' },
  'teacher-temp': { kind: 'number', default: 0.04, range: { min: 0, minExclusive: true, max: Infinity, maxExclusive: true }, help: 'teacher temperature' },
  momentum: { kind: 'number', default: 0.996, range: { min: 0, max: 1 }, help: 'teacher EMA momentum' },
  seed: { kind: 'int', default: 0, range: { min: 0 }, help: 'random seed' },
  'max-iterations': { kind: 'int', range: { min: 1 }, help: 'stop after this many iterations' },
  'save-every': { kind: 'int', range: { min: 1 }, help: 'checkpoint every N iterations (default: every epoch, and at the end)' },
  'bn-head': { kind: 'flag', help: "BatchNorm in the DINO head's MLP (the official --use_bn_in_head)" },
  'eval-every': { kind: 'int', range: { min: 1 }, help: 'log a weighted k-NN (k 20, T 0.07) of teacher and student every N iterations' },
  'eval-train': { kind: 'int', default: 2000, range: { min: 1 }, help: 'images in the k-NN feature bank' },
  'eval-test': { kind: 'int', default: 500, range: { min: 1 }, help: 'images the k-NN classifies (none of them in the bank)' },
  resume: { kind: 'flag', help: 'continue from the checkpoint in --out' },
} satisfies Record<string, OptionSpec>;

const KNN_OPTIONS = {
  data: { kind: 'folder', help: 'image folder (default: the embedded MNIST)' },
  'skip-bad-images': { kind: 'flag', help: 'skip files in --data that cannot be decoded, with a warning' },
  train: { kind: 'int', default: 2000, range: { min: 1 }, help: 'train images' },
  test: { kind: 'int', default: 500, range: { min: 1 }, help: 'test images' },
  k: { kind: 'int', default: 20, range: { min: 1 }, help: 'neighbours' },
  t: { kind: 'number', default: 0.07, range: { min: 0, minExclusive: true, max: Infinity, maxExclusive: true }, help: 'temperature of the vote weights' },
} satisfies Record<string, OptionSpec>;

const ATTENTION_OPTIONS = {
  out: { kind: 'string', help: 'output folder for the PNGs (required)' },
  data: { kind: 'folder', help: 'image folder (default: the embedded MNIST)' },
  'skip-bad-images': { kind: 'flag', help: 'skip files in --data that cannot be decoded, with a warning' },
  images: { kind: 'int', default: 4, range: { min: 1 }, help: 'images to draw' },
  threshold: { kind: 'number', default: 0.6, range: { min: 0, minExclusive: true, max: 1 }, help: 'attention mass kept in the masks' },
} satisfies Record<string, OptionSpec>;

const USAGES = {
  train: `dinots train [options]\n${describeOptions(TRAIN_OPTIONS)}`,
  knn: `dinots knn <checkpoint.safetensors | checkpoint.json> [options]\n${describeOptions(KNN_OPTIONS)}`,
  attention: `dinots attention <checkpoint.safetensors | checkpoint.json> --out <dir> [options]\n${describeOptions(ATTENTION_OPTIONS)}`,
  parity: 'dinots parity <file.safetensors>   (reads <file>.json; exits 1 when an error exceeds 1e-9)',
  export: 'dinots export <checkpoint.safetensors> <out.pth>   (the official main_dino.py checkpoint, for torch.load)',
};

const USAGE = `usage:\n${Object.values(USAGES).map((u) => `  ${u}`).join('\n')}`;

const PARITY_TOLERANCE = 1e-9;

interface DataChoice {
  dataset: Dataset<LabeledImage>;
  mean: readonly number[];
  std: readonly number[];
  size: number;
  channels: number;
}

function data(folder: string | undefined, skipBadImages: boolean): DataChoice {
  if (folder === undefined) return { dataset: new MNIST(), mean: MNIST_MEAN, std: MNIST_STD, size: 28, channels: 1 };
  const onBadImage = skipBadImages ? (path: string, error: Error) => console.warn(`warning: skipping ${path}: ${error.message}`) : undefined;
  const dataset = new ImageFolder(folder, { onBadImage });
  const first = dataset.get(0).image;
  return { dataset, mean: IMAGENET_MEAN, std: IMAGENET_STD, size: Math.min(first.shape[1], first.shape[2]), channels: first.shape[0] };
}

/** Every k-th image of the dataset from `offset`, so small subsets cover every class of a sorted dataset. */
function spread(length: number, count: number, offset: number): number[] {
  const step = Math.max(1, Math.floor(length / count));
  return Array.from({ length: Math.min(count, length) }, (_, i) => (i * step + offset) % length);
}

function train(args: string[]): void {
  const parsed = parseCommand('train', args, TRAIN_OPTIONS);
  if (parsed.help) return void console.log(`usage: ${USAGES.train}`);
  const v = parsed.values;
  if (v['embed-dim'] % v.heads !== 0) throw new UsageError(`dinots train: --embed-dim ${v['embed-dim']} is not divisible by --heads ${v.heads}`, 'train');
  const d = data(v.data, v['skip-bad-images']);
  if (v.patch > d.size) throw new UsageError(`dinots train: --patch ${v.patch} is larger than the ${d.size}-pixel images`, 'train');
  const epochs = v.epochs;
  // The k-NN bank and the images it classifies: disjoint spreads over the data (whose labels training never sees).
  let evaluation;
  if (v['eval-every'] !== undefined) {
    const n = d.dataset.length;
    if (v['eval-train'] >= n) throw new UsageError(`dinots train: --eval-train ${v['eval-train']} leaves none of the ${n} images for --eval-test`, 'train');
    const bank = spread(n, v['eval-train'], 0);
    const inBank = new Set(bank);
    const rest = Array.from({ length: n }, (_, i) => i).filter((i) => !inBank.has(i));
    const held = spread(rest.length, v['eval-test'], 0).map((i) => rest[i]);
    evaluation = { train: loadImages(d.dataset, bank), test: loadImages(d.dataset, held), mean: d.mean, std: d.std, every: v['eval-every'] };
  }
  const result = trainDino({
    dataset: d.dataset,
    model: { imgSize: d.size, patchSize: v.patch, inChans: d.channels, embedDim: v['embed-dim'], depth: v.depth, numHeads: v.heads, outDim: v['out-dim'], headHiddenDim: 4 * v['embed-dim'], headBottleneckDim: v['embed-dim'], headUseBn: v['bn-head'] },
    augmentation: { globalCropSize: d.size, localCropSize: Math.round(d.size / 2), localCropsNumber: v['local-crops'], mean: d.mean, std: d.std },
    batchSize: v['batch-size'], epochs, warmupEpochs: Math.min(10, Math.ceil(epochs / 10)), lr: v.lr, teacherTemp: v['teacher-temp'],
    warmupTeacherTemp: v['teacher-temp'], momentumTeacher: v.momentum, seed: v.seed, outputDir: v.out, resume: v.resume,
    maxIterations: v['max-iterations'], saveEvery: v['save-every'], evaluation,
  });
  console.log(`trained ${result.iteration}/${result.totalIterations} iterations; checkpoint ${result.checkpointPath}, log ${v.out}/log.jsonl`);
}

function knn(args: string[]): void {
  const parsed = parseCommand('knn', args, KNN_OPTIONS, 1);
  if (parsed.help) return void console.log(`usage: ${USAGES.knn}`);
  const { values, positionals } = parsed;
  const { teacher, meta } = loadCheckpointNetworks(positionals[0]);
  const d = data(values.data, values['skip-bad-images']);
  const nTrain = values.train;
  const nTest = values.test;
  if (nTrain + nTest > d.dataset.length) throw new Error(`dinots knn: ${nTrain} train + ${nTest} test images exceed the dataset's ${d.dataset.length}`);
  // Interleaved, disjoint picks: every class of a class-sorted dataset shows up in both.
  const trainSet = loadImages(d.dataset, spread(d.dataset.length, nTrain, 0));
  const trainIndices = new Set(spread(d.dataset.length, nTrain, 0));
  const testSet = loadImages(d.dataset, spread(d.dataset.length, nTest + nTrain, 1).filter((i) => !trainIndices.has(i)).slice(0, nTest));
  // The baseline is the student's initial weights: the same architecture and seed.
  const random = buildDinoNetworks(meta.config.model as DinoModelOptions, new Generator(Number(meta.config.seed ?? 0))).teacher.backbone;
  const rows = compareKnn([{ name: 'DINO teacher', backbone: teacher.backbone }, { name: 'random init', backbone: random }], trainSet, testSet, d, { k: values.k, temperature: values.t });
  console.log(`weighted k-NN (k ${values.k}, T ${values.t}), ${trainSet.labels.length} train / ${testSet.labels.length} other test images:`);
  for (const r of rows) console.log(`  ${r.name.padEnd(14)} top-1 ${r.result.top1.toFixed(2)} %  top-5 ${r.result.top5.toFixed(2)} %`);
}

function attention(args: string[]): void {
  const parsed = parseCommand('attention', args, ATTENTION_OPTIONS, 1);
  if (parsed.help) return void console.log(`usage: ${USAGES.attention}`);
  const { values, positionals } = parsed;
  if (values.out === undefined) throw new UsageError('dinots attention: --out <dir> is required', 'attention');
  const { teacher } = loadCheckpointNetworks(positionals[0]);
  const d = data(values.data, values['skip-bad-images']);
  const { images } = loadImages(d.dataset, spread(d.dataset.length, values.images, 0));
  const folders = writeAttentionMaps(teacher.backbone, images, values.out, d, values.threshold);
  console.log(`attention maps of the teacher's last layer (one PNG per head, ${values.threshold}-mass masks) in ${folders.join(', ')}`);
}

/** Returns the exit code: 0 when every group is within PARITY_TOLERANCE. */
function parity(args: string[]): number {
  const parsed = parseCommand('parity', args, {}, 1);
  if (parsed.help) {
    console.log(`usage: ${USAGES.parity}`);
    return 0;
  }
  const file = parsed.positionals[0];
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
  // a wrong invocation exits 2 with the usage; a failure while running exits 1
  if (error instanceof UsageError) {
    const usage = error.command !== undefined && error.command in USAGES ? `usage: ${USAGES[error.command as keyof typeof USAGES]}` : USAGE;
    console.error(`${error.message}\n${usage}`);
    process.exitCode = 2;
  } else {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  }
}
