// @dinots/dino: DINO self-distillation (Caron et al. 2021) on @dinots/tensor.

export { DINOLoss, type DINOLossOptions } from './loss.js';
export { teacherTempSchedule, type TeacherTempOptions } from './teacher-temperature.js';
export { knnClassifier, l2Normalize, topkIndices, type KnnOptions, type KnnResult } from './knn.js';
export { clsAttention, attentionMassMask } from './attention-maps.js';
export * from './augment/index.js';
export * from './data/index.js';
export { attentionHeatmap, maskOverlay, writeAttentionPngs, type AttentionPngOptions } from './attention-heatmap.js';
export { viridis } from './colormap.js';
export { teacherEntropy, teacherEntropyOfValues, checkCollapse, type TeacherEntropy, type CollapseKind, type CollapseThresholds, type CollapseReport } from './collapse.js';
export { ProgressBar, formatMetric, formatDuration, type ProgressBarOptions, type ProgressStream } from './progress-bar.js';
export { JsonlLogger, toJsonLine } from './jsonl-logger.js';
export { writeFileAtomic } from './atomic-write.js';
export { DINOHead, WeightNormLinear, type DINOHeadOptions } from './head.js';
export { MultiCropWrapper } from './multicrop-wrapper.js';
export { initTeacher, updateTeacher, getParamsGroups, cancelGradientsLastLayer } from './teacher.js';
export { buildDinoNetworks, type DinoModelOptions, type DinoNetwork } from './model.js';
export { runParity, parityError, type ParityConfig, type ParitySidecar, type ParityReport, type TensorComparison } from './parity.js';
export { trainDino, extractFeatures, type TrainDinoConfig, type TrainDinoResult, type IterationMetrics } from './train.js';
export { saveCheckpoint, loadCheckpoint, loadCheckpointNetworks, sidecarPath, type CheckpointMeta, type TrainingState } from './checkpoint.js';
export { officialCheckpoint } from './export-pth.js';
export { loadImages, backboneFeatures, compareKnn, writeAttentionMaps, type LabeledBatch, type KnnComparison } from './evaluation.js';
