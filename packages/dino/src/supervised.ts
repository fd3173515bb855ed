// A supervised Vision Transformer: the reference DINO is compared against (DINO paper
// section 4.2.1 / Table 7 compares the attention of a supervised ViT with DINO's). The same
// VisionTransformer as DINO's backbone, a Linear classifier on its CLS feature, trained with
// cross-entropy,
//   loss = -mean_i log softmax(W cls(x_i) + b)[y_i],
// and AdamW with DINO's schedules in iterations: lr linear warm-up then cosine to minLr,
// weight decay cosine weightDecay -> weightDecayEnd, none on biases and 1-D parameters
// (getParamsGroups), per-tensor gradient clipping. Images are normalised; an optional
// Transform augments them first (none by default). Batches are drawn without replacement,
// a fresh permutation each epoch (drop_last). The backbone starts from the same
// initialisation as a DINO student built with the same seed (trainDino draws the backbone
// first from Generator(seed)), so both runs share their random-init point.

import { Generator, type Tensor, gather, noGrad, randperm, scope, stack, tensor } from '@dinots/tensor';
import { AdamW, Linear, Module, VisionTransformer, clipGradients, cosineSchedule } from '@dinots/nn';
import type { Transform } from './augment/image.js';
import { normalize } from './augment/normalize.js';
import type { Dataset, LabeledImage } from './data/dataset.js';
import { ProgressBar, type ProgressStream } from './progress-bar.js';
import { type VitArchitecture, buildBackbone } from './model.js';
import { getParamsGroups } from './teacher.js';

/** The backbone and a Linear on its CLS feature. */
export class ViTClassifier extends Module {
  readonly backbone: VisionTransformer;
  readonly head: Linear;

  constructor(backbone: VisionTransformer, numClasses: number, generator?: Generator) {
    super();
    this.backbone = this.registerModule('backbone', backbone);
    this.head = this.registerModule('head', new Linear(backbone.embedDim, numClasses, { generator }));
  }

  /** Class logits [B, numClasses] of normalised images [B, C, H, W]. */
  forward(x: Tensor): Tensor {
    return this.head.forward(this.backbone.forward(x));
  }
}

/** Mean cross-entropy of logits [B, K] against integer labels (torch.nn.functional.cross_entropy). */
export function crossEntropy(logits: Tensor, labels: ArrayLike<number>): Tensor {
  const index = tensor(Array.from(labels), { shape: [labels.length, 1], dtype: 'int32' });
  return gather(logits.logSoftmax(-1), 1, index).mean().neg();
}

export interface TrainSupervisedConfig {
  dataset: Dataset<LabeledImage>;
  model: VitArchitecture;
  numClasses: number;
  iterations: number;
  batchSize: number;
  /** Peak learning rate (not scaled by the batch size). */
  lr?: number;
  minLr?: number;
  warmupIterations?: number;
  weightDecay?: number;
  weightDecayEnd?: number;
  /** Per-tensor gradient clipping norm; 0 turns it off. */
  clipGrad?: number;
  mean: readonly number[];
  std: readonly number[];
  /** Applied to each image in [0, 1] before normalisation; none by default. */
  augmentation?: Transform;
  seed?: number;
  progress?: ProgressStream | false;
  onIteration?: (metrics: SupervisedMetrics) => void;
}

export interface SupervisedMetrics {
  iteration: number;
  loss: number;
  /** Top-1 accuracy on the training batch, in percent. */
  batchAccuracy: number;
  lr: number;
}

export interface TrainSupervisedResult {
  model: ViTClassifier;
  backbone: VisionTransformer;
  history: SupervisedMetrics[];
}

export function trainSupervised(config: TrainSupervisedConfig): TrainSupervisedResult {
  const {
    dataset, model: architecture, numClasses, iterations, batchSize, lr = 1e-3, minLr = 1e-6, warmupIterations = Math.floor(iterations / 10),
    weightDecay = 0.04, weightDecayEnd = 0.4, clipGrad = 3, mean, std, augmentation, seed = 0,
  } = config;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > dataset.length) {
    throw new Error(`trainSupervised: batchSize must be an integer in [1, ${dataset.length}] (the dataset's length), got ${batchSize}`);
  }
  if (!Number.isInteger(iterations) || iterations < 1) throw new Error(`trainSupervised: iterations must be a positive integer, got ${iterations}`);
  const rng = { model: new Generator(seed), shuffle: new Generator(seed + 1), augmentation: new Generator(seed + 2) };
  const net = new ViTClassifier(buildBackbone(architecture, rng.model), numClasses, rng.model);
  const [decayed, notDecayed] = getParamsGroups(net);
  const optimizer = new AdamW([decayed, notDecayed], { lr: 0, weightDecay: 0 });
  const lrSchedule = cosineSchedule(lr, minLr, iterations, 1, { warmupEpochs: warmupIterations });
  const wdSchedule = cosineSchedule(weightDecay, weightDecayEnd, iterations, 1);
  const perEpoch = Math.floor(dataset.length / batchSize);
  const bar = config.progress === false ? undefined : new ProgressBar(iterations, { label: `supervised ViT (${iterations} it)`, stream: config.progress });
  const history: SupervisedMetrics[] = [];
  let order: Int32Array = new Int32Array(0);
  net.train();
  for (let it = 0; it < iterations; it++) {
    const step = it % perEpoch;
    if (step === 0) order = randperm(dataset.length, { generator: rng.shuffle }).dataSync() as Int32Array;
    const samples = Array.from(order.subarray(step * batchSize, (step + 1) * batchSize), (i) => dataset.get(i));
    const labels = Int32Array.from(samples, (s) => s.label);
    const images = stack(samples.map((s) => normalize(augmentation === undefined ? s.image : augmentation.forward(s.image, rng.augmentation), mean, std)));
    for (const [g, group] of optimizer.paramGroups.entries()) {
      group.lr = lrSchedule[it];
      if (g === 0) group.weightDecay = wdSchedule[it];
    }
    const { loss, correct } = scope(() => {
      const logits = net.forward(images);
      const loss = crossEntropy(logits, labels);
      const predicted = noGrad(() => logits.argmax(-1)).dataSync();
      let correct = 0;
      for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) correct++;
      const value = loss.item();
      if (!Number.isFinite(value)) throw new Error(`trainSupervised: the loss is ${value} at iteration ${it}; stopping (lower the learning rate)`);
      optimizer.zeroGrad();
      loss.backward();
      if (clipGrad > 0) clipGradients(net, clipGrad);
      optimizer.step();
      optimizer.zeroGrad();
      return { loss: value, correct };
    });
    const metrics: SupervisedMetrics = { iteration: it, loss, batchAccuracy: (100 * correct) / labels.length, lr: lrSchedule[it] };
    history.push(metrics);
    config.onIteration?.(metrics);
    bar?.update(it + 1, { loss, acc: metrics.batchAccuracy, lr: metrics.lr });
  }
  return { model: net, backbone: net.backbone, history };
}
