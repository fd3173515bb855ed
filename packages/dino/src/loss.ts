// DINOLoss (Caron et al. 2021, Algorithm 1 and Eq. 3), exactly as the official code.
//
// Student outputs s (V*B x K, crop-major) and teacher outputs t (2*B x K, the 2 global crops):
//   q_i = softmax((t_i - c) / tau_t)          teacher view i in {0, 1}, centred and sharpened
//   loss = 1/(2(V-1)) * sum_{i, v != i} mean_b [ -sum_k q_i[b,k] log softmax(s_v[b] / tau_s)_k ]
// with tau_s = 0.1 and tau_t = teacherTempSchedule[epoch]. A global crop is never matched
// with itself. After the loss is formed the center follows the raw teacher outputs:
//   c <- m c + (1 - m) mean_rows(t),   m = 0.9,
// so the loss of iteration n uses the center left by iteration n-1. (Single process: the
// official all-reduce over GPUs is the identity here.)
//
// The loss owns its center: each update replaces it, keep()s the new one from an enclosing
// scope() and disposes the old one (which frees its texture on the GPU; a no-op on the CPU).

import { type Device, type DType, type Tensor, keep, logSoftmax, noGrad, softmax, zeros } from '@dinots/tensor';
import { teacherTempSchedule, type TeacherTempOptions } from './teacher-temperature.js';

export interface DINOLossOptions extends TeacherTempOptions {
  /** K, the head's output dimension. */
  outDim: number;
  /** V, the number of crops the student sees (2 global + local). */
  ncrops: number;
  studentTemp?: number;
  centerMomentum?: number;
  dtype?: DType;
  /** Where the center lives: the device of the outputs the loss will see (default 'cpu'). */
  device?: Device;
}

export class DINOLoss {
  readonly outDim: number;
  readonly ncrops: number;
  readonly studentTemp: number;
  readonly centerMomentum: number;
  readonly teacherTempSchedule: Float64Array;
  /** The running center (1, K), a buffer: saved with checkpoints, never trained. */
  center: Tensor;

  constructor(options: DINOLossOptions) {
    const { outDim, ncrops, studentTemp = 0.1, centerMomentum = 0.9, dtype = 'float32', device = 'cpu' } = options;
    if (!Number.isInteger(outDim) || outDim < 1) throw new Error(`DINOLoss: outDim must be a positive integer, got ${outDim}`);
    if (!Number.isInteger(ncrops) || ncrops < 2) throw new Error(`DINOLoss: ncrops must be an integer >= 2 (2 global crops + local crops), got ${ncrops}`);
    this.outDim = outDim;
    this.ncrops = ncrops;
    this.studentTemp = studentTemp;
    this.centerMomentum = centerMomentum;
    this.teacherTempSchedule = teacherTempSchedule(options);
    this.center = zeros([1, outDim], { dtype, device });
  }

  /** The teacher temperature used at `epoch`. */
  teacherTemp(epoch: number): number {
    const temp = this.teacherTempSchedule[epoch];
    if (!Number.isInteger(epoch) || temp === undefined) {
      throw new Error(`DINOLoss: epoch ${epoch} is outside the teacher temperature schedule (epochs 0..${this.teacherTempSchedule.length - 1})`);
    }
    return temp;
  }

  /** The teacher's centred, sharpened probabilities q (2B x K), without gradient. */
  teacherProbs(teacherOutput: Tensor, epoch: number): Tensor {
    return noGrad(() => softmax(teacherOutput.sub(this.center).div(this.teacherTemp(epoch)), -1));
  }

  /** The loss (a scalar tensor); updates the center from `teacherOutput` afterwards. */
  forward(studentOutput: Tensor, teacherOutput: Tensor, epoch: number): Tensor {
    this.checkShapes(studentOutput, teacherOutput);
    const studentLogProbs = logSoftmax(studentOutput.div(this.studentTemp), -1).chunk(this.ncrops);
    const teacherProbs = this.teacherProbs(teacherOutput, epoch).chunk(2);
    let total: Tensor | null = null;
    let nTerms = 0;
    for (let iq = 0; iq < teacherProbs.length; iq++) {
      for (let v = 0; v < studentLogProbs.length; v++) {
        if (v === iq) continue; // the same global view as teacher and student
        const term = teacherProbs[iq].mul(studentLogProbs[v]).sum(-1).neg().mean();
        total = total === null ? term : total.add(term);
        nTerms++;
      }
    }
    this.updateCenter(teacherOutput);
    return total!.div(nTerms);
  }

  /** c <- m c + (1 - m) * (mean of the raw teacher outputs over the batch). */
  updateCenter(teacherOutput: Tensor): void {
    const previous = this.center;
    this.center = keep(noGrad(() => {
      const batchCenter = teacherOutput.detach().sum(0, true).div(teacherOutput.shape[0]);
      return previous.mul(this.centerMomentum).add(batchCenter.mul(1 - this.centerMomentum));
    }));
    previous.dispose();
  }

  private checkShapes(studentOutput: Tensor, teacherOutput: Tensor): void {
    const [rows, k] = studentOutput.shape;
    const [tRows, tk] = teacherOutput.shape;
    if (studentOutput.ndim !== 2 || teacherOutput.ndim !== 2 || k !== this.outDim || tk !== this.outDim) {
      throw new Error(
        `DINOLoss: expected student [V*B, ${this.outDim}] and teacher [2*B, ${this.outDim}] outputs, got [${studentOutput.shape}] and [${teacherOutput.shape}]`,
      );
    }
    if (rows % this.ncrops !== 0 || tRows % 2 !== 0 || rows / this.ncrops !== tRows / 2) {
      throw new Error(
        `DINOLoss: student rows ${rows} must be ${this.ncrops} crops x B and teacher rows ${tRows} must be 2 x B with the same B`,
      );
    }
  }
}
