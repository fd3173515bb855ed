// Packing for the blocked matrix multiplies (gemm.ts, gemm-wasm.ts): copies a strided
// matrix into panels that a micro-kernel reads with unit stride.
//
// The matrix is seen as `count` lines (rows of A, or columns of B) of length K. Lines are
// grouped `width` at a time into panels; a panel is k-major, so the `width` values for one
// k sit side by side:
//   dst[start + (l / width) * K * width + k * width + l % width] = src[offset + l * lineStride + k * kStride]
// Lines past `count` (the last panel's padding) are zero, so a kernel can always run whole
// panels; zeros leave the product unchanged.
// The copy walks the source along its smaller stride: for a row-major A (k contiguous) one
// line at a time, for a row-major B (lines contiguous) one k at a time, so the reads stream
// through memory whether or not an operand is a transposed view.

import type { TypedArray } from '../../../dtype.js';

export function packPanels(
  src: TypedArray,
  offset: number,
  lineStride: number,
  kStride: number,
  count: number,
  K: number,
  width: number,
  dst: Float32Array | Float64Array,
  start: number,
): void {
  const linesFirst = Math.abs(kStride) <= Math.abs(lineStride);
  for (let l0 = 0; l0 < count; l0 += width) {
    const lines = Math.min(width, count - l0);
    const panel = start + l0 * K;
    const base = offset + l0 * lineStride;
    if (linesFirst) {
      for (let l = 0; l < lines; l++) {
        let s = base + l * lineStride;
        let d = panel + l;
        for (let k = 0; k < K; k++) {
          dst[d] = src[s];
          s += kStride;
          d += width;
        }
      }
    } else {
      for (let k = 0; k < K; k++) {
        const s = base + k * kStride;
        const d = panel + k * width;
        for (let l = 0; l < lines; l++) dst[d + l] = src[s + l * lineStride];
      }
    }
    for (let k = 0; k < K && lines < width; k++) for (let l = lines; l < width; l++) dst[panel + k * width + l] = 0;
  }
}
