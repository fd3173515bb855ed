// npm run experiment:emerging: the emerging property of DINO (Caron et al. 2021, section
// 4.2.1 and Table 7: the last layer's [CLS] attention of a self-supervised ViT segments the
// object, more than a supervised ViT's) in miniature, on cluttered digits
// (data/cluttered-mnist.ts).
//
//   node packages/dino/dist/src/experiments/emerging.js                 train both, then evaluate
//   ... --train dino | --train supervised                               train one (e.g. two processes at once)
//   ... --resume                                                        continue a DINO run from its last epoch checkpoint
//   ... --export-dino                                                   save the teacher of the DINO run's last epoch checkpoint
//                                                                       (a run stopped early) as the DINO checkpoint
//   ... --eval-only                                                     evaluate the checkpoints only (minutes)
//   ... --no-local-crops                                                with any of the above: the DINO variant with the 2
//                                                                       global crops only (its own checkpoint, run folder,
//                                                                       results-no-local.json and attention-no-local.png)
//
// Training: DINO (trainDino, BatchNorm head) and a supervised ViT (trainSupervised), same
// architecture, batch size, iterations and seed, one CPU thread each. Their backbones go to
// checkpoints/emerging-{dino,supervised}.safetensors (DINO: the teacher's, as the paper
// evaluates the teacher) with the architecture and run facts in the safetensors metadata.
// Evaluation (evaluateEmerging): weighted k-NN (k 20, T 0.07) of raw pixels and of the CLS
// features of the random-init, supervised and DINO backbones; attention-mask Jaccard with
// the digit masks (attention-jaccard.ts); results.json and an attention figure.

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Generator, setNumThreads, stack } from '@dinots/tensor';
import { type VisionTransformer, parseSafetensors, saveSafetensors } from '@dinots/nn';
import { type AttentionJaccard, attentionJaccard, bestPatchJaccard } from '../attention-jaccard.js';
import { writeAttentionFigure } from '../attention-figure.js';
import { loadCheckpointNetworks } from '../checkpoint.js';
import { ClutteredDigits, type ClutteredDigitsOptions } from '../data/cluttered-mnist.js';
import type { Dataset, LabeledImage } from '../data/dataset.js';
import { randomSplit } from '../data/dataset.js';
import { MNIST } from '../data/mnist.js';
import { compareKnn, loadImages } from '../evaluation.js';
import { type TrainDinoConfig, trainDino } from '../train.js';
import { type VitArchitecture, buildBackbone } from '../model.js';
import { trainSupervised } from '../supervised.js';
import { mnistRecipe } from '../recipes/mnist.js';

export const ARCHITECTURE: VitArchitecture = { imgSize: 48, patchSize: 8, inChans: 1, embedDim: 64, depth: 2, numHeads: 4 };
export const DATA: ClutteredDigitsOptions = { canvasSize: 48, digitSize: [24, 36], fragments: 6, fragmentSize: [6, 9], maskThreshold: 0.5 };
const SEED = 0;
const BATCH = 64;
/** 8,000 training images: 125 iterations per epoch. */
const EPOCHS = 4;
const ITERATIONS = EPOCHS * Math.floor(8000 / BATCH);

/** The DINO run: the MNIST recipe (recipes/mnist.ts) at 48 px, batch 64, lr 5e-4. */
function dinoConfig(dataset: Dataset<LabeledImage>, normalization: Normalization, outputDir: string, resume: boolean, localCropsNumber: number): TrainDinoConfig {
  const recipe = mnistRecipe(EPOCHS);
  return {
    ...recipe,
    dataset,
    model: { ...recipe.model, ...ARCHITECTURE },
    augmentation: { ...recipe.augmentation, globalCropSize: 48, localCropSize: 24, localCropsNumber, mean: normalization.mean, std: normalization.std },
    batchSize: BATCH,
    // 5e-4 at batch 64 (trainDino scales the base lr by batchSize / 256); 1e-3 let the teacher drift towards uniform (README).
    lr: 0.002,
    seed: SEED,
    outputDir,
    resume,
    progress: false,
  };
}

export interface Normalization {
  mean: readonly number[];
  std: readonly number[];
}

export interface EmergingData {
  train: ClutteredDigits;
  test: ClutteredDigits;
  normalization: Normalization;
}

/**
 * The cluttered digits: MNIST's embedded 10,000 digits split 8,000 / 2,000 (Generator(0)),
 * each split cluttered with its own digits (seeds 1 and 2), so no test digit or fragment is
 * seen in training. Normalisation: mean and std of the first 1,000 training images' pixels.
 */
