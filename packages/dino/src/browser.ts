// @dinots/dino for browsers: everything that needs no file system or Node built-in (the
// loss, head, teacher, networks, augmentations, datasets held in memory, k-NN, attention
// maps and pictures, checkpoints from bytes). package.json's `browser` export condition
// selects this entry; index.ts adds what reads and writes files (training with checkpoints
// and logs, MNIST from the mnist package's files, image folders, PNGs, the CLI's evaluations).

export { DINOLoss, type DINOLossOptions } from './loss.js';
export { teacherTempSchedule, type TeacherTempOptions } from './teacher-temperature.js';
export { knnClassifier, l2Normalize, topkIndices, type KnnOptions, type KnnResult } from './knn.js';
export { clsAttention, attentionMassMask } from './attention-maps.js';
export * from './augment/index.js';
export { type Dataset, type LabeledImage, Subset, randomSplit } from './data/dataset.js';
export { DigitImages, MNIST_SIZE, MNIST_MEAN, MNIST_STD } from './data/digits.js';
export { collateImages, collateMultiCrop, type ImageBatch, type MultiCropBatch, type MultiCropSample } from './data/collate.js';
export { MultiCropDataset } from './data/multi-crop-dataset.js';
export { DataLoader, type DataLoaderOptions } from './data/loader.js';
export { attentionHeatmap, maskOverlay } from './attention-heatmap.js';
export { viridis } from './colormap.js';
export { teacherEntropy, teacherEntropyOfValues, checkCollapse, type TeacherEntropy, type CollapseKind, type CollapseThresholds, type CollapseReport } from './collapse.js';
export { DINOHead, WeightNormLinear, type DINOHeadOptions } from './head.js';
export { MultiCropWrapper } from './multi-crop-wrapper.js';
export { initTeacher, updateTeacher, getParamsGroups, cancelGradientsLastLayer } from './teacher.js';
export { buildDinoNetworks, buildBackbone, type DinoModelOptions, type DinoNetwork, type VitArchitecture } from './model.js';
export { runParity, parityError, type ParityConfig, type ParitySidecar, type ParityReport, type TensorComparison } from './parity.js';
export { dinoIteration, dinoIterationAsync, type DinoIterationState, type DinoIterationResult } from './dino-iteration.js';
export { Raster, type Rgb } from './figures/raster.js';
export { jaccard, patchMaskToPixels, bestPatchJaccard, headJaccards, summarizeJaccard, lastClsAttention, attentionJaccard, type AttentionJaccard } from './attention-jaccard.js';
export { networksFromCheckpoint } from './checkpoint-networks.js';
export type { CheckpointMeta, TrainingState } from './checkpoint.js';
