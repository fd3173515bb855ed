// GPU cases: matmul, softmax, LayerNorm, a ViT block forward and backward, and (in the
// full suite) the ViT family's train step and the DINO training step on dinots'
// GPU backend (gpu.js kernels, ops chained on the device, one read-back per step), next to
// the CPU backend and to gpu.js used naively (one kernel call per op, its inputs uploaded
// and its result read back to the host every time), in the same run and on the same inputs.
//
// They run only when the GPU backend's mode is live on a GPU or a GL rasteriser
// (backendInfo().isGpu): gpu.js' own CPU emulation says nothing about a GPU, so without
// one the cases are skipped with the reason. Under Xvfb (`npm run bench` starts it when
// there is no display) the mode is headlessgl on Mesa's software rasteriser: those
// figures say how the kernels behave, not how fast a real GPU is.

import { createRequire } from 'node:module';
import * as T from '@dinots/tensor';
import type { GpuBackendInfo, Tensor } from '@dinots/tensor';
import type { Case, Implementation, Runner } from './harness.js';
import { VIT, type Variants, oursVariants } from './kernels.js';
import type { StepResult } from './peers.js';
import { randomArray } from './random.js';
import { DINO, dinoCaseName, dinoStep, dinoStepGpu } from './dino.js';
import { vitForwardFlops, vitTrainStepCpu, vitTrainStepGpu } from './vit.js';

export interface GpuStatus {
  /** True when the GPU cases can run: the backend's mode runs on a GPU or a GL rasteriser. */
  readonly live: boolean;
  /** One line for the report: the live mode, or why the GPU cases are skipped. */
  readonly line: string;
  readonly info: GpuBackendInfo | null;
}

/** Starts the GPU backend and says which gpu.js mode runs it and why the others do not. */
export async function gpuStatus(): Promise<GpuStatus> {
  let info: GpuBackendInfo;
  try {
    info = await T.gpuReady(); // in webgpu mode, once the adapter (and so its description) is known
  } catch (e) {
    return { live: false, info: null, line: `GPU cases skipped: the GPU backend did not start (${(e as Error).message})` };
  }
  const others = info.probes.filter((p) => !p.available).map((p) => `${p.mode}: ${p.reason}`).join('; ');
  const mode = `gpu.js mode '${info.mode}'${info.requested === 'auto' ? '' : ' (forced)'}`;
  return info.isGpu
    ? { live: true, info, line: `GPU backend live: ${mode}, renderer ${info.renderer ?? '-'}, max texture ${info.maxTextureSize ?? '-'}. Not used: ${others}` }
    : { live: false, info, line: `GPU cases skipped: the GPU backend runs in ${mode}, gpu.js' CPU emulation, not a GPU. Why not the others: ${others}` };
}

/** The GPU backend's row; the live mode is in the report's header. */
const CHAINED = 'dinots GPU, ops chained';

/**
 * dinots on the GPU: `build` (run once, outside any scope) makes the inputs and the step;
 * each step runs in a scope and reads back once, with `await t.data()`, which every mode
 * supports (WebGPU has no synchronous read-back).
 */
function gpuChained(name: string, build: () => () => StepResult): Implementation {
  return {
    name,
    prepare(): Runner {
      const step = build();
      let result: Float32Array | null = null;
      return {
        async step() {
          const r = await T.scope(async () => {
            const out = await step();
            return out instanceof Float32Array ? out : ((await out.data()) as Float32Array);
          });
          result ??= r;
        },
        get result() {
          return result!;
        },
      };
    },
  };
}

/** A gpu.js kernel: its result, or in WebGPU mode a Promise of it. */
interface NaiveKernel {
  (...args: unknown[]): Rows | Promise<Rows>;
}
type Rows = Float32Array | Float32Array[];

let naiveGpu: { createKernel(fn: string, s: object): NaiveKernel } | null = null;

/** A gpu.js kernel compiled from `source` in the GPU backend's mode, in gpu.js' own context. */
function naiveKernel(source: string, output: number[]): NaiveKernel {
  if (naiveGpu === null) {
    const { GPU } = createRequire(import.meta.url)('gpu.js') as { GPU: new (s: object) => NonNullable<typeof naiveGpu> };
    naiveGpu = new GPU({ mode: T.backendInfo().mode });
  }
  return naiveGpu.createKernel(source, { output, precision: 'single' });
}

function flat(rows: Rows): Float32Array {
  if (rows instanceof Float32Array) return rows;
  const out = new Float32Array(rows.length * (rows[0]?.length ?? 0));
  rows.forEach((r, i) => out.set(r, i * r.length));
  return out;
}
const rowsOf = (data: Float32Array, cols: number) => Array.from({ length: data.length / cols }, (_, i) => data.subarray(i * cols, (i + 1) * cols));

