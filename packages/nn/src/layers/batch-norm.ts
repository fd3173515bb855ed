// Batch normalisation (Ioffe and Szegedy 2015, Algorithm 1) over the batch dim of [N, C] or
// [N, C, L] inputs, one statistic per channel C:
//   training:  y = (x - mean_B) / sqrt(var_B + eps) * weight + bias     (biased var_B over N, L)
//              running_mean <- (1 - momentum) running_mean + momentum mean_B
//              running_var  <- (1 - momentum) running_var  + momentum var_B * n / (n - 1)
//   eval:      the same with running_mean and running_var in place of the batch statistics.
// As torch.nn.BatchNorm1d: momentum 0.1 (null: a cumulative average over num_batches_tracked),
// eps 1e-5, the running variance updated with the unbiased batch variance, and without
// trackRunningStats the batch statistics are used in eval mode too. The forward is composed of
// differentiable ops, so its gradient (and the gradient's gradient) come from theirs.

import { type DType, type Tensor, checkBoolean, checkOptions, formatShape, noGrad, ones, zeros } from '@dinots/tensor';
import { Module } from '../module.js';
import { pythonFloat } from '../repr.js';

export interface BatchNormOptions {
  eps?: number;
  /** Weight of the newest batch in the running statistics; null for a cumulative average. */
  momentum?: number | null;
  /** Learn a per-channel weight and bias (default true). */
  affine?: boolean;
  /** Keep running statistics for eval mode (default true). */
  trackRunningStats?: boolean;
  dtype?: DType;
}

export class BatchNorm1d extends Module {
  readonly eps: number;
  readonly momentum: number | null;

  constructor(readonly numFeatures: number, options: BatchNormOptions = {}) {
    super();
    const { eps = 1e-5, momentum = 0.1, affine = true, trackRunningStats = true, dtype = 'float32' } = checkOptions(
      'BatchNorm1d', options, ['eps', 'momentum', 'affine', 'trackRunningStats', 'dtype'],
    );
    checkBoolean('BatchNorm1d', 'affine', affine);
    checkBoolean('BatchNorm1d', 'trackRunningStats', trackRunningStats);
    if (!Number.isInteger(numFeatures) || numFeatures < 1) throw new Error(`BatchNorm1d: numFeatures must be a positive integer, got ${numFeatures}`);
    if (!(eps > 0)) throw new Error(`BatchNorm1d: eps must be positive, got ${eps}`);
    if (momentum !== null && !(momentum >= 0 && momentum <= 1)) throw new Error(`BatchNorm1d: momentum must be in [0, 1] or null, got ${momentum}`);
    this.eps = eps;
    this.momentum = momentum;
    this.registerParameter('weight', affine ? ones([numFeatures], { dtype }) : null);
    this.registerParameter('bias', affine ? zeros([numFeatures], { dtype }) : null);
    // PyTorch's buffer order: running_mean, running_var, num_batches_tracked.
    this.registerBuffer('running_mean', trackRunningStats ? zeros([numFeatures], { dtype }) : null);
    this.registerBuffer('running_var', trackRunningStats ? ones([numFeatures], { dtype }) : null);
    this.registerBuffer('num_batches_tracked', trackRunningStats ? zeros([], { dtype: 'int32' }) : null);
  }

  get weight(): Tensor | null {
    return this.optionalParameter('weight');
  }

  get bias(): Tensor | null {
    return this.optionalParameter('bias');
  }

  get runningMean(): Tensor | null {
    return this.optionalBuffer('running_mean');
  }

  get runningVar(): Tensor | null {
    return this.optionalBuffer('running_var');
  }

  get numBatchesTracked(): Tensor | null {
    return this.optionalBuffer('num_batches_tracked');
  }

  forward(x: Tensor): Tensor {
    if ((x.ndim !== 2 && x.ndim !== 3) || x.shape[1] !== this.numFeatures) {
      throw new Error(`BatchNorm1d(${this.numFeatures}): expected input [N, ${this.numFeatures}] or [N, ${this.numFeatures}, L], got ${formatShape(x.shape)}`);
    }
    // Statistics over every dim but the channel dim; parameters broadcast as [C] or [C, 1].
    const dims = x.ndim === 2 ? [0] : [0, 2];
    const perChannel = (t: Tensor) => (x.ndim === 2 ? t : t.unsqueeze(-1));
    const count = x.numel / this.numFeatures;
    const runningMean = this.runningMean;
    const runningVar = this.runningVar;
    const useBatchStats = this.training || runningMean === null || runningVar === null;
    let mean: Tensor;
    let variance: Tensor;
    if (useBatchStats) {
      if (count <= 1) throw new Error(`BatchNorm1d(${this.numFeatures}): expected more than 1 value per channel when training, got input ${formatShape(x.shape)}`);
      mean = x.mean(dims);
      variance = x.var(dims, false);
      if (this.training && runningMean !== null && runningVar !== null) this.#updateRunningStats(runningMean, runningVar, mean, variance, count);
    } else {
      mean = runningMean!;
      variance = runningVar!;
    }
    let y = x.sub(perChannel(mean)).div(perChannel(variance.add(this.eps).sqrt()));
    if (this.weight !== null) y = y.mul(perChannel(this.weight));
    if (this.bias !== null) y = y.add(perChannel(this.bias));
    return y;
  }

  #updateRunningStats(runningMean: Tensor, runningVar: Tensor, mean: Tensor, variance: Tensor, count: number): void {
    noGrad(() => {
      const tracked = this.numBatchesTracked!;
      tracked.add_(1);
      const factor = this.momentum ?? 1 / tracked.item();
      runningMean.mul_(1 - factor).add_(mean.detach().to(runningMean.dtype), factor);
      runningVar.mul_(1 - factor).add_(variance.detach().mul(count / (count - 1)).to(runningVar.dtype), factor);
    });
  }

  override extraRepr(): string {
    const momentum = this.momentum === null ? 'None' : pythonFloat(this.momentum);
    const bool = (b: boolean) => (b ? 'True' : 'False');
    return `${this.numFeatures}, eps=${pythonFloat(this.eps)}, momentum=${momentum}, affine=${bool(this.weight !== null)}, track_running_stats=${bool(this.runningMean !== null)}`;
  }
}
