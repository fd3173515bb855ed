// gradcheck: compares autograd's gradients with central finite differences.
//
// For every input x_i that requires grad and every output y_j, the numerical Jacobian
// column for element e of x_i is (y_j(x + eps e) - y_j(x - eps e)) / (2 eps), obtained
// by nudging that element in memory. The analytical Jacobian row for element k of y_j is
// grad(y_j, inputs, one-hot_k). They must agree as |a - n| <= atol + rtol |n|.
// Defaults are PyTorch's (eps 1e-6, atol 1e-5, rtol 1e-3); inputs must be float64 CPU
// tensors whose elements each have their own memory (expand inside `fn`, not outside).
// fastMode compares one random projection u^T J v per input instead of the full
// Jacobian, for large modules.

import { tensor } from '../creation.js';
import { Generator } from '../random.js';
import { CpuStorage } from '../storage.js';
import { formatShape, numel } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { grad } from './grad.js';

export interface GradcheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Check random projections of the Jacobian instead of every entry. */
  fastMode?: boolean;
  /** Seed for fastMode's random vectors. */
  seed?: number;
}

type Fn = (...inputs: Tensor[]) => Tensor | readonly Tensor[];

function outputsOf(fn: Fn, inputs: readonly Tensor[]): Tensor[] {
  const out = fn(...inputs);
  return Array.isArray(out) ? [...out] : [out as Tensor];
}

/** Storage offsets of every element of t in row-major order. */
function elementOffsets(t: Tensor): number[] {
  const offsets: number[] = [];
  const walk = (d: number, at: number) => {
    if (d === t.ndim) return void offsets.push(at);
    for (let i = 0; i < t.shape[d]; i++) walk(d + 1, at + i * t.strides[d]);
  };
  walk(0, t.offset);
  return offsets;
}

function unravel(index: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = index % shape[d];
    index = Math.floor(index / shape[d]);
  }
  return out;
}

function checkInputs(inputs: readonly Tensor[]): void {
  inputs.forEach((t, i) => {
    if (!t.requiresGrad) return;
    if (t.dtype !== 'float64') throw new TypeError(`gradcheck: input ${i} requires grad but has dtype ${t.dtype}; use float64 inputs`);
    if (!(t.storage instanceof CpuStorage)) throw new Error(`gradcheck: input ${i} is on '${t.device}'; gradcheck runs on the CPU`);
    const offsets = elementOffsets(t);
    if (new Set(offsets).size !== offsets.length) {
      throw new Error(`gradcheck: input ${i} (shape ${formatShape(t.shape)}, strides ${formatShape(t.strides)}) has elements sharing memory; expand inside fn instead`);
    }
  });
}

/** Flattened values of all outputs (with grad mode on: fn may itself differentiate, as in gradgradcheck). */
function evaluate(fn: Fn, inputs: readonly Tensor[]): Float64Array[] {
  return outputsOf(fn, inputs).map((o) => Float64Array.from(o.dataSync()));
}

/** Throws (with input, index and both values) unless analytical and numerical gradients agree. */
export function gradcheck(fn: Fn, inputs: readonly Tensor[], options: GradcheckOptions = {}): true {
  const { eps = 1e-6, atol = 1e-5, rtol = 1e-3 } = options;
  checkInputs(inputs);
  return options.fastMode ? fastCheck(fn, inputs, eps, atol, rtol, options.seed ?? 0) : fullCheck(fn, inputs, eps, atol, rtol);
}

function fullCheck(fn: Fn, inputs: readonly Tensor[], eps: number, atol: number, rtol: number): true {
  const diffInputs = inputs.map((t, i) => [t, i] as const).filter(([t]) => t.requiresGrad);
  const outputs = outputsOf(fn, inputs);
  const base = outputs.map((o) => o.numel);

  // numerical[j][i] is the Jacobian of output j w.r.t. input i: [numel(y_j)][numel(x_i)]
  const numerical = base.map(() => diffInputs.map(() => [] as Float64Array[]));
  for (const [k, [x]] of diffInputs.entries()) {
    const data = (x.storage as CpuStorage).data;
    for (const at of elementOffsets(x)) {
      const orig = data[at];
      data[at] = orig + eps;
      const plus = evaluate(fn, inputs);
      data[at] = orig - eps;
      const minus = evaluate(fn, inputs);
      data[at] = orig;
      plus.forEach((p, j) => numerical[j][k].push(p.map((v, e) => (v - minus[j][e]) / (2 * eps))));
    }
  }

  outputs.forEach((y, j) => {
    if (!y.requiresGrad) {
      if (numerical[j].some((cols) => cols.some((col) => col.some((v) => v !== 0)))) {
        throw new Error(`gradcheck: output ${j} does not require grad, but its numerical gradient is non-zero`);
      }
      return;
    }
    for (let e = 0; e < y.numel; e++) {
      const onehot = new Float64Array(y.numel);
      onehot[e] = 1;
      const gradOut = tensor(onehot, { shape: y.shape, dtype: y.dtype });
      const rows = grad([y], diffInputs.map(([t]) => t), { gradOutputs: [gradOut], retainGraph: true, allowUnused: true });
      diffInputs.forEach(([x, i], k) => {
        const analytical = rows[k] === null ? new Float64Array(x.numel) : Float64Array.from(rows[k]!.dataSync());
        for (let c = 0; c < x.numel; c++) {
          const a = analytical[c];
          const n = numerical[j][k][c][e];
          if (!(Math.abs(a - n) <= atol + rtol * Math.abs(n))) {
            throw new Error(
              `gradcheck: Jacobian mismatch for output ${j} (element [${unravel(e, y.shape).join(', ')}] of shape ${formatShape(y.shape)}) ` +
                `with respect to input ${i} at index [${unravel(c, x.shape).join(', ')}] of shape ${formatShape(x.shape)}: ` +
                `numerical ${n}, analytical ${a}`,
            );
          }
        }
      });
    }
  });
  return true;
}

