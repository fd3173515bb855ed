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

/**
 * Runs one DINO iteration on `crops` (2 global crops first, then the local ones, each
 * [B, C, H, W] on the networks' device) with teacher momentum `momentum`. Throws, before any
 * weight changes, when the loss is not finite.
 */
export function dinoIteration(state: DinoIterationState, crops: readonly Tensor[], epoch: number, momentum: number): DinoIterationResult {
  const { student, teacher, dinoLoss, optimizer, clipGrad, freezeLastLayer } = state;
  return scope(() => {
    const teacherOut = noGrad(() => teacher.forward(crops.slice(0, 2)));
    const studentOut = student.forward(crops);
    const probs = dinoLoss.teacherProbs(teacherOut, epoch);
    const loss = dinoLoss.forward(studentOut, teacherOut, epoch);
    const values = cat([loss.detach().reshape([1]), probs.flatten()]).dataSync() as Float32Array | Float64Array;
    if (!Number.isFinite(values[0])) throw new Error(`dinoIteration: the loss is ${values[0]} (epoch ${epoch}); stopping before the weights change (lower the learning rate or check the data)`);
    optimizer.zeroGrad();
    loss.backward();
    if (clipGrad > 0) clipGradients(student, clipGrad);
    cancelGradientsLastLayer(epoch, student, freezeLastLayer);
    optimizer.step();
    optimizer.zeroGrad(); // the gradients are freed with the scope
    updateTeacher(teacher, student, momentum);
    return { loss: values[0], teacherProbs: values.subarray(1), probsShape: [probs.shape[0], probs.shape[1]] };
  });
}
