// Image files <-> pixels through two small, dependency-free codecs: pngjs (PNG, any bit
// depth, palette, interlace) and jpeg-js (baseline and progressive JPEG). Decoded images
// become RGB like torchvision's default loader (PIL convert("RGB"): alpha is dropped,
// grayscale is replicated into 3 channels).

import { type Tensor, tensor } from '@dinots/tensor';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import { imageSize } from '../augment/image.js';

const { PNG } = pngjs;

/** True for the file names the loaders read (.png, .jpg, .jpeg, any case). */
export function isImageFile(name: string): boolean {
  return /\.(png|jpe?g)$/i.test(name);
}

/** An RGB image tensor [3, H, W] (float32 in [0, 1]) from PNG or JPEG bytes; `name` is for errors. */
export function decodeImage(bytes: Uint8Array, name = 'image'): Tensor {
  let decoded: { width: number; height: number; data: Uint8Array };
  const png = bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  if (png || (bytes[0] === 0xff && bytes[1] === 0xd8)) {
    try {
      decoded = png ? PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)) : jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
    } catch (error) {
      // the decoders' own messages ("unexpected end of file") do not say which file
      throw new Error(`decodeImage: cannot decode ${name} as ${png ? 'PNG' : 'JPEG'} (truncated or corrupt?): ${(error as Error).message}`, { cause: error });
    }
  } else {
    throw new Error(`decodeImage: ${name} is neither a PNG nor a JPEG (first bytes ${Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ')})`);
  }
  const { width, height, data } = decoded;
  const n = width * height;
  const pixels = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) pixels[c * n + i] = data[4 * i + c] / 255;
  return tensor(pixels, { shape: [3, height, width] });
}

/** 8-bit RGB (or gray) PNG bytes of an image [C, H, W] with values in [0, 1] (clamped, rounded). */
export function encodePng(image: Tensor): Buffer {
  const { channels, height, width } = imageSize('encodePng', image);
  const src = image.contiguous().dataSync();
  const n = width * height;
  const png = new PNG({ width, height });
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) png.data[4 * i + c] = Math.round(Math.min(Math.max(src[(channels === 1 ? 0 : c) * n + i], 0), 1) * 255);
    png.data[4 * i + 3] = 255;
  }
  return PNG.sync.write(png, { colorType: channels === 1 ? 0 : 2 });
}