export function emergingData(options: { trainLength?: number; testLength?: number } = {}): EmergingData {
  const [trainPool, testPool] = randomSplit(new MNIST(), [8000, 2000], new Generator(0));
  const train = new ClutteredDigits(trainPool, { ...DATA, seed: 1, length: options.trainLength });
  const test = new ClutteredDigits(testPool, { ...DATA, seed: 2, length: options.testLength });
  return { train, test, normalization: pixelStats(train, Math.min(1000, train.length)) };
}

/** Mean and std over all pixels of the first n images (one channel). */
export function pixelStats(dataset: Dataset<LabeledImage>, n: number): Normalization {
  let sum = 0;
  let sumSq = 0;
  let count = 0;
  for (let i = 0; i < n; i++) {
    for (const v of dataset.get(i).image.dataSync()) {
      sum += v;
      sumSq += v * v;
      count++;
    }
  }
  const mean = sum / count;
  return { mean: [mean], std: [Math.sqrt(sumSq / count - mean * mean)] };
}

/** Saves a backbone with its architecture and run facts in the metadata. */
export function saveBackbone(path: string, backbone: VisionTransformer, architecture: VitArchitecture, facts: Record<string, unknown>): void {
  mkdirSync(dirname(path), { recursive: true });
  saveSafetensors(path, backbone.stateDict(), { architecture: JSON.stringify(architecture), facts: JSON.stringify(facts) });
}

/** A backbone saved by saveBackbone, and its metadata. */
export function loadBackbone(path: string): { backbone: VisionTransformer; architecture: VitArchitecture; facts: Record<string, unknown> } {
  const { tensors, metadata } = parseSafetensors(readFileSync(path));
  const architecture = JSON.parse(metadata.architecture) as VitArchitecture;
  const backbone = buildBackbone(architecture);
  backbone.loadStateDict(tensors);
  return { backbone, architecture, facts: JSON.parse(metadata.facts ?? '{}') as Record<string, unknown> };
}

function log(message: string): void {
  console.log(`[${new Date().toISOString()}] ${message}`);
}

function trainDinoRun(data: EmergingData, checkpoint: string, runDir: string, resume: boolean, localCropsNumber: number): void {
  if (!resume) rmSync(runDir, { recursive: true, force: true });
  const started = performance.now();
  const config = dinoConfig(data.train, data.normalization, runDir, resume, localCropsNumber);
  log(`DINO (${localCropsNumber} local crops): ${ITERATIONS} iterations of ${BATCH} (${EPOCHS} epochs), normalisation mean ${data.normalization.mean[0].toFixed(4)} std ${data.normalization.std[0].toFixed(4)}`);
  const result = trainDino({
    ...config,
    onIteration: (m) => {
      if (m.iteration % 25 === 0 || m.iteration === ITERATIONS - 1) {
        log(`DINO it ${m.iteration} loss ${m.loss.toFixed(4)} lr ${m.lr.toExponential(2)} teacher entropy ${m.teacherEntropy.toFixed(3)} entropy of mean ${m.entropyOfMean.toFixed(3)} (log K ${m.logK.toFixed(3)}) ${m.collapse}`);
      }
    },
  });
  const last = result.history.at(-1);
  const seconds = (performance.now() - started) / 1000;
  saveBackbone(checkpoint, result.teacher.backbone, ARCHITECTURE, {
    method: 'DINO teacher backbone', localCropsNumber, iterations: result.iteration, batchSize: BATCH, wallSecondsThisProcess: Math.round(seconds), resumed: resume,
    finalLoss: last?.loss, finalTeacherEntropy: last?.teacherEntropy, finalEntropyOfMean: last?.entropyOfMean, normalization: data.normalization,
  });
  log(`DINO done in ${seconds.toFixed(0)} s: ${checkpoint}`);
}

/** The teacher backbone of the last checkpoint trainDino wrote into runDir (a run stopped before its end). */
function exportDinoRun(runDir: string, checkpoint: string): void {
  const { teacher, meta } = loadCheckpointNetworks(join(runDir, 'checkpoint.safetensors'));
  saveBackbone(checkpoint, teacher.backbone, ARCHITECTURE, {
    method: 'DINO teacher backbone', iterations: meta.iteration, plannedIterations: ITERATIONS, batchSize: BATCH, stoppedEarly: meta.iteration < ITERATIONS,
  });
  log(`DINO: exported the teacher at iteration ${meta.iteration} of ${ITERATIONS} to ${checkpoint}`);
}

