// Batched matrix product kernel sources: out[b, i, j] = sum_k a[b, i, k] * b[b, k, j].
//
// matmulSource: one output element per fragment, the whole dot product over k in one
// loop, which reads four k at a time so that the compiler can schedule the eight fetches
// together. WebGPU and gpu.js' CPU mode use it.
//
// GL modes: blockedMatmulSource + unblockSource. A fragment shader has no workgroup
// shared memory, so the tiling of CUDA or WebGPU matmuls cannot be expressed; what a
// fragment can do is keep a tile of outputs in registers. Each fragment computes a 2x2
// block of out and writes it as one RGBA texel (out[i0, j0], out[i0, j1], out[i1, j0],
// out[i1, j1]); per k it fetches a[i0, k], a[i1, k], b[k, j0], b[k, j1] for four
// products, half the fetches per product of matmulSource. Fetches are what a software
// rasteriser (Mesa's llvmpipe) spends its time on: 256^3 runs about 1.7x faster. A
// second pass unpacks the texels into the row-major float texture every other kernel
// reads. Odd M or N: the last block repeats row M-1 (column N-1), and the unpacking
// never reads the copy.
//
// Both read a and b through their strides, so transposed operands (the backward pass's
// a^T g and g b^T) need no copy first.

import { type View, address, kernelSource, lit, splitIndex } from './codegen.js';

export function matmulSource(a: View, b: View): string {
  const [B, M, K] = a.shape;
  const N = b.shape[2];
  const body = [...splitIndex([B, M, N], 'this.thread.x', 'c')];
  const at = (k: string) => `a0[${address(a, ['c0', 'c1', k])}]`;
  const bt = (k: string) => `a1[${address(b, ['c0', k, 'c2'])}]`;
  const K4 = K - (K % 4);
  body.push('let acc = 0.0;');
  if (K4 > 0) {
    body.push(`for (let k = 0; k < ${K4}; k += 4) {`);
    body.push(`acc = acc + ${at('k')} * ${bt('k')} + ${at('(k + 1)')} * ${bt('(k + 1)')} + ${at('(k + 2)')} * ${bt('(k + 2)')} + ${at('(k + 3)')} * ${bt('(k + 3)')};`);
    body.push('}');
  }
  for (let k = K4; k < K; k++) body.push(`acc = acc + ${at(String(k))} * ${bt(String(k))};`);
  return kernelSource(['a0', 'a1'], body, 'acc');
}

/** Number of 2x2 blocks (output texels) of a [B, M, N] product. */
export function blockCount(B: number, M: number, N: number): number {
  return B * Math.ceil(M / 2) * Math.ceil(N / 2);
}

/** Texel t = (b, bi, bj) holds out[b, 2bi + {0,1}, 2bj + {0,1}] as [00, 01, 10, 11]. */
export function blockedMatmulSource(a: View, b: View): string {
  const [B, M, K] = a.shape;
  const N = b.shape[2];
  // the second row/column of a block, clamped to the last one for odd sizes
  const second = (first: string, size: number) => (size % 2 === 0 ? `${first} + 1.0` : `Math.min(${first} + 1.0, ${lit(size - 1)})`);
  const body = [
    ...splitIndex([B, Math.ceil(M / 2), Math.ceil(N / 2)], 'this.thread.x', 'c'),
    'const i0 = c1 * 2.0;',
    `const i1 = ${second('i0', M)};`,
    'const j0 = c2 * 2.0;',
    `const j1 = ${second('j0', N)};`,
    'let s00 = 0.0;',
    'let s01 = 0.0;',
    'let s10 = 0.0;',
    'let s11 = 0.0;',
  ];
  const step = (k: string) => [
    `const x0 = a0[${address(a, ['c0', 'i0', k])}];`,
    `const x1 = a0[${address(a, ['c0', 'i1', k])}];`,
    `const y0 = a1[${address(b, ['c0', k, 'j0'])}];`,
    `const y1 = a1[${address(b, ['c0', k, 'j1'])}];`,
    's00 = s00 + x0 * y0;',
    's01 = s01 + x0 * y1;',
    's10 = s10 + x1 * y0;',
    's11 = s11 + x1 * y1;',
  ];
  body.push(`for (let k = 0; k < ${K}; k++) {`, ...step('k'), '}');
  return kernelSource(['a0', 'a1'], body, '[s00, s01, s10, s11]');
}

/** out[b, i, j] (row-major [B, M, N]) from the block texels of blockedMatmulSource (a0). */
export function unblockSource(B: number, M: number, N: number): string {
  const mb = Math.ceil(M / 2);
  const nb = Math.ceil(N / 2);
  const body = [
    ...splitIndex([B, M, N], 'this.thread.x', 'c'),
    'const bi = Math.floor(c1 * 0.5);',
    'const bj = Math.floor(c2 * 0.5);',
    'const channel = (c1 - bi * 2.0) * 2.0 + (c2 - bj * 2.0);',
    `const v = a0[c0 * ${lit(mb * nb)} + bi * ${lit(nb)} + bj];`,
  ];
  return kernelSource(['a0'], body, '(channel < 0.5 ? v[0] : (channel < 1.5 ? v[1] : (channel < 2.5 ? v[2] : v[3])))');
}
