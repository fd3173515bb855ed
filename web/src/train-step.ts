// One DINO training iteration whose only read-back is awaited (`await t.data()`), so it
// runs in every GPU mode, webgpu included, and yields to the page between iterations.
// The same steps as trainDino in packages/dino/src/train.ts (which reads synchronously):
// schedules, teacher on the 2 global crops and student on all crops, DINOLoss (its
// center updates inside), one read of the loss and the teacher's probabilities, then
// backward, per-tensor gradient clipping, freezing the last layer, AdamW and the EMA
// teacher update (DINO paper, Algorithm 1).

import { type Device, type Tensor, cat, noGrad, scope } from '@dinots/tensor';
import { AdamW, clipGradients, cosineSchedule } from '@dinots/nn';
import {
  DINOLoss,
  type DinoNetwork,
  type MultiCropBatch,
  cancelGradientsLastLayer,
  getParamsGroups,
  teacherEntropyOfValues,
  updateTeacher,
} from '@dinots/dino';

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
      const teacherOut = noGrad(() => this.teacher.forward(crops.slice(0, 2)));
      const studentOut = this.student.forward(crops);
      const probs = this.dinoLoss.teacherProbs(teacherOut, at);
      const loss = this.dinoLoss.forward(studentOut, teacherOut, at);
      const values = await cat([loss.detach().reshape([1]), probs.flatten()]).data();
      if (!Number.isFinite(values[0])) throw new Error(`DinoStepper: the loss is ${values[0]} at iteration ${it}; lower the learning rate`);
      this.optimizer.zeroGrad();
      loss.backward();
      if (this.options.clipGrad > 0) clipGradients(this.student, this.options.clipGrad);
      cancelGradientsLastLayer(at, this.student, this.options.freezeLastLayer);
      this.optimizer.step();
      this.optimizer.zeroGrad();
      updateTeacher(this.teacher, this.student, this.momentum[at]);
      const entropy = teacherEntropyOfValues(values.subarray(1), probs.shape[0], probs.shape[1]);
      return { iteration: it, loss: values[0], teacherEntropy: entropy.meanEntropy, entropyOfMean: entropy.entropyOfMean, logK: entropy.maxEntropy };
    });
    this.student.eval();
    this.teacher.eval();
    this.iteration++;
    return metrics;
  }
}
