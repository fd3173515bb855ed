// Training checkpoints: the tensors in a safetensors file (student.*, teacher.* with the
// official keys, the AdamW moments optimizer.<i>.exp_avg / .exp_avg_sq, dino_loss.center)
// and everything else in a JSON sidecar of the same base name (iteration, epoch, the AdamW
// step counts and hyperparameters, the random generators' states, the run's config). Both
// are written atomically, and both carry the iteration so a torn pair is detected on load.
// The file holds CPU copies whatever device the run trains on, and loading copies each
// tensor onto the device of the tensor it restores, so a checkpoint moves between devices.

import { existsSync, readFileSync } from 'node:fs';
import type { GeneratorState, Tensor } from '@dinots/tensor';
import { type AdamW, type AdamWHyper, type OptimizerStateDict, loadSafetensors, serializeSafetensors } from '@dinots/nn';
import { writeFileAtomic } from './atomic-write.js';
import type { DINOLoss } from './loss.js';
import { networksFromCheckpoint } from './checkpoint-networks.js';
import type { DinoNetwork } from './model.js';

export interface CheckpointMeta {
  format: 'dinots-dino-checkpoint';
  /** The next global iteration to run. */
  iteration: number;
  epoch: number;
  /** The next step within `epoch`. */
  step: number;
  rng: Record<string, GeneratorState>;
  optimizer: { paramGroups: OptimizerStateDict<AdamWHyper>['paramGroups']; steps: Record<number, number> };
  config: Record<string, unknown>;
}

export interface TrainingState {
  student: DinoNetwork;
  teacher: DinoNetwork;
  optimizer: AdamW;
  dinoLoss: DINOLoss;
}

/** The sidecar's path: same base name, .json. */
export function sidecarPath(path: string): string {
  return path.replace(/\.safetensors$/, '') + '.json';
}

/** The tensors' path of a checkpoint named by either of its files (x.safetensors or its sidecar x.json). */
export function tensorsPath(path: string): string {
  return path.endsWith('.json') ? path.slice(0, -'.json'.length) + '.safetensors' : path;
}

export function saveCheckpoint(path: string, state: TrainingState, meta: Omit<CheckpointMeta, 'format' | 'optimizer'>): void {
  const tensors: Record<string, Tensor> = {};
  const onCpu = (t: Tensor) => t.to('cpu');
  for (const [k, v] of Object.entries(state.student.stateDict())) tensors[`student.${k}`] = onCpu(v);
  for (const [k, v] of Object.entries(state.teacher.stateDict())) tensors[`teacher.${k}`] = onCpu(v);
  const opt = state.optimizer.stateDict();
  const steps: Record<number, number> = {};
  for (const [index, s] of Object.entries(opt.state)) {
    steps[Number(index)] = s.step as number;
    tensors[`optimizer.${index}.exp_avg`] = onCpu(s.expAvg as Tensor);
    tensors[`optimizer.${index}.exp_avg_sq`] = onCpu(s.expAvgSq as Tensor);
  }
  tensors['dino_loss.center'] = onCpu(state.dinoLoss.center);
  const full: CheckpointMeta = { format: 'dinots-dino-checkpoint', ...meta, optimizer: { paramGroups: opt.paramGroups, steps } };
  writeFileAtomic(path, serializeSafetensors(tensors, { iteration: String(meta.iteration) }));
  writeFileAtomic(sidecarPath(path), JSON.stringify(full, null, 1));
}

/** Restores `state` in place from a checkpoint; returns its sidecar. */
export function loadCheckpoint(path: string, state: TrainingState): CheckpointMeta {
  const json = sidecarPath(path);
  if (!existsSync(path) || !existsSync(json)) throw new Error(`loadCheckpoint: need both ${path} and ${json}`);
  const meta = JSON.parse(readFileSync(json, 'utf8')) as CheckpointMeta;
  if (meta.format !== 'dinots-dino-checkpoint') throw new Error(`loadCheckpoint: ${json} is not a dinots DINO checkpoint sidecar`);
  const bytes = readFileSync(path);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as { __metadata__?: { iteration?: string } };
  if (header.__metadata__?.iteration !== String(meta.iteration)) {
    throw new Error(`loadCheckpoint: ${path} holds iteration ${header.__metadata__?.iteration} but ${json} says ${meta.iteration} (a torn checkpoint)`);
  }
  const tensors = loadSafetensors(bytes);
  const part = (prefix: string) => Object.fromEntries(Object.entries(tensors).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
  state.student.loadStateDict(part('student.'));
  state.teacher.loadStateDict(part('teacher.'));
  const optState: OptimizerStateDict<AdamWHyper>['state'] = {};
  for (const [index, step] of Object.entries(meta.optimizer.steps)) {
    optState[Number(index)] = { step, expAvg: tensors[`optimizer.${index}.exp_avg`], expAvgSq: tensors[`optimizer.${index}.exp_avg_sq`] };
  }
  state.optimizer.loadStateDict({ state: optState, paramGroups: meta.optimizer.paramGroups });
  const center = tensors['dino_loss.center'];
  if (center === undefined) throw new Error(`loadCheckpoint: ${path} has no dino_loss.center`);
  if (center.shape.join() !== state.dinoLoss.center.shape.join()) {
    throw new Error(`loadCheckpoint: dino_loss.center in ${path} has shape [${center.shape}], the loss expects [${state.dinoLoss.center.shape}]`);
  }
  state.dinoLoss.center.copy_(center); // casts to the center's dtype and device
  return meta;
}

/** Student and teacher networks rebuilt from a checkpoint's sidecar config and loaded from it. */
export function loadCheckpointNetworks(file: string): { student: DinoNetwork; teacher: DinoNetwork; meta: CheckpointMeta } {
  const path = tensorsPath(file);
  const json = sidecarPath(path);
  if (!existsSync(path) || !existsSync(json)) throw new Error(`loadCheckpointNetworks: need both ${path} and ${json}`);
  const meta = JSON.parse(readFileSync(json, 'utf8')) as CheckpointMeta;
  return { ...networksFromCheckpoint(readFileSync(path), meta, path), meta };
}
