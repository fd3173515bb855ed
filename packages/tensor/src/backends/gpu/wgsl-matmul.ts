// The webgpu mode's batched matrix product, a WGSL compute shader written here rather than
// by gpu.js (whose kernels compute one output each and have no workgroup memory):
//   out[b, i, j] = sum_k a[b, i, k] * b[b, k, j]  (+ bias[j], for linear)
// where b runs over any number of batch dims with any strides (attention's [batch, heads]
// sliced out of one qkv projection), split from the workgroup's z index,
// tiled as in the classic shared-memory GEMM (CUDA C Programming Guide, "Shared Memory";
// Volkov and Demmel, "Benchmarking GPUs to tune dense linear algebra", SC 2008):
//   - a workgroup of WG x WG invocations computes one BM x BN tile of out (BM = WG * TM,
//     BN = WG * TN), and each invocation a TM x TN block of it, held in registers;
//   - k advances BK at a time: the workgroup copies the BM x BK slice of a and the BK x BN
//     slice of b into workgroup memory (var<workgroup>), each invocation loading
//     BM * BK / WG^2 of them, waits at a barrier, and every invocation then reads its TM
//     values of a and TN of b per k from there: one global read serves WG invocations;
//   - past M, N or K the loads write zeros and the stores are skipped, so any size works.
// Invocation (x, y) owns rows y + WG * r and columns x + WG * c, so that neighbouring
// invocations read neighbouring workgroup-memory words and write neighbouring outputs.
// Each tile load walks the operand's unit-stride dim fastest where it has one (a
// transposed operand, such as the backward pass's a^T g, is read along its rows), so that
// neighbouring invocations read neighbouring global words. Each output sums over k in
// order, as matmulSource does. Strides, offsets and sizes are literals, as in gpu.js'
// kernels: one pipeline per shape and layout. Under lavapipe (Mesa's software Vulkan),
// read-back included, 256^3 took 18.8 ms against 42.8 for one dot product per output,
// 1024^3 973 against 3200 (benchmarks/results/NOTES.md).

import type { View } from './codegen.js';

/** The tiling of one product: WG x WG invocations, each TM x TN outputs, k in steps of BK. */
export interface MatmulTiling {
  wg: number;
  tm: number;
  tn: number;
  bk: number;
}

/** 64 x 64 tiles (16 x 16 invocations of 4 x 4 outputs) for large products, 16 x 16 ones (one output each) for small ones. */
export function matmulTiling(M: number, N: number): MatmulTiling {
  return M >= 48 && N >= 48 ? { wg: 16, tm: 4, tn: 4, bk: 16 } : { wg: 16, tm: 1, tn: 1, bk: 16 };
}

/** The workgroup grid of a product of B matrices [M, K] x [K, N]: column tiles, row tiles, batch items. */
export function matmulWorkgroups(B: number, M: number, N: number, t: MatmulTiling): [number, number, number] {
  return [Math.ceil(N / (t.wg * t.tn)), Math.ceil(M / (t.wg * t.tm)), B];
}

const u = (n: number) => `${n}u`;

/**
 * Lines that copy one operand's tile into workgroup memory `tile` ([BK][cols], the k-th row
 * at k * cols): element (k, c) of the tile is operand element (k0 + k, first + c), read at
 * `at(kIndex, cIndex)`, zero outside `kSize` x `cSize`. `kFastest`: neighbouring
 * invocations take neighbouring k (the operand is unit-stride along k).
 */
function loadTile(tile: string, cols: number, bk: number, threads: number, first: string, cSize: number, kSize: number, kFastest: boolean, at: (k: string, c: string) => string): string[] {
  const lines: string[] = [];
  for (let t = 0; t < (cols * bk) / threads; t++) {
    const e = `li + ${u(t * threads)}`;
    const [k, c] = kFastest ? [`(${e}) % ${u(bk)}`, `(${e}) / ${u(bk)}`] : [`(${e}) / ${u(cols)}`, `(${e}) % ${u(cols)}`];
    lines.push(
      '{',
      `  let tk = ${k};`,
      `  let tc = ${c};`,
      '  let gk = k0 + tk;',
      `  let gc = ${first} + tc;`,
      '  var v = 0.0;',
      `  if (gk < ${u(kSize)} && gc < ${u(cSize)}) { v = ${at('gk', 'gc')}; }`,
      `  ${tile}[tk * ${u(cols)} + tc] = v;`,
      '}',
    );
  }
  return lines;
}

/**
 * `offset + (batch terms) + row * rowStride + col * colStride` of a view [...batch, R, C], in
 * u32 arithmetic: the flat batch index `batch` splits into one coordinate per batch dim
 * (row-major), and dims of size 1 or stride 0 (broadcast) add nothing.
 */
