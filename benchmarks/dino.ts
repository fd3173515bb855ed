// The DINO training step (Caron et al. 2021, Algorithm 1): dinoIteration, the very function
// each iteration of trainDino runs (packages/dino/src/dino-iteration.ts): teacher on the 2
// global crops (no gradient), student on all 8 crops, DINO loss with the teacher's centring
// and sharpening (the center updated inside), the one read-back (loss and teacher
// probabilities), backward, per-tensor gradient clipping at 3, AdamW step, and the EMA of
// the teacher (m = 0.996), all inside one memory scope().
// Only the data pipeline is left out: the crops are fixed random tensors, so the step times
// the networks and the optimiser, not JPEG decoding or augmentation.
//
// Model: a ViT-tiny-like backbone (dim 192, 3 heads, MLP 768, patch 4, depth 4; ViT-tiny
// has depth 12, cut here so that a step takes seconds on 2 cores), drop path 0.1 in the
// student, and the DINO head (3-layer MLP 192 -> 2048 -> 2048 -> 256, weight-normalised
// last layer to K = 4096 outputs). Batch: 8 images, each as 2 global 32x32 crops (64
// patches + CLS = 65 tokens) and 6 local 16x16 crops (17 tokens, position embedding
// resampled bicubically). Images per second counts the 8 original images, not the crops.

import { type Device, Generator, randn, scope } from '@dinots/tensor';
import { AdamW } from '@dinots/nn';
import { DINOLoss, buildDinoNetworks, dinoIteration, dinoIterationAsync, getParamsGroups } from '@dinots/dino';
import type { Case } from './harness.js';
import type { Variants } from './kernels.js';
import { ours } from './peers.js';
import { pytorch } from './pytorch.js';

export const DINO = {
  batch: 8, globalSize: 32, localSize: 16, localCrops: 6, patchSize: 4, embedDim: 192, depth: 4, numHeads: 3, outDim: 4096,
  dropPathRate: 0.1, lr: (0.0005 * 8) / 256, weightDecay: 0.04, momentum: 0.996, clipGrad: 3, teacherTemp: 0.04,
} as const;

/** Where the step's result (the agreement check) comes from: the loss, teacher probabilities and one updated weight. */
const CHECKED = 256;

/** Student, teacher, loss and optimiser in the state of a fresh run from seed 0 on the CPU; `step` runs one iteration. */
export function dinoStep(): () => Float32Array {
  const { state, crops, checked, epoch } = dinoSetup('cpu');
  return () => scope(() => {
    const { loss, teacherProbs } = dinoIteration(state, crops, epoch, DINO.momentum);
    const weight = checked.flatten().narrow(0, 0, CHECKED).dataSync() as Float32Array;
    return Float32Array.of(loss, ...teacherProbs.subarray(0, CHECKED), ...weight);
  });
}

/** The same step on the GPU backend: dinoIterationAsync, whose read every gpu.js mode can await (webgpu included). */
export function dinoStepGpu(): () => Promise<Float32Array> {
  const { state, crops, checked, epoch } = dinoSetup('gpu');
  return () => scope(async () => {
    const { loss, teacherProbs } = await dinoIterationAsync(state, crops, epoch, DINO.momentum);
    const weight = (await checked.flatten().narrow(0, 0, CHECKED).data()) as Float32Array;
    return Float32Array.of(loss, ...teacherProbs.subarray(0, CHECKED), ...weight);
  });
}

/** The networks, loss, optimiser and crops of the step on `device`, and the weight its result samples. */
function dinoSetup(device: Device) {
  const d = DINO;
  const { student, teacher } = buildDinoNetworks({
    imgSize: d.globalSize, patchSize: d.patchSize, inChans: 3, embedDim: d.embedDim, depth: d.depth, numHeads: d.numHeads,
    dropPathRate: d.dropPathRate, outDim: d.outDim,
  }, new Generator(0));
  const ncrops = 2 + d.localCrops;
  // Epoch 1 of 2: past the frozen last layer (freeze_last_layer = 1), so every parameter trains.
  const epoch = 1;
  student.to(device);
  teacher.to(device);
  const dinoLoss = new DINOLoss({ outDim: d.outDim, ncrops, warmupTeacherTemp: d.teacherTemp, teacherTemp: d.teacherTemp, warmupTeacherTempEpochs: 0, epochs: 2, device });
  const [decayed, notDecayed] = getParamsGroups(student);
  const optimizer = new AdamW([decayed, notDecayed], { lr: d.lr, weightDecay: 0 });
  optimizer.paramGroups[0].weightDecay = d.weightDecay;
  const data = new Generator(1);
  const crops = Array.from({ length: ncrops }, (_, i) => {
    const size = i < 2 ? d.globalSize : d.localSize;
    return randn([d.batch, 3, size, size], { generator: data }).to(device);
  });
  const checked = new Map(student.namedParameters()).get('backbone.blocks.0.attn.qkv.weight')!;
  student.train();
  teacher.train();
  return { state: { student, teacher, dinoLoss, optimizer, clipGrad: d.clipGrad, freezeLastLayer: 1 }, crops, checked, epoch };
}

/** The case's name, after its family's word ('DINO' or 'GPU DINO'). */
export function dinoCaseName(): string {
  const d = DINO;
  return `train step (ViT dim ${d.embedDim}, depth ${d.depth}, patch ${d.patchSize}; K ${d.outDim}; ${d.batch} images x (2 x ${d.globalSize}^2 + ${d.localCrops} x ${d.localSize}^2 crops))`;
}

export function dinoCases(v: Variants): Case[] {
  const d = DINO;
  return [{
    family: 'DINO',
    name: `DINO ${dinoCaseName()}`,
    tolerance: 1e-3,
    imagesPerStep: d.batch,
    implementations: [
      ...v.threads.map((threads) => ours({ threads, inTurns: true }, dinoStep)),
      ...pytorch(v.pytorch, v.threads, { case: 'dino-train', params: { ...d } }),
    ],
  }];
}
