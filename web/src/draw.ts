// Pictures on canvases: an RGB tensor [3, H, W] in [0, 1] drawn at a whole-number scale
// with nearest-neighbour upscaling (each pixel a crisp square, each ViT patch a visible
// block), and a gray image [1, H, W] drawn the same way.

import type { Tensor } from '@dinots/tensor';

/** Draws `rgb` ([3, H, W] or [1, H, W] in [0, 1], on the CPU) into `canvas`, sized to scale * (W, H). */
export function drawImage(canvas: HTMLCanvasElement, rgb: Tensor, scale: number): void {
  const [channels, height, width] = rgb.shape;
  if (rgb.ndim !== 3 || (channels !== 1 && channels !== 3)) throw new Error(`drawImage: expected [3, H, W] or [1, H, W], got shape [${rgb.shape}]`);
  const values = rgb.contiguous().dataSync();
  const pixels = new ImageData(width, height);
  const plane = width * height;
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) pixels.data[4 * i + c] = Math.round(255 * Math.min(Math.max(values[(channels === 1 ? 0 : c) * plane + i], 0), 1));
    pixels.data[4 * i + 3] = 255;
  }
  const small = new OffscreenCanvas(width, height);
  small.getContext('2d')!.putImageData(pixels, 0, 0);
  canvas.width = width * scale;
  canvas.height = height * scale;
  const context = canvas.getContext('2d')!;
  context.imageSmoothingEnabled = false;
  context.drawImage(small, 0, 0, canvas.width, canvas.height);
}