function trainSupervisedRun(data: EmergingData, checkpoint: string): void {
  const started = performance.now();
  log(`supervised: ${ITERATIONS} iterations of ${BATCH}, no augmentation`);
  const recent: number[] = [];
  const result = trainSupervised({
    dataset: data.train, model: ARCHITECTURE, numClasses: 10, iterations: ITERATIONS, batchSize: BATCH, lr: 1e-3, minLr: 1e-6,
    warmupIterations: Math.floor(ITERATIONS / 8), weightDecay: 0.04, weightDecayEnd: 0.4, clipGrad: 3, mean: data.normalization.mean, std: data.normalization.std,
    seed: SEED, progress: false,
    onIteration: (m) => {
      recent.push(m.batchAccuracy);
      if (recent.length > 25) recent.shift();
      if (m.iteration % 25 === 0 || m.iteration === ITERATIONS - 1) {
        log(`supervised it ${m.iteration} loss ${m.loss.toFixed(4)} batch accuracy (last 25) ${(recent.reduce((a, b) => a + b, 0) / recent.length).toFixed(1)} % lr ${m.lr.toExponential(2)}`);
      }
    },
  });
  const seconds = (performance.now() - started) / 1000;
  const tail = result.history.slice(-25);
  saveBackbone(checkpoint, result.backbone, ARCHITECTURE, {
    method: 'supervised ViT backbone (cross-entropy, no augmentation)', iterations: ITERATIONS, batchSize: BATCH, wallSecondsThisProcess: Math.round(seconds),
    finalTrainBatchAccuracy: tail.reduce((s, m) => s + m.batchAccuracy, 0) / tail.length, normalization: data.normalization,
  });
  log(`supervised done in ${seconds.toFixed(0)} s: ${checkpoint}`);
}

export interface EmergingResults {
  knn: { rawPixels: number; randomInit: number; supervised: number; dino: number };
  /** Best head's mean Jaccard on the test images, the head chosen on the validation images. */
  jaccard: { randomInit: number; supervised: number; dino: number };
  jaccardMean: { randomInit: number; supervised: number; dino: number };
  jaccardPerHead: { randomInit: number[]; supervised: number[]; dino: number[] };
  bestHead: { randomInit: number; supervised: number; dino: number };
  /** The highest Jaccard any set of whole patches reaches, averaged over the test images. */
  jaccardCeiling: number;
  /** The share of canvas pixels in the digit mask, averaged over the test images. */
  maskFraction: number;
  setup: Record<string, unknown>;
}

export interface EvaluateOptions {
  dinoCheckpoint: string;
  supervisedCheckpoint: string;
  data: EmergingData;
  /** Training images used to pick each model's best head (not the test images). */
  validationImages?: number;
  resultsPath?: string;
  figurePath?: string;
  /** Test images shown in the figure. */
  figureImages?: number;
  randomInitSeed?: number;
}

