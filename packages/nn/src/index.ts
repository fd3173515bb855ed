// @dinots/nn: modules with PyTorch's names, DINO's Vision Transformer, optimizers,
// schedules, safetensors and PyTorch .pth I/O, on top of @dinots/tensor.

export { Module, type StateDict, type LoadStateDictOptions, type LoadStateDictResult } from './module.js';
export { Linear, type LinearOptions } from './layers/linear.js';
export { Conv2d, type Conv2dOptions } from './layers/conv2d.js';
export { LayerNorm, type LayerNormOptions } from './layers/layer-norm.js';
export { BatchNorm1d, type BatchNormOptions } from './layers/batch-norm.js';
export { GELU } from './layers/gelu.js';
export { Dropout } from './layers/dropout.js';
export { DropPath } from './layers/drop-path.js';
export { Identity } from './layers/identity.js';
export { ModuleList, Sequential, type TensorModule } from './layers/containers.js';
export { Mlp, type MlpOptions } from './layers/mlp.js';
export { Attention, type AttentionOptions } from './layers/attention.js';
export { Block, type BlockOptions } from './layers/block.js';
export { PatchEmbed, type PatchEmbedOptions } from './layers/patch-embed.js';
export { VisionTransformer, type VisionTransformerOptions, type VitFactoryOptions, vitTiny, vitSmall, vitBase } from './vit.js';
export * as init from './init.js';
export {
  loadSafetensors,
  saveSafetensors,
  parseSafetensors,
  serializeSafetensors,
  type SafetensorsDType,
  type SafetensorsFile,
  type SaveSafetensorsOptions,
} from './safetensors.js';
export { loadPth, savePth } from './pth/file.js';
export { parsePth, type ParsePthOptions } from './pth/parse.js';
export { serializePth } from './pth/serialize.js';
export { Namespace, type PthValue } from './pth/values.js';
export { Optimizer, type BaseHyper, type ParamGroup, type ParamGroupInput, type ParamUpdate, type OptimizerStateDict, type OptimizerStateValue } from './optim/optimizer.js';
export { AdamW, type AdamWHyper, type AdamWState } from './optim/adamw.js';
export { SGD, type SGDHyper, type SGDState } from './optim/sgd.js';
export { cosineSchedule, type CosineScheduleOptions } from './schedules.js';
export { clipGradients, clipGradNorm } from './clip.js';
