// Student and teacher networks from a checkpoint's bytes and its sidecar (checkpoint.ts
// describes the pair), with no file system: what a page does with a fetched or dropped
// .safetensors file. loadCheckpointNetworks in checkpoint.ts reads the files and calls this.

import { loadSafetensors } from '@dinots/nn';
import type { CheckpointMeta } from './checkpoint.js';
import { buildDinoNetworks, type DinoModelOptions, type DinoNetwork } from './model.js';

/**
 * The networks the sidecar's config.model describes, loaded from the safetensors bytes'
 * student.* and teacher.* tensors. `source` names the pair in errors.
 */
export function networksFromCheckpoint(bytes: Uint8Array, meta: CheckpointMeta, source = 'the checkpoint'): { student: DinoNetwork; teacher: DinoNetwork } {
  const model = meta.config?.model as DinoModelOptions | undefined;
  if (meta.format !== 'dinots-dino-checkpoint' || model === undefined) throw new Error(`networksFromCheckpoint: ${source}'s sidecar is not a dinots DINO checkpoint sidecar`);
  const { student, teacher } = buildDinoNetworks(model);
  const tensors = loadSafetensors(bytes);
  const part = (prefix: string) => Object.fromEntries(Object.entries(tensors).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
  student.loadStateDict(part('student.'));
  teacher.loadStateDict(part('teacher.'));
  return { student, teacher };
}
