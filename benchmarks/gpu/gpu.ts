// GPU backend benchmark: matmul, softmax, LayerNorm and a ViT block (forward + backward)
// on the CPU backend, on the GPU backend with ops chained on the device, and with gpu.js
// used naively (one kernel call per op, its result read back to the host every time).
//
//   npx tsc -b benchmarks/gpu && xvfb-run -a node benchmarks/gpu/dist/gpu.js [--quick]
//
// Prints the live gpu.js mode first: on a machine without a GPU, headlessgl runs on Mesa's
// software rasteriser (llvmpipe), whose figures say nothing about a real GPU.

import { createRequire } from 'node:module';
import * as T from '@dinots/tensor';
import type { Tensor } from '@dinots/tensor';

const quick = process.argv.includes('--quick');

/** Median milliseconds of `fn` over repeated runs (after one warm-up run that compiles kernels). */
async function time(fn: () => Promise<unknown>): Promise<number> {
  await fn();
  const samples: number[] = [];
  const budget = quick ? 300 : 1500;
  const start = performance.now();
  while (samples.length < 3 || (performance.now() - start < budget && samples.length < 50)) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1];
}

interface Row {
  case: string;
  cpu: number;
  gpu: number;
  naive: number | null;
}

const rows: Row[] = [];

function report(row: Row): void {
  rows.push(row);
  const f = (ms: number | null) => (ms === null ? '      -' : `${ms.toFixed(2).padStart(8)} ms`);
  console.log(`${row.case.padEnd(34)} cpu ${f(row.cpu)}   gpu chained ${f(row.gpu)}   gpu.js naive ${f(row.naive)}`);
}

// ------------------------------------------------------------------ naive gpu.js kernels

interface NaiveKernel {
  (...args: unknown[]): unknown;
}

const requireHere = createRequire(import.meta.url);
const { GPU } = requireHere('gpu.js') as { GPU: new (s: object) => { createKernel(fn: string, s: object): NaiveKernel } };
const naiveGpu = new GPU({ mode: T.backendInfo().mode });

function naiveKernel(source: string, output: number[]): NaiveKernel {
  return naiveGpu.createKernel(source, { output, precision: 'single' });
}

// ------------------------------------------------------------------ cases

async function onBoth(name: string, make: (device: T.Device) => Tensor[], op: (...xs: Tensor[]) => Tensor, naive: (() => unknown) | null): Promise<void> {
  const cpuInputs = make('cpu');
  const gpuInputs = cpuInputs.map((t) => t.to('gpu'));
  const cpu = await time(async () => op(...cpuInputs).data());
  const gpu = await time(() =>
    T.scope(async () => {
      await op(...gpuInputs).data();
    }),
  );
  report({ case: name, cpu, gpu, naive: naive === null ? null : await time(async () => naive()) });
}

async function matmulCase(n: number): Promise<void> {
  const a = T.randn([n, n]);
  const b = T.randn([n, n]);
  const k = naiveKernel(`function (a, b) { let s = 0.0; for (let k = 0; k < ${n}; k++) { s += a[this.thread.y][k] * b[k][this.thread.x]; } return s; }`, [n, n]);
  const a2 = rows2d(a);
  const b2 = rows2d(b);
  await onBoth(`matmul ${n}x${n}x${n}`, () => [a, b], (x, y) => x.matmul(y), () => k(a2, b2));
}

async function softmaxCase(r: number, c: number): Promise<void> {
  const x = T.randn([r, c]);
  const max = naiveKernel(`function (x) { let m = x[this.thread.x][0]; for (let j = 1; j < ${c}; j++) { m = Math.max(m, x[this.thread.x][j]); } return m; }`, [r]);
  const sum = naiveKernel(`function (x, m) { let s = 0.0; for (let j = 0; j < ${c}; j++) { s += Math.exp(x[this.thread.x][j] - m[this.thread.x]); } return s; }`, [r]);
  const out = naiveKernel(`function (x, m, s) { return Math.exp(x[this.thread.y][this.thread.x] - m[this.thread.y]) / s[this.thread.y]; }`, [c, r]);
  const x2 = rows2d(x);
  await onBoth(`softmax [${r}, ${c}]`, () => [x], (t) => t.softmax(-1), () => {
    const m = max(x2);
    const s = sum(x2, m);
    return out(x2, m, s);
  });
}