/** k-NN and attention Jaccard of random init, supervised and DINO; writes results.json and the figure when paths are given. */
export function evaluateEmerging(options: EvaluateOptions): EmergingResults {
  const { data, validationImages = 500, figureImages = 6, randomInitSeed = SEED } = options;
  const dino = loadBackbone(options.dinoCheckpoint);
  const supervised = loadBackbone(options.supervisedCheckpoint);
  // The random-init baseline: the starting point of both runs (buildBackbone from Generator(seed)).
  const models = [
    { key: 'randomInit', name: 'random init', backbone: buildBackbone(dino.architecture, new Generator(randomInitSeed)) },
    { key: 'supervised', name: 'supervised', backbone: supervised.backbone },
    { key: 'dino', name: 'DINO', backbone: dino.backbone },
  ] as const;
  const all = (d: ClutteredDigits) => Array.from({ length: d.length }, (_, i) => i);
  log(`evaluating on ${data.train.length} training and ${data.test.length} test images`);
  const train = loadImages(data.train, all(data.train));
  const test = loadImages(data.test, all(data.test));
  const knn = compareKnn(models.map((m) => ({ name: m.key, backbone: m.backbone })), train, test, data.normalization);
  const top1 = (name: string) => knn.find((r) => r.name === name)!.result.top1;

  const validation = Math.min(validationImages, data.train.length);
  const validationImagesTensor = train.images.narrow(0, 0, validation);
  const validationMasks = Array.from({ length: validation }, (_, i) => data.train.mask(i));
  const testMasks = all(data.test).map((i) => data.test.mask(i));
  const S = data.test.canvasSize;
  const jaccards = {} as Record<(typeof models)[number]['key'], { test: AttentionJaccard; head: number }>;
  for (const m of models) {
    const head = attentionJaccard(m.backbone, validationImagesTensor, validationMasks, data.normalization).bestHead;
    jaccards[m.key] = { test: attentionJaccard(m.backbone, test.images, testMasks, data.normalization), head };
  }
  const ceiling = testMasks.reduce((s, mask) => s + bestPatchJaccard(mask, S, S, dino.backbone.patchSize), 0) / testMasks.length;
  const pick = <T>(f: (key: (typeof models)[number]['key']) => T) => ({ randomInit: f('randomInit'), supervised: f('supervised'), dino: f('dino') });
  const results: EmergingResults = {
    knn: { rawPixels: top1('raw pixels'), ...pick((k) => top1(k)) },
    jaccard: pick((k) => jaccards[k].test.perHead[jaccards[k].head]),
    jaccardMean: pick((k) => jaccards[k].test.mean),
    jaccardPerHead: pick((k) => jaccards[k].test.perHead),
    bestHead: pick((k) => jaccards[k].head),
    jaccardCeiling: ceiling,
    maskFraction: testMasks.reduce((s, mask) => s + mask.reduce((a, b) => a + b, 0) / mask.length, 0) / testMasks.length,
    setup: {
      backboneParameters: dino.backbone.numParameters(), trainImages: data.train.length, testImages: data.test.length, validationImagesForBestHead: validation, knn: 'weighted, k 20, T 0.07, cosine',
      attentionThreshold: 0.6, architecture: dino.architecture,
      data: { canvasSize: S, digitSize: data.test.digitSize, fragments: data.test.fragments, fragmentSize: data.test.fragmentSize, maskThreshold: data.test.maskThreshold, trainSeed: data.train.seed, testSeed: data.test.seed }, normalization: data.normalization,
      dinoCheckpoint: dino.facts, supervisedCheckpoint: supervised.facts,
    },
  };
  if (options.resultsPath !== undefined) {
    mkdirSync(dirname(options.resultsPath), { recursive: true });
    writeFileSync(options.resultsPath, `${JSON.stringify(results, null, 2)}\n`);
  }
  if (options.figurePath !== undefined) {
    const shown = Array.from({ length: Math.min(figureImages, data.test.length) }, (_, i) => i);
    writeAttentionFigure(options.figurePath, models.map((m) => ({ name: m.name, backbone: m.backbone, highlightHead: jaccards[m.key].head })), stack(shown.map((i) => data.test.get(i).image)), {
      normalization: data.normalization, masks: shown.map((i) => testMasks[i]),
    });
  }
  return results;
}

function main(argv: readonly string[]): void {
  setNumThreads(Number(process.env.DINOTS_THREADS ?? 1));
  const root = resolve(process.env.EMERGING_ROOT ?? '.');
  // The variant without local crops keeps its files beside the main run's.
  const variant = argv.includes('--no-local-crops') ? '-no-local' : '';
  const localCropsNumber = variant === '' ? 4 : 0;
  const checkpoints = { dino: join(root, 'checkpoints', `emerging-dino${variant}.safetensors`), supervised: join(root, 'checkpoints', 'emerging-supervised.safetensors') };
  const out = join(root, 'experiments', 'emerging');
  const runDir = join(out, `run-dino${variant}`);
  const resultsPath = join(out, `results${variant}.json`);
  const figurePath = join(out, `attention${variant}.png`);
  const only = argv.includes('--train') ? argv[argv.indexOf('--train') + 1] : undefined;
  if (only !== undefined && only !== 'dino' && only !== 'supervised') throw new Error(`--train takes dino or supervised, got ${only}`);
  if (argv.includes('--export-dino')) {
    exportDinoRun(runDir, checkpoints.dino);
    return;
  }
  const data = emergingData();
  if (!argv.includes('--eval-only')) {
    if (only !== 'supervised') trainDinoRun(data, checkpoints.dino, runDir, argv.includes('--resume'), localCropsNumber);
    if (only !== 'dino') trainSupervisedRun(data, checkpoints.supervised);
    if (only !== undefined) return;
  }
  for (const path of Object.values(checkpoints)) if (!existsSync(path)) throw new Error(`missing checkpoint ${path}: run without --eval-only first`);
  const started = performance.now();
  const results = evaluateEmerging({
    dinoCheckpoint: checkpoints.dino, supervisedCheckpoint: checkpoints.supervised, data,
    resultsPath, figurePath,
  });
  log(`k-NN top-1 (%): ${JSON.stringify(results.knn)}`);
  log(`Jaccard, best head: ${JSON.stringify(results.jaccard)}; mean over heads: ${JSON.stringify(results.jaccardMean)}; patch ceiling ${results.jaccardCeiling.toFixed(4)}`);
  log(`evaluation took ${((performance.now() - started) / 1000).toFixed(0)} s; wrote ${resultsPath} and ${figurePath}`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) main(process.argv.slice(2));
