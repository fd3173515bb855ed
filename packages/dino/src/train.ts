// trainDino: the official training loop (main_dino.py `train_dino` and `train_one_epoch`; Caron et al. 2021, Algorithm 1).
// Per iteration it = epoch * itersPerEpoch + step:
//   1. lr = lrSchedule[it] on both parameter groups, wd = wdSchedule[it] on group 0 only
//   2. dinoIteration (dino-iteration.ts): teacher on the global crops, student on all crops,
//      the DINO loss, backward, clipping, the frozen last layer, the AdamW step, the EMA
//      of the teacher with m = momentumSchedule[it]; a non-finite loss stops the run
//   3. metrics, the log, checkpoints, and every `evaluation.every` iterations a weighted
//      k-NN of the teacher's and the student's CLS features on held-out images
// Schedules: lr warm-up from 0 then cosine to minLr (base lr scaled by batchSize/256),
// weight decay cosine 0.04 -> 0.4, teacher momentum cosine 0.996 -> 1, teacher temperature
// per epoch. Every random choice comes from three seeded Generators (initialisation and
// drop path, shuffling, augmentation) whose states go into checkpoints, so a resumed run
// continues with exactly the same bits.
//
// Devices: the networks, the AdamW moments, the center and the crops live on `device`;
// augmentation and data stay on the CPU (the collated crops move over each iteration).
// Checkpoints hold CPU copies, so a run can resume on the other device (bit-identical only on the same one).

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Device, Generator, type GeneratorState, backendInfo, checkInteger, randperm, scope } from '@dinots/tensor';
import { AdamW, cosineSchedule } from '@dinots/nn';
import { MultiCropAugmentation, type MultiCropOptions } from './augment/multi-crop-augmentation.js';
import { type CheckpointMeta, loadCheckpoint, saveCheckpoint, sidecarPath } from './checkpoint.js';
import { type CollapseKind, checkCollapse, teacherEntropyOfValues } from './collapse.js';
import { collateMultiCrop } from './data/collate.js';
import type { Dataset, LabeledImage } from './data/dataset.js';
import { MultiCropDataset } from './data/multi-crop-dataset.js';
import { dinoIteration } from './dino-iteration.js';
import { type LabeledBatch, backboneFeatures } from './evaluation.js';
import { JsonlLogger } from './jsonl-logger.js';
import { knnClassifier } from './knn.js';
import { DINOLoss } from './loss.js';
import { buildDinoNetworks, type DinoModelOptions, type DinoNetwork } from './model.js';
import { ProgressBar, type ProgressStream } from './progress-bar.js';
import { getParamsGroups } from './teacher.js';

/** Held-out images for a k-NN evaluation during training (eval_knn.py's protocol: weighted k-NN on CLS features). */
export interface KnnEvaluation {
  /** The feature bank: images [N, C, H, W] in [0, 1] and their labels. */
  train: LabeledBatch;
  test: LabeledBatch;
  /** Normalisation applied to the images before the backbone. */
  mean: readonly number[];
  std: readonly number[];
  /** Evaluate after every this many iterations (and after the last one). */
  every: number;
  k?: number;
  temperature?: number;
}

/** Weighted k-NN top-1 (percent) of a backbone's CLS features. */
function knnTop1(backbone: DinoNetwork['backbone'], e: KnnEvaluation): number {
  const features = (images: LabeledBatch['images']) => backboneFeatures(backbone, images, e.mean, e.std).to({ device: 'cpu', dtype: 'float64' });
  return knnClassifier(features(e.train.images), e.train.labels, features(e.test.images), e.test.labels, { k: e.k ?? 20, temperature: e.temperature ?? 0.07 }).top1;
}