function index(view: View, row: string, col: string): string {
  const nb = view.shape.length - 2;
  const terms = [u(view.offset)];
  let inner = 1;
  const batchTerms: string[] = [];
  for (let d = nb - 1; d >= 0; d--) {
    const size = view.shape[d];
    if (size > 1 && view.strides[d] !== 0) {
      const coord = nb === 1 ? 'batch' : inner === 1 ? `(batch % ${u(size)})` : `((batch / ${u(inner)}) % ${u(size)})`;
      batchTerms.unshift(`${coord} * ${u(view.strides[d])}`);
    }
    inner *= size;
  }
  terms.push(...batchTerms);
  for (const [coord, d] of [[row, nb], [col, nb + 1]] as const) {
    if (view.shape[d] > 1 && view.strides[d] !== 0) terms.push(view.strides[d] === 1 ? coord : `${coord} * ${u(view.strides[d])}`);
  }
  return terms.join(' + ');
}

/**
 * The WGSL source of out = a b for views a [...batch, M, K] and b [...batch, K, N] (the same
 * batch dims, any strides; a size of 1 in either broadcasts) into a row-major
 * [...batch, M, N] out, with tiling t. An optional bias [N]
 * (binding 2, before out; any stride) is added to every row as the tile is stored (torch's addmm).
 */
export function wgslMatmulSource(a: View, b: View, t: MatmulTiling, bias: View | null = null): string {
  const [M, K] = a.shape.slice(-2);
  const N = b.shape[b.shape.length - 1];
  const { wg, tm, tn, bk } = t;
  const bm = wg * tm;
  const bn = wg * tn;
  const threads = wg * wg;
  const lines = [
    '@group(0) @binding(0) var<storage, read> a : array<f32>;',
    '@group(0) @binding(1) var<storage, read> b : array<f32>;',
    ...(bias ? ['@group(0) @binding(2) var<storage, read> bias : array<f32>;'] : []),
    `@group(0) @binding(${bias ? 3 : 2}) var<storage, read_write> out : array<f32>;`,
    `var<workgroup> tileA : array<f32, ${bk * bm}>;`,
    `var<workgroup> tileB : array<f32, ${bk * bn}>;`,
    '',
    `@compute @workgroup_size(${wg}, ${wg}, 1)`,
    'fn main(@builtin(workgroup_id) group : vec3<u32>, @builtin(local_invocation_id) local : vec3<u32>, @builtin(local_invocation_index) li : u32) {',
    '  let batch = group.z;',
    `  let row0 = group.y * ${u(bm)};`,
    `  let col0 = group.x * ${u(bn)};`,
    ...Array.from({ length: tm * tn }, (_, r) => `  var acc${r} = 0.0;`),
    `  for (var k0 = 0u; k0 < ${u(K)}; k0 = k0 + ${u(bk)}) {`,
    ...loadTile('tileA', bm, bk, threads, 'row0', M, K, a.strides[a.strides.length - 1] === 1 && a.strides[a.strides.length - 2] !== 1, (k, c) => `a[${index(a, c, k)}]`).map((l) => `    ${l}`),
    ...loadTile('tileB', bn, bk, threads, 'col0', N, K, b.strides[b.strides.length - 2] === 1 && b.strides[b.strides.length - 1] !== 1, (k, c) => `b[${index(b, k, c)}]`).map((l) => `    ${l}`),
    '    workgroupBarrier();',
    `    for (var k = 0u; k < ${u(bk)}; k = k + 1u) {`,
    ...Array.from({ length: tm }, (_, r) => `      let x${r} = tileA[k * ${u(bm)} + local.y + ${u(wg * r)}];`),
    ...Array.from({ length: tn }, (_, c) => `      let y${c} = tileB[k * ${u(bn)} + local.x + ${u(wg * c)}];`),
    ...Array.from({ length: tm * tn }, (_, r) => `      acc${r} = acc${r} + x${Math.floor(r / tn)} * y${r % tn};`),
    '    }',
    '    workgroupBarrier();',
    '  }',
  ];
  for (let r = 0; r < tm; r++) {
    for (let c = 0; c < tn; c++) {
      lines.push(
        '  {',
        `    let i = row0 + local.y + ${u(wg * r)};`,
        `    let j = col0 + local.x + ${u(wg * c)};`,
        `    if (i < ${u(M)} && j < ${u(N)}) { out[batch * ${u(M * N)} + i * ${u(N)} + j] = acc${r * tn + c}${bias === null ? '' : ` + bias[${u(bias.offset)} + j * ${u(bias.strides[0])}]`}; }`,
        '  }',
      );
    }
  }
  lines.push('}');
  return lines.join('\n');
}
