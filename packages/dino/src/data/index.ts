// Datasets, image files and batching.

export { type Dataset, type LabeledImage, Subset, randomSplit } from './dataset.js';
export { decodeImage, encodePng, isImageFile } from './image-codec.js';
export { ImageFolder, type ImageFolderOptions } from './image-folder.js';
export { MNIST, MNIST_SIZE, MNIST_MEAN, MNIST_STD } from './mnist.js';
export { collateImages, collateMultiCrop, type ImageBatch, type MultiCropBatch, type MultiCropSample } from './collate.js';
export { MultiCropDataset } from './multi-crop-dataset.js';
export { DataLoader, type DataLoaderOptions } from './loader.js';
export { ClutteredDigits, type ClutteredDigitsOptions, type ClutteredSample } from './cluttered-mnist.js';