export interface TrainDinoConfig {
  dataset: Dataset<LabeledImage>;
  model: DinoModelOptions;
  augmentation?: MultiCropOptions;
  batchSize: number;
  epochs: number;
  /** Base learning rate for a batch of 256 (scaled linearly by batchSize / 256). */
  lr?: number;
  minLr?: number;
  warmupEpochs?: number;
  weightDecay?: number;
  weightDecayEnd?: number;
  momentumTeacher?: number;
  /** Per-tensor gradient clipping norm; 0 turns clipping off. */
  clipGrad?: number;
  freezeLastLayer?: number;
  warmupTeacherTemp?: number;
  teacherTemp?: number;
  warmupTeacherTempEpochs?: number;
  seed?: number;
  /** Folder for checkpoint.safetensors (+ .json) and log.jsonl; nothing is written without it. */
  outputDir?: string;
  /** Checkpoint every this many iterations (and at the end); default: at the end of every epoch. */
  saveEvery?: number;
  /** Continue from outputDir/checkpoint.safetensors when it exists. */
  resume?: boolean;
  /** Stop after this global iteration count (schedules still span all epochs). */
  maxIterations?: number;
  /** Where the progress bar goes; false for none (default stderr). */
  progress?: ProgressStream | false;
  /** Check for collapse every this many iterations (default 10). */
  collapseEvery?: number;
  /** Called after every iteration. */
  onIteration?: (metrics: IterationMetrics) => void;
  /** Where the networks train: 'cpu' (default) or 'gpu' (the GPU backend, float32 only). */
  device?: Device;
  /** A k-NN evaluation on held-out images every few iterations, logged with the metrics. */
  evaluation?: KnnEvaluation;
}

export interface IterationMetrics {
  iteration: number;
  epoch: number;
  loss: number;
  lr: number;
  weightDecay: number;
  momentum: number;
  teacherTemp: number;
  /** Mean per-sample entropy of the teacher's probabilities (nats); log K = uniform collapse. */
  teacherEntropy: number;
  /** Entropy of the batch-mean teacher distribution; 0 = every sample on one output. */
  entropyOfMean: number;
  logK: number;
  collapse: CollapseKind;
  /** k-NN top-1 (percent) of the teacher's and the student's CLS features, on evaluation iterations. */
  knn?: { teacher: number; student: number };
}

export interface TrainDinoResult {
  student: DinoNetwork;
  teacher: DinoNetwork;
  dinoLoss: DINOLoss;
  history: IterationMetrics[];
  /** The next iteration to run (the total done so far, including before a resume). */
  iteration: number;
  totalIterations: number;
  checkpointPath?: string;
}

const CHECKPOINT = 'checkpoint.safetensors';