/** gpu.js kernels called one per op from host arrays: every call uploads its inputs and reads its output back. */
function gpujsNaive(build: () => () => Rows | Promise<Rows>): Implementation {
  return {
    name: 'gpu.js naive (a kernel per op, read back each)',
    prepare(): Runner {
      const step = build();
      let result: Float32Array | null = null;
      return {
        async step() {
          const r = flat(await step());
          result ??= r;
        },
        get result() {
          return result!;
        },
      };
    },
  };
}

/** A GPU case: the CPU backend (reference), the GPU backend, and a naive variant, on the same input arrays. */
function gpuCase(name: string, tolerance: number, v: Variants, inputs: { data: Float32Array; shape: number[] }[],
  op: (...xs: Tensor[]) => Tensor, naive: Implementation, flops?: number): Case {
  const on = (device: T.Device) => inputs.map(({ data, shape }) => T.tensor(data, { shape, device }));
  return {
    family: 'GPU',
    name,
    flops,
    tolerance,
    implementations: [
      ...oursVariants(v, () => {
        const xs = on('cpu');
        return () => op(...xs);
      }),
      gpuChained(CHAINED, () => {
        const xs = on('gpu');
        return () => op(...xs);
      }),
      naive,
    ],
  };
}

function matmulCase(n: number, v: Variants): Case {
  const [a, b] = [randomArray(n * n, 21), randomArray(n * n, 22)];
  const naive = gpujsNaive(() => {
    const k = naiveKernel(`function (a, b) { let s = 0.0; for (let k = 0; k < ${n}; k++) { s += a[this.thread.y][k] * b[k][this.thread.x]; } return s; }`, [n, n]);
    const [ra, rb] = [rowsOf(a, n), rowsOf(b, n)];
    return () => k(ra, rb);
  });
  return gpuCase(`GPU matmul ${n}^3`, 1e-4, v, [{ data: a, shape: [n, n] }, { data: b, shape: [n, n] }], (x, y) => T.matmul(x, y), naive, 2 * n ** 3);
}

function softmaxCase(shape: number[], v: Variants): Case {
  const c = shape[shape.length - 1];
  const x = randomArray(shape.reduce((p, d) => p * d, 1), 23, 4);
  const r = x.length / c;
  const naive = gpujsNaive(() => {
    const max = naiveKernel(`function (x) { let m = x[this.thread.x][0]; for (let j = 1; j < ${c}; j++) { m = Math.max(m, x[this.thread.x][j]); } return m; }`, [r]);
    const sum = naiveKernel(`function (x, m) { let s = 0.0; for (let j = 0; j < ${c}; j++) { s += Math.exp(x[this.thread.x][j] - m[this.thread.x]); } return s; }`, [r]);
    const out = naiveKernel(`function (x, m, s) { return Math.exp(x[this.thread.y][this.thread.x] - m[this.thread.y]) / s[this.thread.y]; }`, [c, r]);
    const rows = rowsOf(x, c);
    return async () => {
      const m = await max(rows);
      return out(rows, m, await sum(rows, m));
    };
  });
  return gpuCase(`GPU softmax [${shape}]`, 1e-4, v, [{ data: x, shape }], (t) => T.softmax(t, -1), naive);
}

function layerNormCase(shape: number[], v: Variants): Case {
  const d = shape[shape.length - 1];
  const x = randomArray(shape.reduce((p, s) => p * s, 1), 24, 4);
  const [w, b] = [randomArray(d, 25, 1), randomArray(d, 26, 1)];
  const r = x.length / d;
  const naive = gpujsNaive(() => {
    const mean = naiveKernel(`function (x) { let s = 0.0; for (let j = 0; j < ${d}; j++) { s += x[this.thread.x][j]; } return s / ${d}.0; }`, [r]);
    const rstd = naiveKernel(`function (x, m) { let s = 0.0; for (let j = 0; j < ${d}; j++) { const v = x[this.thread.x][j] - m[this.thread.x]; s += v * v; } return 1.0 / Math.sqrt(s / ${d}.0 + 0.00001); }`, [r]);
    const out = naiveKernel(`function (x, m, rs, w, b) { return (x[this.thread.y][this.thread.x] - m[this.thread.y]) * rs[this.thread.y] * w[this.thread.x] + b[this.thread.x]; }`, [d, r]);
    const rows = rowsOf(x, d);
    return async () => {
      const m = await mean(rows);
      return out(rows, m, await rstd(rows, m), w, b);
    };
  });
  return gpuCase(`GPU layerNorm [${shape}]`, 1e-3, v, [{ data: x, shape }, { data: w, shape: [d] }, { data: b, shape: [d] }],
    (t, wt, bt) => T.layerNorm(t, [d], wt, bt), naive);
}

/**
 * A pre-norm ViT block (Dosovitskiy et al. 2021, eq. 2-3) from tensor ops; `sync` runs
 * after every forward op (the chained row passes the tensor through, the read-back row
 * awaits its data: WebGPU reads back only asynchronously).
 */
