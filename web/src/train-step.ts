// One DINO training iteration whose only read-back is awaited (`await t.data()`), so it
// runs in every GPU mode, webgpu included, and yields to the page between iterations:
// the page's schedules around dinoIterationAsync (packages/dino/src/dino-iteration.ts),
// the iteration trainDino runs, with its read awaited: teacher on the 2 global crops and
// student on all crops, DINOLoss (its center updates inside), one read of the loss and
// the teacher's probabilities, then backward, per-tensor gradient clipping, freezing the
// last layer, AdamW and the EMA teacher update (DINO paper, Algorithm 1).

import { type Device, type Tensor, scope } from '@dinots/tensor';
import { AdamW, cosineSchedule } from '@dinots/nn';
import { DINOLoss, type DinoNetwork, type MultiCropBatch, dinoIterationAsync, getParamsGroups, teacherEntropyOfValues } from '@dinots/dino';

export interface StepOptions {
  /** Iterations the schedules span. */
  iterations: number;
  /** Peak learning rate, reached after `warmup` iterations. */
  lr: number;
  warmup: number;
  /** The teacher's EMA momentum at the start (cosine to 1); 1 holds the teacher fixed. */
  momentumTeacher: number;
  /** The center's EMA momentum (DINO: 0.9); 1 holds the center fixed. */
  centerMomentum: number;
  /** The teacher's softmax temperature (sharpening; DINO's default 0.04, lower for small heads that start near uniform). */
  teacherTemp: number;
  clipGrad: number;
  /** Iterations with the head's last layer frozen. */
  freezeLastLayer: number;
}

export interface StepMetrics {
  iteration: number;
  loss: number;
  /** Mean entropy of the teacher's output distributions (nats). */
  teacherEntropy: number;
  /** Entropy of their batch mean; log K means the outputs spread over all K dimensions. */
  entropyOfMean: number;
  logK: number;
}

/** The state of a run of DINO in the page: networks, loss (with its center), optimizer, schedules. */
export class DinoStepper {
  readonly dinoLoss: DINOLoss;
  readonly optimizer: AdamW;
  private readonly lr: number[];
  private readonly momentum: number[];
  iteration = 0;

  constructor(
    readonly student: DinoNetwork,
    readonly teacher: DinoNetwork,
    outDim: number,
    ncrops: number,
    readonly device: Device,
    readonly options: StepOptions,
    center: Tensor | null = null,
  ) {
    // One "epoch" per iteration, so that the loss's teacher-temperature schedule (per epoch) is flat at its final value.
    this.dinoLoss = new DINOLoss({ outDim, ncrops, warmupTeacherTemp: options.teacherTemp, teacherTemp: options.teacherTemp, warmupTeacherTempEpochs: 0, epochs: options.iterations, centerMomentum: options.centerMomentum, device });
    if (center !== null) this.dinoLoss.center.copy_(center); // continue a checkpoint's run with its center
    this.optimizer = new AdamW(getParamsGroups(student), { lr: 0, weightDecay: 0.04 });
    this.lr = cosineSchedule(options.lr, options.lr / 100, options.iterations, 1, { warmupEpochs: options.warmup });
    this.momentum = cosineSchedule(options.momentumTeacher, 1, options.iterations, 1);
  }

  /** Runs one iteration on `batch` (crops on the CPU, moved to the device here). */
  async step(batch: MultiCropBatch): Promise<StepMetrics> {
    const it = this.iteration;
    const at = Math.min(it, this.options.iterations - 1); // past the planned iterations, the schedules stay at their end
    for (const group of this.optimizer.paramGroups) group.lr = this.lr[at];
    this.student.train();
    this.teacher.train();
    const metrics = await scope(async () => {
      const crops = batch.crops.map((c: Tensor) => c.to({ device: this.device, dtype: 'float32' }));
      const state = { student: this.student, teacher: this.teacher, dinoLoss: this.dinoLoss, optimizer: this.optimizer, clipGrad: this.options.clipGrad, freezeLastLayer: this.options.freezeLastLayer };
      const { loss, teacherProbs, probsShape } = await dinoIterationAsync(state, crops, at, this.momentum[at]);
      const entropy = teacherEntropyOfValues(teacherProbs, probsShape[0], probsShape[1]);
      return { iteration: it, loss, teacherEntropy: entropy.meanEntropy, entropyOfMean: entropy.entropyOfMean, logK: entropy.maxEntropy };
    });
    this.student.eval();
    this.teacher.eval();
    this.iteration++;
    return metrics;
  }
}