export function trainDino(config: TrainDinoConfig): TrainDinoResult {
  const {
    dataset, model, batchSize, epochs, lr = 0.0005, minLr = 1e-6, warmupEpochs = 10, weightDecay = 0.04, weightDecayEnd = 0.4,
    momentumTeacher = 0.996, clipGrad = 3, freezeLastLayer = 1, warmupTeacherTemp = 0.04, teacherTemp = 0.04,
    warmupTeacherTempEpochs = 0, seed = 0, outputDir, resume = false, collapseEvery = 10, device = 'cpu',
  } = config;
  const dtype = model.dtype ?? 'float32';
  if (device === 'gpu' && dtype !== 'float32') throw new Error(`trainDino: the GPU holds float32 only, but model.dtype is ${dtype}`);
  if (device === 'gpu' && backendInfo().mode === 'webgpu') {
    throw new Error("trainDino: it reads the loss back synchronously every iteration, which the GPU backend's webgpu mode cannot do (reads are `await t.data()` only); run it in a GL mode: DINOTS_GPU_MODE=headlessgl, or configureGpu({ mode: 'headlessgl' }) before the first GPU op; or drive the iterations yourself with dinoIterationAsync, which awaits its read");
  }
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`trainDino: batchSize must be a positive integer, got ${batchSize}`);
  const itersPerEpoch = Math.floor(dataset.length / batchSize); // drop_last
  if (itersPerEpoch < 1) throw new Error(`trainDino: the dataset has ${dataset.length} images, fewer than one batch of ${batchSize}`);
  if (warmupEpochs > epochs) throw new Error(`trainDino: warmupEpochs ${warmupEpochs} exceeds epochs ${epochs}`);
  const totalIterations = epochs * itersPerEpoch;
  const stopAt = Math.min(config.maxIterations ?? totalIterations, totalIterations);
  const saveEvery = config.saveEvery === undefined ? itersPerEpoch : checkInteger('trainDino', 'saveEvery', config.saveEvery, { min: 1 });

  // Random sources: initialisation and drop path, shuffling, augmentation.
  const rng = { model: new Generator(seed), shuffle: new Generator(seed + 1), augmentation: new Generator(seed + 2) };
  const { student, teacher } = buildDinoNetworks(model, rng.model);
  // Move before the optimizer is built: it holds the parameter tensors themselves.
  student.to(device);
  teacher.to(device);
  const augmentation = new MultiCropAugmentation(config.augmentation);
  const views = new MultiCropDataset(dataset, augmentation, rng.augmentation);
  const dinoLoss = new DINOLoss({
    outDim: model.outDim, ncrops: augmentation.ncrops, warmupTeacherTemp, teacherTemp, warmupTeacherTempEpochs, epochs, dtype, device,
  });
  const [decayed, notDecayed] = getParamsGroups(student);
  const optimizer = new AdamW([decayed, notDecayed], { lr: 0, weightDecay: 0 });
  const lrSchedule = cosineSchedule((lr * batchSize) / 256, minLr, epochs, itersPerEpoch, { warmupEpochs });
  const wdSchedule = cosineSchedule(weightDecay, weightDecayEnd, epochs, itersPerEpoch);
  const momentumSchedule = cosineSchedule(momentumTeacher, 1, epochs, itersPerEpoch);

  const runConfig = { model, augmentation: config.augmentation ?? {}, batchSize, epochs, lr, minLr, warmupEpochs, weightDecay, weightDecayEnd, momentumTeacher, clipGrad, freezeLastLayer, warmupTeacherTemp, teacherTemp, warmupTeacherTempEpochs, seed, datasetLength: dataset.length };
  const checkpointPath = outputDir === undefined ? undefined : join(outputDir, CHECKPOINT);
  let iteration = 0;
  let epochShuffleState: GeneratorState = rng.shuffle.getState();
  if (resume && checkpointPath !== undefined && existsSync(checkpointPath)) {
    const saved = JSON.stringify((JSON.parse(readFileSync(sidecarPath(checkpointPath), 'utf8')) as CheckpointMeta).config);
    if (saved !== JSON.stringify(runConfig)) throw new Error(`trainDino: cannot resume ${checkpointPath}: it was written with a different config\n  saved: ${saved}\n  now:   ${JSON.stringify(runConfig)}`);
    const meta = loadCheckpoint(checkpointPath, { student, teacher, optimizer, dinoLoss });
    iteration = meta.iteration;
    rng.model.setState(meta.rng.model);
    rng.augmentation.setState(meta.rng.augmentation);
    epochShuffleState = meta.rng.epochShuffle;
  }
  if (outputDir !== undefined) mkdirSync(outputDir, { recursive: true });
  const logger = outputDir === undefined ? undefined : new JsonlLogger(join(outputDir, 'log.jsonl'));
  // the log holds exactly the iterations before this one (none for a fresh run into an old folder)
  logger?.truncate((r) => typeof r.iteration === 'number' && r.iteration < iteration);
  const bar = config.progress === false ? undefined : new ProgressBar(Math.max(stopAt, 1), { label: `DINO (${epochs} epochs x ${itersPerEpoch} it)`, stream: config.progress });

  const save = (next: number) => {
    if (checkpointPath === undefined) return;
    saveCheckpoint(checkpointPath, { student, teacher, optimizer, dinoLoss }, {
      iteration: next,
      epoch: Math.floor(next / itersPerEpoch),
      step: next % itersPerEpoch,
      rng: { model: rng.model.getState(), augmentation: rng.augmentation.getState(), epochShuffle: next % itersPerEpoch === 0 ? rng.shuffle.getState() : epochShuffleState },
      config: runConfig,
    });
  };

  const history: IterationMetrics[] = [];
  let order: Int32Array | null = null;
  // On a resume inside an epoch, that epoch's permutation is redrawn from its saved start state.
  rng.shuffle.setState(epochShuffleState);
  if (iteration % itersPerEpoch !== 0) order = randperm(dataset.length, { generator: rng.shuffle }).dataSync() as Int32Array;
  student.train();
  teacher.train();
  while (iteration < stopAt) {
    const epoch = Math.floor(iteration / itersPerEpoch);
    const step = iteration % itersPerEpoch;
    if (step === 0 || order === null) {
      epochShuffleState = rng.shuffle.getState();
      order = randperm(dataset.length, { generator: rng.shuffle }).dataSync() as Int32Array;
    }
    const batch = collateMultiCrop(Array.from(order.subarray(step * batchSize, (step + 1) * batchSize), (i) => views.get(i)));

    // 1. schedules
    const it = iteration;
    for (const [g, group] of optimizer.paramGroups.entries()) {
      group.lr = lrSchedule[it];
      if (g === 0) group.weightDecay = wdSchedule[it];
    }
    let result: ReturnType<typeof dinoIteration>;
    try {
      // The crops' copies on the device are freed with this scope, after the iteration.
      result = scope(() => dinoIteration(
        { student, teacher, dinoLoss, optimizer, clipGrad, freezeLastLayer }, batch.crops.map((c) => c.to({ device, dtype })), epoch, momentumSchedule[it],
      ));
    } catch (error) {
      throw new Error(`trainDino: iteration ${it} (epoch ${epoch}, step ${step}): ${(error as Error).message}`);
    }
    const { loss: lossValue, teacherProbs, probsShape } = result;
    const entropy = teacherEntropyOfValues(teacherProbs, probsShape[0], probsShape[1]);
    const collapse = checkCollapse(entropy);
    const metrics: IterationMetrics = {
      iteration: it, epoch, loss: lossValue, lr: lrSchedule[it], weightDecay: wdSchedule[it], momentum: momentumSchedule[it],
      teacherTemp: dinoLoss.teacherTemp(epoch), teacherEntropy: entropy.meanEntropy, entropyOfMean: entropy.entropyOfMean, logK: entropy.maxEntropy,
      collapse: collapse.kind,
    };
    const evaluation = config.evaluation;
    if (evaluation !== undefined && ((it + 1) % evaluation.every === 0 || it + 1 === stopAt)) {
      metrics.knn = { teacher: knnTop1(teacher.backbone, evaluation), student: knnTop1(student.backbone, evaluation) };
    }
    history.push(metrics);
    logger?.log({ ...metrics, time: new Date().toISOString() });
    config.onIteration?.(metrics);
    iteration++;
    bar?.update(iteration, { loss: lossValue, lr: metrics.lr, wd: metrics.weightDecay, mom: metrics.momentum, H: entropy.meanEntropy });
    if (collapse.kind !== 'none' && (it + 1) % collapseEvery === 0) bar?.log(`warning at iteration ${it}: ${collapse.message}`);
    if (metrics.knn !== undefined) bar?.log(`iteration ${it + 1}: k-NN top-1 teacher ${metrics.knn.teacher.toFixed(2)} %, student ${metrics.knn.student.toFixed(2)} %`);
    if (iteration % saveEvery === 0 || iteration === stopAt) save(iteration);
  }
  return { student, teacher, dinoLoss, history, iteration, totalIterations, checkpointPath };
}
