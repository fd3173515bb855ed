// Student and teacher networks for DINO: a Vision Transformer backbone and a DINOHead inside
// a MultiCropWrapper (official keys backbone.* and head.*). The teacher has the same
// architecture without drop path, starts as an exact copy of the student and never gets
// gradients (the official main_dino.py `train_dino`; Caron et al. 2021, section 3.1).

import type { DType, Generator } from '@dinots/tensor';
import { VisionTransformer } from '@dinots/nn';
import { DINOHead } from './head.js';
import { MultiCropWrapper } from './multi-crop-wrapper.js';
import { initTeacher } from './teacher.js';

/** The backbone's architecture: a VisionTransformer's options without the training ones. */
export interface VitArchitecture {
  imgSize: number;
  patchSize: number;
  inChans: number;
  embedDim: number;
  depth: number;
  numHeads: number;
  mlpRatio?: number;
  qkvBias?: boolean;
  layerNormEps?: number;
}

export interface DinoModelOptions extends VitArchitecture {
  /** Student stochastic depth (0.1 in the official code; the teacher always has 0). */
  dropPathRate?: number;
  /** K, the head's output dimension. */
  outDim: number;
  headHiddenDim?: number;
  headBottleneckDim?: number;
  headNlayers?: number;
  /** BatchNorm1d in the head's MLP (the official --use_bn_in_head; default false). */
  headUseBn?: boolean;
  normLastLayer?: boolean;
  dtype?: DType;
}

export type DinoNetwork = MultiCropWrapper<VisionTransformer, DINOHead>;

/** A VisionTransformer with DINO's defaults (MLP ratio 4, qkv bias, LayerNorm eps 1e-6; no drop path, float32 unless given). */
export function buildBackbone(a: VitArchitecture, generator?: Generator, options: { dropPathRate?: number; dtype?: DType } = {}): VisionTransformer {
  return new VisionTransformer({
    imgSize: a.imgSize, patchSize: a.patchSize, inChans: a.inChans, embedDim: a.embedDim, depth: a.depth, numHeads: a.numHeads,
    mlpRatio: a.mlpRatio ?? 4, qkvBias: a.qkvBias ?? true, layerNormEps: a.layerNormEps ?? 1e-6,
    dropPathRate: options.dropPathRate ?? 0, dtype: options.dtype ?? 'float32', generator,
  });
}

function network(o: DinoModelOptions, dropPathRate: number, generator: Generator | undefined, normLastLayer: boolean): DinoNetwork {
  const dtype = o.dtype ?? 'float32';
  const backbone = buildBackbone(o, generator, { dropPathRate, dtype });
  const head = new DINOHead({
    inDim: o.embedDim,
    outDim: o.outDim,
    hiddenDim: o.headHiddenDim,
    bottleneckDim: o.headBottleneckDim,
    nlayers: o.headNlayers,
    useBn: o.headUseBn,
    normLastLayer,
    dtype,
    generator,
  });
  return new MultiCropWrapper(backbone, head);
}

/** A student (randomly initialised from `generator`) and a teacher that is an exact copy of it. */
export function buildDinoNetworks(options: DinoModelOptions, generator?: Generator): { student: DinoNetwork; teacher: DinoNetwork } {
  const student = network(options, options.dropPathRate ?? 0, generator, options.normLastLayer ?? true);
  // The official teacher head uses the default normLastLayer; its values come from the student.
  const teacher = initTeacher(network(options, 0, generator, true), student);
  return { student, teacher };
}
