// The fused AdamW update of one parameter on the CPU: one pass over p, grad and the two
// moments instead of the nine kernels and four temporaries nn's composed update runs
// (packages/nn/src/optim/adamw.ts), in the same arithmetic. Per element, with r() the
// rounding to the parameter's dtype that each of those kernels applies to its result
// (Math.fround for float32; none for float64), and every scalar rounded to the dtype first
// as the composed ops' scalar operands are:
//   p  = r(p * r(1 - lr wd))                                   p.mul_(1 - lr wd)
//   m  = r(m + r(r(g - m) * r(1 - b1)))                        m.lerp_(g, 1 - b1)
//   v  = r(r(v * r(b2)) + r(r(g * g) * r(1 - b2)))             v.mul_(b2).addcmul_(g, g, 1 - b2)
//   d  = r(r(r(sqrt(v)) / r(sqrt(1 - b2^t))) + r(eps))         v.sqrt().div(..).add_(eps)
//   p  = r(p + r(r(m / d) * r(-lr / (1 - b1^t))))              p.addcdiv_(m, d, -lr / (1 - b1^t))
// so that both give the same bits (test/optim-fused.test.ts in @dinots/nn checks it). An
// IEEE float32 operation equals the float64 one rounded once to float32 for +, -, *, /
// and sqrt, which is why the float64 arithmetic of JavaScript, rounded, reproduces the
// float32 kernels exactly.

import type { TypedArray } from '../../../dtype.js';
import type { AdamWStepHyper } from '../../backend.js';

/** Updates p, expAvg and expAvgSq at [offset, offset + n) of each array (all of one dtype). */
export function adamwStepContiguous(
  p: TypedArray, grad: TypedArray, expAvg: TypedArray, expAvgSq: TypedArray,
  offsets: readonly [number, number, number, number], n: number, h: AdamWStepHyper,
): void {
  if (p instanceof Float32Array) adamwFloat32(p, grad as Float32Array, expAvg as Float32Array, expAvgSq as Float32Array, offsets, n, h);
  else adamwFloat64(p as Float64Array, grad as Float64Array, expAvg as Float64Array, expAvgSq as Float64Array, offsets, n, h);
}

// Two loops rather than one with a rounding function in a variable: V8 inlines Math.fround
// only where it is called by name (through a variable the loop ran ~20x slower).
function adamwFloat32(p: Float32Array, grad: Float32Array, expAvg: Float32Array, expAvgSq: Float32Array, [po, go, mo, vo]: readonly number[], n: number, h: AdamWStepHyper): void {
  const r = Math.fround;
  const decay = r(1 - h.lr * h.weightDecay);
  const w1 = r(1 - h.beta1);
  const b2 = r(h.beta2);
  const w2 = r(1 - h.beta2);
  const c2 = r(Math.sqrt(1 - h.beta2 ** h.step));
  const eps = r(h.eps);
  const stepSize = r(-h.lr / (1 - h.beta1 ** h.step));
  for (let i = 0; i < n; i++) {
    const g = grad[go + i];
    const m0 = expAvg[mo + i];
    const m = Math.fround(m0 + Math.fround(Math.fround(g - m0) * w1));
    const v = Math.fround(Math.fround(expAvgSq[vo + i] * b2) + Math.fround(Math.fround(g * g) * w2));
    const d = Math.fround(Math.fround(Math.fround(Math.sqrt(v)) / c2) + eps);
    expAvg[mo + i] = m;
    expAvgSq[vo + i] = v;
    p[po + i] = Math.fround(p[po + i] * decay) + Math.fround(Math.fround(m / d) * stepSize); // the store rounds the sum
  }
}

function adamwFloat64(p: Float64Array, grad: Float64Array, expAvg: Float64Array, expAvgSq: Float64Array, [po, go, mo, vo]: readonly number[], n: number, h: AdamWStepHyper): void {
  const decay = 1 - h.lr * h.weightDecay;
  const w1 = 1 - h.beta1;
  const c2 = Math.sqrt(1 - h.beta2 ** h.step);
  const w2 = 1 - h.beta2;
  const stepSize = -h.lr / (1 - h.beta1 ** h.step);
  for (let i = 0; i < n; i++) {
    const g = grad[go + i];
    const m0 = expAvg[mo + i];
    const m = m0 + (g - m0) * w1;
    const v = expAvgSq[vo + i] * h.beta2 + g * g * w2;
    expAvg[mo + i] = m;
    expAvgSq[vo + i] = v;
    p[po + i] = p[po + i] * decay + (m / (Math.sqrt(v) / c2 + h.eps)) * stepSize;
  }
}
