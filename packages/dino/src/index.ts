// @dinots/dino: DINO self-distillation (Caron et al. 2021) on @dinots/tensor.
// browser.ts holds everything that also runs in a browser; this entry (Node) adds what
// reads and writes files.

export * from './browser.js';
export { decodeImage, encodePng, isImageFile } from './data/image-codec.js';
export { ImageFolder, type ImageFolderOptions } from './data/image-folder.js';
export { MNIST } from './data/mnist.js';
export { ClutteredDigits, type ClutteredDigitsOptions, type ClutteredSample } from './data/cluttered-mnist.js';
export { writeAttentionPngs, type AttentionPngOptions } from './attention-pngs.js';
export { ProgressBar, formatMetric, formatDuration, type ProgressBarOptions, type ProgressStream } from './progress-bar.js';
export { JsonlLogger, toJsonLine } from './jsonl-logger.js';
export { writeFileAtomic } from './atomic-write.js';
export { mnistRecipe, mnistSplit, type DinoRecipe } from './recipes/mnist.js';
export { trainDino, type KnnEvaluation, type TrainDinoConfig, type TrainDinoResult, type IterationMetrics } from './train.js';
export { saveCheckpoint, loadCheckpoint, loadCheckpointNetworks, sidecarPath } from './checkpoint.js';
export { officialCheckpoint } from './export-pth.js';
export { loadImages, backboneFeatures, compareKnn, writeAttentionMaps, type LabeledBatch, type KnnComparison } from './evaluation.js';
export { drawChart, writeCharts, niceTicks, PALETTE, type ChartPanel, type Series, type ReferenceLine } from './figures/line-chart.js';
export { writeAttentionFigure, type FigureModel, type AttentionFigureOptions } from './attention-figure.js';
export { trainSupervised, crossEntropy, ViTClassifier, type TrainSupervisedConfig, type TrainSupervisedResult, type SupervisedMetrics } from './supervised.js';
