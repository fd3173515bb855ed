// One DINO iteration, as Algorithm 1 of the paper (Caron et al. 2021) and
// train_one_epoch in the official main_dino.py:
//   t = gt(x_global)                 teacher on the 2 global crops, no gradient
//   s = gs(x_1 .. x_V)               student on all V crops
//   loss = sum_{i global} sum_{v != i} H(t_i, s_v) / n_terms     (centering and sharpening
//                                    inside DINOLoss; its center moves after the loss is formed)
//   loss.backward(); clip each gradient; drop the last layer's gradient in the first epochs
//   optimizer.step()                 AdamW, with the iteration's lr and weight decay already set
//   theta_t <- m theta_t + (1 - m) theta_s                          the momentum teacher
// Everything the iteration allocates is freed by one scope(); the parameters, the AdamW
// moments and the center are updated in place or kept. The loss and the teacher's
// probabilities come back to the CPU in a single read, before backward, so that a
// non-finite loss stops the run before it touches the weights.
//
// dinoIterationAsync is the same iteration with that read awaited (`await t.data()`), for
// devices that only read back asynchronously (the GPU backend in webgpu mode). Both share
// the two halves below, so they run the same ops in the same order.

import { type Tensor, cat, noGrad, scope } from '@dinots/tensor';
import { type BaseHyper, type Optimizer, clipGradients } from '@dinots/nn';
import type { DINOLoss } from './loss.js';
import type { DinoNetwork } from './model.js';
import { cancelGradientsLastLayer, updateTeacher } from './teacher.js';

export interface DinoIterationState {
  student: DinoNetwork;
  teacher: DinoNetwork;
  dinoLoss: DINOLoss;
  optimizer: Optimizer<BaseHyper, object>;
  /** Per-tensor gradient clipping norm; 0 turns clipping off. */
  clipGrad: number;
  /** The last layer gets no update while epoch < freezeLastLayer. */
  freezeLastLayer: number;
}

export interface DinoIterationResult {
  loss: number;
  /** The teacher's probabilities [2B, K] (centred and sharpened), row-major, on the CPU. */
  teacherProbs: Float32Array | Float64Array;
  /** [2B, K], the shape of teacherProbs. */
  probsShape: [number, number];
}

/** The forward half: the loss, and the one tensor read back before backward ([loss, probs...]). */
function forward(state: DinoIterationState, crops: readonly Tensor[], epoch: number): { loss: Tensor; readout: Tensor; probsShape: [number, number] } {
  const { student, teacher, dinoLoss } = state;
  const teacherOut = noGrad(() => teacher.forward(crops.slice(0, 2)));
  const studentOut = student.forward(crops);
  const probs = dinoLoss.teacherProbs(teacherOut, epoch);
  const loss = dinoLoss.forward(studentOut, teacherOut, epoch);
  return { loss, readout: cat([loss.detach().reshape([1]), probs.flatten()]), probsShape: [probs.shape[0], probs.shape[1]] };
}

/** The read values as the iteration's result; throws, before any weight changes, on a non-finite loss. */
function result(op: string, values: Float32Array | Float64Array, probsShape: [number, number], epoch: number): DinoIterationResult {
  if (!Number.isFinite(values[0])) throw new Error(`${op}: the loss is ${values[0]} (epoch ${epoch}); stopping before the weights change (lower the learning rate or check the data)`);
  return { loss: values[0], teacherProbs: values.subarray(1), probsShape };
}

/** The update half: backward, clipping, the frozen last layer, the optimizer step and the teacher's EMA. */
function update(state: DinoIterationState, loss: Tensor, epoch: number, momentum: number): void {
  const { student, teacher, optimizer, clipGrad, freezeLastLayer } = state;
  optimizer.zeroGrad();
  loss.backward();
  if (clipGrad > 0) clipGradients(student, clipGrad);
  cancelGradientsLastLayer(epoch, student, freezeLastLayer);
  optimizer.step();
  optimizer.zeroGrad(); // the gradients are freed with the scope
  updateTeacher(teacher, student, momentum);
}

/**
 * Runs one DINO iteration on `crops` (2 global crops first, then the local ones, each
 * [B, C, H, W] on the networks' device) with teacher momentum `momentum`. Throws, before any
 * weight changes, when the loss is not finite.
 */
export function dinoIteration(state: DinoIterationState, crops: readonly Tensor[], epoch: number, momentum: number): DinoIterationResult {
  return scope(() => {
    const { loss, readout, probsShape } = forward(state, crops, epoch);
    const read = result('dinoIteration', readout.dataSync() as Float32Array | Float64Array, probsShape, epoch);
    update(state, loss, epoch, momentum);
    return read;
  });
}

/**
 * dinoIteration with its one read awaited, for a device that reads back asynchronously only
 * (the GPU backend in webgpu mode; on any other device it gives dinoIteration's result).
 * The update is queued on the device when the promise resolves; a later read of any
 * parameter waits for it, as every read does.
 */
export function dinoIterationAsync(state: DinoIterationState, crops: readonly Tensor[], epoch: number, momentum: number): Promise<DinoIterationResult> {
  return scope(async () => {
    const { loss, readout, probsShape } = forward(state, crops, epoch);
    const read = result('dinoIterationAsync', (await readout.data()) as Float32Array | Float64Array, probsShape, epoch);
    update(state, loss, epoch, momentum);
    return read;
  });
}
