// Layer normalisation over the trailing `normalizedShape` dims (Ba et al. 2016):
//   y = (x - mean) / sqrt(var + eps) * weight + bias,  mean/var over those dims (biased var).
// The forward pass is one fused kernel. With xhat = (x - mean) * rstd and dxhat = g * weight:
//   dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)),
//   dweight = sum(g * xhat),  dbias = sum(g)  over the leading dims.
// When the backward pass is itself being recorded (createGraph), mean and rstd are
// recomputed from x with differentiable ops, so second derivatives are exact.

import { isGradEnabled } from '../autograd/grad-mode.js';
import { record } from '../autograd/record.js';
import { formatShape, numel } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { backendOf, emptyTensor, requireFloat } from './allocate.js';
import { add, mul, sub } from './binary.js';
import { mean, sumTo } from './reduce.js';
import { reshape } from './movement.js';
import { rsqrt } from './unary.js';

export function layerNorm(
  x: Tensor,
  normalizedShape: readonly number[],
  weight: Tensor | null = null,
  bias: Tensor | null = null,
  eps = 1e-5,
): Tensor {
  requireFloat('layerNorm', x);
  const k = normalizedShape.length;
  const tail = x.shape.slice(x.ndim - k);
  if (k === 0 || k > x.ndim || tail.some((d, i) => d !== normalizedShape[i])) {
    throw new Error(`layerNorm: input of shape ${formatShape(x.shape)} does not end with normalizedShape ${formatShape(normalizedShape)}`);
  }
  for (const [name, p] of [['weight', weight], ['bias', bias]] as const) {
    if (p !== null && (p.shape.length !== k || p.shape.some((d, i) => d !== normalizedShape[i]))) {
      throw new Error(`layerNorm: ${name} has shape ${formatShape(p.shape)}, expected ${formatShape(normalizedShape)}`);
    }
  }
  const D = numel(normalizedShape);
  const rows = x.numel / Math.max(D, 1);
  const x2 = reshape(x.detach(), [rows, D]);
  const out = emptyTensor([rows, D], x.dtype, x.device, false);
  const meanT = emptyTensor([rows, 1], x.dtype, x.device, false);
  const rstdT = emptyTensor([rows, 1], x.dtype, x.device, false);
  const w = weight === null ? null : reshape(weight.detach(), [D]);
  const b = bias === null ? null : reshape(bias.detach(), [D]);
  if (rows > 0) backendOf(x).layerNorm(x2, w, b, eps, out, meanT, rstdT);
  const y = reshape(out, x.shape);

  const fused = fusedBackward(x, weight, bias, D, meanT, rstdT);
  const inputs: Tensor[] = [x];
  const formulas = [(g: Tensor) => fused(g, 0) ?? gradInput(g, x, weight, D, meanT, rstdT, eps)];
  if (weight !== null) {
    inputs.push(weight);
    formulas.push((g) => fused(g, 1) ?? sumTo(mul(g, normalized(x, D, meanT, rstdT, eps)), weight.shape));
  }
  if (bias !== null) {
    inputs.push(bias);
    formulas.push((g) => fused(g, 2) ?? sumTo(g, bias.shape));
  }
  return record('NativeLayerNormBackward', y, inputs, [x, meanT, rstdT, ...(weight ? [weight] : [])], formulas);
}

/**
 * The backend's fused backward kernel, when it has one and the backward pass is not being
 * recorded: `grads(g, i)` gives the gradient for x (0), weight (1) or bias (2). The first
 * call for a given g computes all three at once; each is handed out once, then dropped.
 * Returns null where the composed formulas must run instead.
 */
function fusedBackward(
  x: Tensor, weight: Tensor | null, bias: Tensor | null, D: number, meanT: Tensor, rstdT: Tensor,
): (g: Tensor, i: 0 | 1 | 2) => Tensor | null {
  let pending: { g: Tensor; grads: (Tensor | null)[] } | null = null;
  return (g, i) => {
    const backend = backendOf(x);
    const sameDType = [g, weight, bias].every((t) => t === null || t.dtype === x.dtype);
    if (isGradEnabled() || backend.layerNormBackward === undefined || !sameDType) return null;
    if (pending === null || pending.g !== g) {
      const rows = x.numel / Math.max(D, 1);
      const dx = emptyTensor(x.shape, x.dtype, x.device, false);
      const dweight = weight === null ? null : emptyTensor(weight.shape, x.dtype, x.device, false);
      const dbias = bias === null ? null : emptyTensor(bias.shape, x.dtype, x.device, false);
      const flat = (t: Tensor) => reshape(t.detach(), [rows, D]);
      const vector = (t: Tensor | null) => (t === null ? null : reshape(t.detach(), [D]));
      if (rows > 0) backend.layerNormBackward(flat(g), flat(x), vector(weight), meanT, rstdT, reshape(dx, [rows, D]), vector(dweight), vector(dbias));
      else [dweight, dbias].forEach((t) => t !== null && backend.fill(t, 0));
      pending = { g, grads: [dx, dweight, dbias] };
    }
    const result = pending.grads[i];
    pending.grads[i] = null;
    return result;
  };
}

/** xhat = (x - mean) * rstd as [rows, D], from saved statistics or recomputed differentiably. */
function normalized(x: Tensor, D: number, meanT: Tensor, rstdT: Tensor, eps: number): Tensor {
  const x2 = reshape(x, [x.numel / D, D]);
  const [mu, rstd] = statistics(x2, meanT, rstdT, eps);
  return reshape(mul(sub(x2, mu), rstd), x.shape);
}

function statistics(x2: Tensor, meanT: Tensor, rstdT: Tensor, eps: number): [Tensor, Tensor] {
  if (!isGradEnabled()) return [meanT, rstdT];
  const mu = mean(x2, -1, true);
  const centered = sub(x2, mu);
  return [mu, rsqrt(add(mean(mul(centered, centered), -1, true), eps))];
}

function gradInput(
  g: Tensor, x: Tensor, weight: Tensor | null, D: number,
  meanT: Tensor, rstdT: Tensor, eps: number,
): Tensor {
  const rows = x.numel / D;
  const x2 = reshape(x, [rows, D]);
  const [mu, rstd] = statistics(x2, meanT, rstdT, eps);
  const xhat = mul(sub(x2, mu), rstd);
  const gw = weight === null ? g : mul(g, weight);
  const dxhat = reshape(gw, [rows, D]);
  const dx = mul(rstd, sub(sub(dxhat, mean(dxhat, -1, true)), mul(xhat, mean(mul(dxhat, xhat), -1, true))));
  return reshape(dx, x.shape);
}
