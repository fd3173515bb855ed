// The networks the page shows: a dinots DINO checkpoint (student.* and teacher.* of a
// MultiCropWrapper, with the JSON sidecar that holds the model config; see
// packages/dino/src/checkpoint.ts), fetched from the server or dropped on the page, or
// freshly initialised ones. What the page computes with them: the teacher's last-block
// CLS attention (DINO paper, Fig. 1 and section 4.2.1) and its CLS features (the k-NN's
// inputs, section 4.1), each with one awaited read, so that webgpu mode works.

import { type Device, type Tensor, noGrad, scope, tensor } from '@dinots/tensor';
import { parseSafetensors } from '@dinots/nn';
import { type CheckpointMeta, type DinoModelOptions, type DinoNetwork, MNIST_MEAN, MNIST_STD, buildDinoNetworks, clsAttention, networksFromCheckpoint } from '@dinots/dino';

/** A ViT small enough to train in a page on a software rasteriser: 28x28 digits in 7x7 patches of 4 pixels. */
export const DEFAULT_MODEL: DinoModelOptions = {
  imgSize: 28, patchSize: 4, inChans: 1, embedDim: 48, depth: 2, numHeads: 4, outDim: 256, headHiddenDim: 64, headBottleneckDim: 32,
};

export interface LoadedNetworks {
  student: DinoNetwork;
  teacher: DinoNetwork;
  model: DinoModelOptions;
  /** The DINO loss's center (dino_loss.center) that training continues from; null starts it at zero. */
  center: Tensor | null;
  /** Where the weights came from, for the page to say. */
  source: string;
}

/** Networks from a checkpoint's bytes; `meta` null uses `fallbackModel` (a dropped .safetensors without its sidecar). */
export function fromCheckpoint(bytes: Uint8Array, meta: CheckpointMeta | null, fallbackModel: DinoModelOptions, source: string, device: Device): LoadedNetworks {
  const sidecar: CheckpointMeta = meta ?? ({ format: 'dinots-dino-checkpoint', config: { model: fallbackModel } } as unknown as CheckpointMeta);
  const { student, teacher } = networksFromCheckpoint(bytes, sidecar, source);
  const center = parseSafetensors(bytes).tensors['dino_loss.center'] ?? null;
  return place({ student, teacher, model: sidecar.config.model as DinoModelOptions, center, source }, device);
}

/** Freshly initialised networks (the teacher a copy of the student, as DINO starts). */
export function initialised(model: DinoModelOptions, device: Device): LoadedNetworks {
  const { student, teacher } = buildDinoNetworks(model);
  return place({ student, teacher, model, center: null, source: 'random initialisation (untrained)' }, device);
}

function place(nets: LoadedNetworks, device: Device): LoadedNetworks {
  nets.student.to(device).eval();
  nets.teacher.to(device).eval();
  return nets;
}

/** 28x28 images in [0, 1] ([N, 1, 28, 28] on the CPU) normalised as training normalises them, on `device`. */
export function normalised(images: Tensor, device: Device): Tensor {
  return images.sub(MNIST_MEAN[0]).div(MNIST_STD[0]).to({ device, dtype: 'float32' });
}

/** The teacher's CLS-to-patch attention of one image [1, 1, 28, 28]: [heads, N] on the CPU. */
export async function attentionOf(nets: LoadedNetworks, image: Tensor, device: Device): Promise<Tensor> {
  return scope(async () => {
    const attention = noGrad(() => clsAttention(nets.teacher.backbone.getLastSelfAttention(normalised(image, device))).select(0, 0).contiguous());
    return tensor(await attention.data(), { shape: attention.shape, dtype: 'float32' });
  });
}

/** The teacher backbone's CLS features of images [N, 1, 28, 28], in chunks: [N, D] on the CPU. */
export async function featuresOf(nets: LoadedNetworks, images: Tensor, device: Device, chunk = 250): Promise<Tensor> {
  const n = images.shape[0];
  const dim = nets.model.embedDim;
  const out = new Float32Array(n * dim);
  for (let start = 0; start < n; start += chunk) {
    const size = Math.min(chunk, n - start);
    const values = await scope(async () => noGrad(() => nets.teacher.backbone.forward(normalised(images.narrow(0, start, size), device))).data());
    out.set(values, start * dim);
  }
  return tensor(out, { shape: [n, dim] });
}
