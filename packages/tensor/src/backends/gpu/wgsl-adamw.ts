// The webgpu mode's fused AdamW update of one parameter (torch._fused_adamw_), a WGSL
// compute shader with three outputs, which a gpu.js kernel (one output each) cannot be:
// nn's composed update runs about twenty kernels a parameter on the GPU (a DINO step's
// optimizer was 1281 of its 3777 dispatches), this one. Per element, in float32, with the
// scalars computed on the host as the CPU's fused update computes them
// (backends/cpu/optim/adamw-step.ts, whose formulas these are):
//   p  = p * (1 - lr wd)
//   m  = m + (g - m) (1 - b1)
//   v  = v b2 + g g (1 - b2)
//   p  = p + m / (sqrt(v) / sqrt(1 - b2^t) + eps) * (-lr / (1 - b1^t))
// The scalars are a small input buffer (binding 4), so that a new learning rate or step
// count needs no new shader. Invocations walk the elements with a stride of the whole
// grid, so that any length fits in WebGPU's 65535 workgroups along one dim.

import type { AdamWStepHyper } from '../backend.js';

/** Invocations per workgroup. */
const WORKGROUP = 256;

/** The most workgroups one update dispatches (each invocation then takes every grid-th element). */
const MAX_GROUPS = 4096;

/**
 * The source for parameters of n elements: bindings p, g, m, v (contiguous, element i at
 * `offsets[k] + i` of its storage), the scalars, then the new p, m, v (from 0).
 */
export function wgslAdamWSource(n: number, offsets: readonly [number, number, number, number] = [0, 0, 0, 0]): string {
  const at = (k: number) => (offsets[k] === 0 ? 'i' : `i + ${offsets[k]}u`);
  return [
    '@group(0) @binding(0) var<storage, read> p : array<f32>;',
    '@group(0) @binding(1) var<storage, read> g : array<f32>;',
    '@group(0) @binding(2) var<storage, read> m : array<f32>;',
    '@group(0) @binding(3) var<storage, read> v : array<f32>;',
    '@group(0) @binding(4) var<storage, read> h : array<f32>;',
    '@group(0) @binding(5) var<storage, read_write> pOut : array<f32>;',
    '@group(0) @binding(6) var<storage, read_write> mOut : array<f32>;',
    '@group(0) @binding(7) var<storage, read_write> vOut : array<f32>;',
    '',
    `@compute @workgroup_size(${WORKGROUP})`,
    'fn main(@builtin(global_invocation_id) id : vec3<u32>, @builtin(num_workgroups) groups : vec3<u32>) {',
    `  let stride = groups.x * ${WORKGROUP}u;`,
    `  for (var i = id.x; i < ${n}u; i = i + stride) {`,
    `    let gi = g[${at(1)}];`,
    `    let mi = m[${at(2)}];`,
    `    let decayed = p[${at(0)}] * h[0];`,
    '    let m1 = mi + (gi - mi) * h[1];',
    `    let v1 = v[${at(3)}] * h[2] + (gi * gi) * h[3];`,
    '    let denominator = sqrt(v1) / h[4] + h[5];',
    '    pOut[i] = decayed + (m1 / denominator) * h[6];',
    '    mOut[i] = m1;',
    '    vOut[i] = v1;',
    '  }',
    '}',
  ].join('\n');
}

/** The scalars of binding 4: 1 - lr wd, 1 - b1, b2, 1 - b2, sqrt(1 - b2^t), eps, -lr / (1 - b1^t), each rounded to float32. */
export function adamWScalars(h: AdamWStepHyper): Float32Array {
  return Float32Array.of(
    1 - h.lr * h.weightDecay,
    1 - h.beta1,
    h.beta2,
    1 - h.beta2,
    Math.sqrt(1 - h.beta2 ** h.step),
    h.eps,
    -h.lr / (1 - h.beta1 ** h.step),
  );
}

/** The workgroups of an update of n elements. */
export function adamWWorkgroups(n: number): [number, number, number] {
  return [Math.min(Math.ceil(n / WORKGROUP), MAX_GROUPS), 1, 1];
}