function fastCheck(fn: Fn, inputs: readonly Tensor[], eps: number, atol: number, rtol: number, seed: number): true {
  const gen = new Generator(seed);
  const outputs = outputsOf(fn, inputs);
  const us = outputs.map((o) => {
    const u = new Float64Array(o.numel);
    gen.fillNormal(u);
    return u;
  });
  const differentiable = outputs.filter((o) => o.requiresGrad);
  inputs.forEach((x, i) => {
    if (!x.requiresGrad) return;
    const v = new Float64Array(x.numel);
    gen.fillNormal(v);
    const data = (x.storage as CpuStorage).data;
    const offsets = elementOffsets(x);
    const orig = offsets.map((at) => data[at]);
    const shifted = (sign: number) => {
      offsets.forEach((at, c) => (data[at] = orig[c] + sign * eps * v[c]));
      const r = evaluate(fn, inputs);
      offsets.forEach((at, c) => (data[at] = orig[c]));
      return r;
    };
    const plus = shifted(1);
    const minus = shifted(-1);
    let numerical = 0;
    plus.forEach((p, j) => p.forEach((val, e) => (numerical += (us[j][e] * (val - minus[j][e])) / (2 * eps))));
    let analytical = 0;
    if (differentiable.length > 0) {
      const gradOutputs = outputs.map((o, j) => tensor(us[j], { shape: o.shape, dtype: o.dtype }));
      const keep = outputs.map((o, j) => [o, gradOutputs[j]] as const).filter(([o]) => o.requiresGrad);
      const [g] = grad(keep.map(([o]) => o), [x], { gradOutputs: keep.map(([, g]) => g), retainGraph: true, allowUnused: true });
      if (g !== null) {
        const gd = g.dataSync();
        for (let c = 0; c < v.length; c++) analytical += gd[c] * v[c];
      }
    }
    if (!(Math.abs(analytical - numerical) <= atol + rtol * Math.abs(numerical))) {
      throw new Error(
        `gradcheck (fast mode): the projection u^T J v with respect to input ${i} (shape ${formatShape(x.shape)}) differs: ` +
          `numerical ${numerical}, analytical ${analytical}`,
      );
    }
  });
  return true;
}

/**
 * Checks second derivatives: gradcheck of (inputs, gradOutputs) -> grad(fn(inputs), inputs,
 * gradOutputs, createGraph). Random float64 gradOutputs are drawn when none are given.
 */
export function gradgradcheck(fn: Fn, inputs: readonly Tensor[], gradOutputs?: readonly Tensor[], options: GradcheckOptions = {}): true {
  checkInputs(inputs);
  const gen = new Generator(options.seed ?? 1);
  const outputs = outputsOf(fn, inputs);
  const vs =
    gradOutputs ??
    outputs.map((o) => {
      const data = new Float64Array(numel(o.shape));
      gen.fillNormal(data);
      return tensor(data, { shape: o.shape, dtype: 'float64', requiresGrad: true });
    });
  const diffIdx = inputs.map((t, i) => (t.requiresGrad ? i : -1)).filter((i) => i >= 0);
  const n = inputs.length;
  const firstOrder = (...args: Tensor[]): Tensor[] => {
    const xs = args.slice(0, n);
    const gs = args.slice(n);
    const ys = outputsOf(fn, xs);
    const grads = grad(ys, diffIdx.map((i) => xs[i]), { gradOutputs: gs, createGraph: true, allowUnused: true });
    return grads.filter((g): g is Tensor => g !== null);
  };
  return gradcheck(firstOrder, [...inputs, ...vs], options);
}
