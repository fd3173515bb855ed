// Image augmentations with torchvision/PIL semantics, seeded by a Generator.

export { type Transform, type ImageSize, imageSize } from './image.js';
export { resize, Resize, shorterSideSize } from './resize.js';
export { centerCrop, CenterCrop } from './center-crop.js';
export { RandomResizedCrop, randomResizedCropParams, centerCropFallback, resizedCrop, roundHalfEven, type CropBox, type RandomResizedCropOptions } from './random-resized-crop.js';
export { hflip, RandomHorizontalFlip } from './flip.js';
export { ColorJitter, adjustBrightness, adjustContrast, adjustSaturation, adjustHue, rgbToHsv, hsvToRgb, type ColorJitterOptions } from './color-jitter.js';
export { rgbToGrayscale, RandomGrayscale } from './grayscale.js';
export { gaussianBlur, boxBlurRadius, GaussianBlur } from './gaussian-blur.js';
export { solarize, Solarization } from './solarize.js';
export { normalize, Normalize, IMAGENET_MEAN, IMAGENET_STD } from './normalize.js';
export { Compose, RandomApply } from './compose.js';
export { MultiCropAugmentation, type MultiCropOptions } from './multi-crop-augmentation.js';