async function layerNormCase(r: number, d: number): Promise<void> {
  const x = T.randn([r, d]);
  const w = T.randn([d]);
  const b = T.randn([d]);
  const mean = naiveKernel(`function (x) { let s = 0.0; for (let j = 0; j < ${d}; j++) { s += x[this.thread.x][j]; } return s / ${d}.0; }`, [r]);
  const rstd = naiveKernel(`function (x, m) { let s = 0.0; for (let j = 0; j < ${d}; j++) { const v = x[this.thread.x][j] - m[this.thread.x]; s += v * v; } return 1.0 / Math.sqrt(s / ${d}.0 + 0.00001); }`, [r]);
  const out = naiveKernel(`function (x, m, rs, w, b) { return (x[this.thread.y][this.thread.x] - m[this.thread.y]) * rs[this.thread.y] * w[this.thread.x] + b[this.thread.x]; }`, [d, r]);
  const x2 = rows2d(x);
  const wd = w.dataSync();
  const bd = b.dataSync();
  await onBoth(`layerNorm [${r}, ${d}]`, () => [x, w, b], (t, wt, bt) => T.layerNorm(t, [d], wt, bt), () => {
    const m = mean(x2);
    const rs = rstd(x2, m);
    return out(x2, m, rs, wd, bd);
  });
}

/** A pre-norm ViT block (Dosovitskiy et al. 2021, eq. 2-3) from tensor ops; `sync` runs after every op. */
function vitBlock(x: Tensor, p: Record<string, Tensor>, heads: number, sync: (t: Tensor) => Tensor): Tensor {
  const [B, N, D] = x.shape;
  const hd = D / heads;
  const s = sync;
  const h = s(T.layerNorm(x, [D], p.ln1w, p.ln1b));
  const qkv = s(s(h.matmul(p.qkvw)).add(p.qkvb)).reshape([B, N, 3, heads, hd]).permute([2, 0, 3, 1, 4]);
  const [q, k, v] = qkv.unbind(0);
  const att = s(s(s(q.matmul(k.transpose(-1, -2))).mul(1 / Math.sqrt(hd))).softmax(-1));
  const o = s(att.matmul(v)).transpose(1, 2).reshape([B, N, D]);
  const x1 = s(x.add(s(s(o.matmul(p.projw)).add(p.projb))));
  const h2 = s(T.layerNorm(x1, [D], p.ln2w, p.ln2b));
  const m = s(s(s(h2.matmul(p.fc1w)).add(p.fc1b)).gelu());
  return s(x1.add(s(s(m.matmul(p.fc2w)).add(p.fc2b))));
}

async function vitCase(B: number, N: number, D: number, heads: number): Promise<void> {
  const g = new T.Generator(0);
  const shapes: Record<string, number[]> = {
    ln1w: [D], ln1b: [D], qkvw: [D, 3 * D], qkvb: [3 * D], projw: [D, D], projb: [D],
    ln2w: [D], ln2b: [D], fc1w: [D, 4 * D], fc1b: [4 * D], fc2w: [4 * D, D], fc2b: [D],
  };
  const params = Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, T.randn(s, { generator: g }).mul(0.05)]));
  const x = T.randn([B, N, D], { generator: g });
  const on = (device: T.Device) => {
    const p = Object.fromEntries(Object.entries(params).map(([k, t]) => [k, t.to(device).detach().requiresGrad_()]));
    return { p, x: x.to(device) };
  };
  const step = async (inputs: ReturnType<typeof on>, sync: (t: Tensor) => Tensor) => {
    const y = vitBlock(inputs.x, inputs.p, heads, sync);
    y.square().mean().backward();
    const grads = Object.values(inputs.p).map((t) => t.grad!);
    await Promise.all(grads.map((gr) => gr.data()));
    for (const t of Object.values(inputs.p)) t.grad = null;
  };
  const cpuIn = on('cpu');
  const gpuIn = on('gpu');
  const id = (t: Tensor) => t;
  // naive: every forward op's result read back to the host before the next op runs
  const readBack = (t: Tensor) => {
    t.dataSync();
    return t;
  };
  const cpu = await time(() => step(cpuIn, id));
  const gpu = await time(() => T.scope(() => step(gpuIn, id)));
  const naive = await time(() => T.scope(() => step(gpuIn, readBack)));
  report({ case: `ViT block fwd+bwd B${B} N${N} D${D} h${heads}`, cpu, gpu, naive });
}

function rows2d(t: Tensor): Float32Array[] {
  const [r, c] = t.shape;
  const data = t.dataSync() as Float32Array;
  return Array.from({ length: r }, (_, i) => data.subarray(i * c, (i + 1) * c));
}

const info = T.backendInfo();
console.log(`gpu.js mode: ${info.mode} (${info.isGpu ? 'GPU' : 'CPU emulation, not a GPU'}), renderer ${info.renderer ?? '-'}, max texture ${info.maxTextureSize ?? '-'}`);
for (const p of info.probes) if (!p.available) console.log(`  ${p.mode}: unavailable (${p.reason})`);
await matmulCase(128);
await matmulCase(quick ? 192 : 256);
await softmaxCase(quick ? 128 : 512, 197);
await layerNormCase(quick ? 256 : 1024, 384);
await vitCase(quick ? 1 : 2, quick ? 17 : 65, quick ? 48 : 192, 3);
console.log(JSON.stringify({ mode: info.mode, isGpu: info.isGpu, renderer: info.renderer, rows }));
