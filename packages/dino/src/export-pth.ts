// `dinots export`: a dinots training checkpoint (checkpoint.ts: one safetensors file and its
// JSON sidecar) as the official DINO checkpoint that main_dino.py saves (save_dict in
// facebookresearch/dino main_dino.py, train_dino), written with serializePth:
//
//   student     student.state_dict() of the DistributedDataParallel student: 'module.' + key
//   teacher     teacher.state_dict(): no prefix, or 'module.' with a BatchNorm head, for
//               which main_dino.py wraps the teacher in DistributedDataParallel too
//   optimizer   torch.optim.AdamW.state_dict(): state {index: {step, exp_avg, exp_avg_sq}}
//               (step a float32 scalar tensor, as PyTorch >= 1.12) and param_groups with
//               torch's keys; indices follow the student's parameter order in its two groups
//               (regularized, then biases and norms), as utils.get_params_groups builds them
//   epoch       the epoch to resume from (a checkpoint saved mid-epoch restarts that epoch)
//   args        main_dino.py's argument names, as a plain dict rather than an
//               argparse.Namespace, so that torch.load(weights_only=True) accepts the file;
//               `dinots_model` adds the full model config (the official arch names only
//               describe vit_tiny, vit_small and vit_base; other sizes are 'vit_custom')
//   dino_loss   DINOLoss.state_dict(): {center}
// There is no fp16_scaler entry: dinots trains without mixed precision (args.use_fp16 false).
// The official eval_knn.py, eval_linear.py and visualize_attention.py take the result with
// --pretrained_weights <file.pth> --checkpoint_key teacher (for an architecture they build).

import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { type Tensor, tensor } from '@dinots/tensor';
import { loadSafetensors, serializePth } from '@dinots/nn';
import { writeFileAtomic } from './atomic-write.js';
import { type CheckpointMeta, sidecarPath } from './checkpoint.js';
import type { DinoModelOptions } from './model.js';

const OFFICIAL_ARCHS: Record<string, { embedDim: number; depth: number; numHeads: number }> = {
  vit_tiny: { embedDim: 192, depth: 12, numHeads: 3 },
  vit_small: { embedDim: 384, depth: 12, numHeads: 6 },
  vit_base: { embedDim: 768, depth: 12, numHeads: 12 },
};

function fail(message: string): never {
  throw new Error(`dinots export: ${message}`);
}

/** The tensors under `prefix`, keyed without it (and with `rename` applied). */
function part(tensors: Record<string, Tensor>, prefix: string, rename = (k: string) => k): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(tensors).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [rename(k.slice(prefix.length)), v]));
}

/** main_dino.py's args for the run a sidecar describes. */
function officialArgs(meta: CheckpointMeta, checkpointPath: string): Record<string, unknown> {
  const c = meta.config as Record<string, unknown>;
  const model = c.model as DinoModelOptions;
  const augmentation = (c.augmentation ?? {}) as Record<string, unknown>;
  const arch = Object.entries(OFFICIAL_ARCHS).find(([, a]) => a.embedDim === model.embedDim && a.depth === model.depth && a.numHeads === model.numHeads)?.[0];
  return {
    arch: arch ?? 'vit_custom',
    patch_size: model.patchSize,
    out_dim: model.outDim,
    norm_last_layer: model.normLastLayer ?? true,
    momentum_teacher: c.momentumTeacher,
    use_bn_in_head: model.headUseBn ?? false,
    warmup_teacher_temp: c.warmupTeacherTemp,
    teacher_temp: c.teacherTemp,
    warmup_teacher_temp_epochs: c.warmupTeacherTempEpochs,
    use_fp16: false,
    weight_decay: c.weightDecay,
    weight_decay_end: c.weightDecayEnd,
    clip_grad: c.clipGrad,
    batch_size_per_gpu: c.batchSize,
    epochs: c.epochs,
    freeze_last_layer: c.freezeLastLayer,
    lr: c.lr,
    warmup_epochs: c.warmupEpochs,
    min_lr: c.minLr,
    optimizer: 'adamw',
    drop_path_rate: model.dropPathRate ?? 0,
    // MultiCropAugmentation's defaults, which are main_dino.py's.
    global_crops_scale: augmentation.globalCropsScale ?? [0.4, 1],
    local_crops_number: augmentation.localCropsNumber ?? 8,
    local_crops_scale: augmentation.localCropsScale ?? [0.05, 0.4],
    output_dir: dirname(checkpointPath),
    seed: c.seed,
    dinots_model: { ...model },
  };
}

/** The official full-checkpoint dict for a dinots checkpoint (see the table above). */
export function officialCheckpoint(path: string): Record<string, unknown> {
  const json = sidecarPath(path);
  if (!existsSync(path) || !existsSync(json)) fail(`need both ${path} and ${json}`);
  const meta = JSON.parse(readFileSync(json, 'utf8')) as CheckpointMeta;
  if (meta.format !== 'dinots-dino-checkpoint' || meta.config?.model === undefined) fail(`${json} is not a dinots DINO checkpoint sidecar`);
  const teacherWrapped = (meta.config.model as DinoModelOptions).headUseBn === true;
  const tensors = loadSafetensors(path);
  const center = tensors['dino_loss.center'] ?? fail(`${path} has no dino_loss.center`);
  const state = new Map<number, Record<string, Tensor>>();
  for (const [index, step] of Object.entries(meta.optimizer.steps)) {
    const moment = (name: string) => tensors[`optimizer.${index}.${name}`] ?? fail(`${path} has no optimizer.${index}.${name}`);
    state.set(Number(index), { step: tensor(Float32Array.of(step), { shape: [] }), exp_avg: moment('exp_avg'), exp_avg_sq: moment('exp_avg_sq') });
  }
  const paramGroups = meta.optimizer.paramGroups.map((g) => ({
    lr: g.lr, betas: [...g.betas], eps: g.eps, weight_decay: g.weightDecay, amsgrad: false, foreach: null, maximize: false, capturable: false, params: g.params,
  }));
  return {
    student: part(tensors, 'student.', (k) => `module.${k}`),
    teacher: part(tensors, 'teacher.', (k) => (teacherWrapped ? `module.${k}` : k)),
    optimizer: { state, param_groups: paramGroups },
    epoch: meta.epoch,
    args: officialArgs(meta, path),
    dino_loss: { center },
  };
}

/** `dinots export <checkpoint.safetensors> <out.pth>` */
export function exportPth(args: string[]): void {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  if (positionals.length !== 2) fail('expected <checkpoint.safetensors> <out.pth>');
  const [from, to] = positionals;
  const checkpoint = officialCheckpoint(from);
  writeFileAtomic(to, serializePth(checkpoint));
  const count = (k: string) => Object.keys(checkpoint[k] as object).length;
  console.log(`wrote ${to}: student (${count('student')} tensors, 'module.' keys), teacher (${count('teacher')}), optimizer (AdamW), epoch ${checkpoint.epoch as number}, args, dino_loss`);
}