async function vitBlock(x: Tensor, p: Record<string, Tensor>, heads: number, sync: (t: Tensor) => Tensor | Promise<Tensor>): Promise<Tensor> {
  const [B, N, D] = x.shape;
  const hd = D / heads;
  const s = sync;
  const h = await s(T.layerNorm(x, [D], p.ln1w, p.ln1b));
  const qkv = (await s((await s(h.matmul(p.qkvw))).add(p.qkvb))).reshape([B, N, 3, heads, hd]).permute([2, 0, 3, 1, 4]);
  const [q, k, v] = qkv.unbind(0);
  const att = await s((await s((await s(q.matmul(k.transpose(-1, -2)))).mul(1 / Math.sqrt(hd)))).softmax(-1));
  const o = (await s(att.matmul(v))).transpose(1, 2).reshape([B, N, D]);
  const x1 = await s(x.add(await s((await s(o.matmul(p.projw))).add(p.projb))));
  const h2 = await s(T.layerNorm(x1, [D], p.ln2w, p.ln2b));
  const m = await s((await s((await s(h2.matmul(p.fc1w))).add(p.fc1b))).gelu());
  return s(x1.add(await s((await s(m.matmul(p.fc2w))).add(p.fc2b))));
}

/** Forward and backward of one ViT block, loss mean(y^2); the result is every parameter's gradient. */
function vitBlockCase(B: number, N: number, D: number, heads: number, v: Variants): Case {
  const shapes: Record<string, number[]> = {
    ln1w: [D], ln1b: [D], qkvw: [D, 3 * D], qkvb: [3 * D], projw: [D, D], projb: [D],
    ln2w: [D], ln2b: [D], fc1w: [D, 4 * D], fc1b: [4 * D], fc2w: [4 * D, D], fc2b: [D],
  };
  const weights = Object.entries(shapes).map(([name, shape], i) => ({ name, shape, data: randomArray(shape.reduce((a, b) => a * b, 1), 30 + i, 0.05) }));
  const input = randomArray(B * N * D, 29);
  const build = (device: T.Device, sync: (t: Tensor) => Tensor | Promise<Tensor>) => () => {
    const p = Object.fromEntries(weights.map(({ name, shape, data }) => [name, T.tensor(data, { shape, device, requiresGrad: true })]));
    const x = T.tensor(input, { shape: [B, N, D], device });
    return async () => {
      const loss = (await vitBlock(x, p, heads, sync)).square().mean();
      return T.cat(T.grad(loss, Object.values(p)).map((g) => g!.flatten()));
    };
  };
  const readBack = async (t: Tensor) => {
    await t.data();
    return t;
  };
  const forward = 2 * B * N * D * (3 * D + D + 8 * D) + 4 * B * N * N * D;
  return {
    family: 'GPU',
    name: `GPU ViT block forward+backward [${B},${N},${D}], ${heads} heads`,
    flops: 3 * forward,
    tolerance: 2e-3,
    implementations: [
      ...oursVariants(v, build('cpu', (t) => t)),
      gpuChained(CHAINED, build('gpu', (t) => t)),
      gpuChained('dinots GPU, every forward op read back', build('gpu', readBack)),
    ],
  };
}

/** The DINO case's step (benchmarks/dino.ts) on the CPU backend and on the GPU backend, the one read awaited. */
function dinoGpuCase(v: Variants): Case {
  return {
    family: 'GPU',
    name: `GPU DINO ${dinoCaseName()}`,
    tolerance: 1e-3,
    imagesPerStep: DINO.batch,
    implementations: [...oursVariants(v, dinoStep), gpuChained(CHAINED, dinoStepGpu)],
  };
}

/** The ViT family's train step (benchmarks/vit.ts) on the CPU backend and on the GPU backend, the one read awaited. */
function vitTrainGpuCase(v: Variants): Case {
  return {
    family: 'GPU',
    name: `GPU ViT train step (depth ${VIT.depth}, dim ${VIT.dim}, ${VIT.heads} heads, batch ${VIT.batch}, ${VIT.tokens} tokens)`,
    flops: 3 * vitForwardFlops(),
    tolerance: 2e-3,
    implementations: [...oursVariants(v, vitTrainStepCpu), gpuChained(CHAINED, vitTrainStepGpu)],
  };
}

export function gpuCases(v: Variants, full: boolean): Case[] {
  return [
    ...(full ? [128, 256, 512] : [128, 256]).map((n) => matmulCase(n, v)),
    softmaxCase([32, 3, 65, 65], v),
    layerNormCase([32, 65, 192], v),
    vitBlockCase(full ? 4 : 2, 65, 192, 3, v),
    ...(full ? [vitTrainGpuCase(v), dinoGpuCase(v)] : []),
  ];
}
