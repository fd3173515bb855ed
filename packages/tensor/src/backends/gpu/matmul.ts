// Batched matrix product kernel sources: out[b, i, j] = sum_k a[b, i, k] * b[b, k, j].
//
// matmulSource: one output element per fragment, the whole dot product over k in one
// loop, which reads four k at a time so that the compiler can schedule the eight fetches
// together. WebGPU and gpu.js' CPU mode use it, and GL modes for matrix-vector products.
//
// GL modes otherwise: packAlongKSource (twice) + blockedMatmulSource + unblockSource. A
// fragment shader has no workgroup shared memory, so the tiling of CUDA or WebGPU matmuls
// cannot be expressed, and texture fetches are what a software rasteriser (Mesa's
// llvmpipe) spends its time on. So: (1) a's rows and b's columns are first packed four k
// to an RGBA texel, (2) each fragment computes a 2x2 block of out, and per four k fetches
// two texels of a and two of b for sixteen products (matmulSource: eight fetches for four
// products), writing the block as one RGBA texel, (3) a last pass unpacks the texels into
// the row-major float texture every other kernel reads. On llvmpipe, packing and
// unpacking included, 256^3 runs in 5 ms instead of matmulSource's 20, 512^3 in 29
// instead of 157. Odd M or N: the last block repeats row M-1 (column N-1), and the
// unpacking never reads the copy; K not a multiple of 4: the packing pads with zeros. The
// sums run over k in order, as in matmulSource.
//
// All read a and b through their strides, so transposed operands (the backward pass's
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

/** Number of vec4 texels along k: k is packed four to a texel. */
export function packedLength(K: number): number {
  return Math.ceil(K / 4);
}

/**
 * The packed operand of blockedMatmulSource: texel (b, r, q) of a [B, R, ceil(K/4)] vec4
 * array holds x[b, r, 4q .. 4q+3] along k, zeros past K. For a ([B, M, K]) the rows are
 * its rows; for b ([B, K, N]) they are its columns (`kDim` 1), so both are read along k.
 */
export function packAlongKSource(x: View, kDim: 1 | 2): string {
  const rowDim = 3 - kDim;
  const [B, R, K] = [x.shape[0], x.shape[rowDim], x.shape[kDim]];
  const body = [...splitIndex([B, R, packedLength(K)], 'this.thread.x', 'c'), 'const k0 = c2 * 4.0;'];
  const values = [0, 1, 2, 3].map((t) => {
    const k = `(k0 + ${lit(t)})`;
    const coords = kDim === 2 ? ['c0', 'c1', k] : ['c0', k, 'c1'];
    const fetch = `a0[${address(x, coords)}]`;
    return K % 4 === 0 ? fetch : `(${k} < ${lit(K)} ? ${fetch} : 0.0)`;
  });
  return kernelSource(['a0'], body, `[${values.join(', ')}]`);
}

/**
 * Texel t = (b, bi, bj) holds out[b, 2bi + {0,1}, 2bj + {0,1}] as [00, 01, 10, 11], from
 * the operands packed along k (a0: a's rows, a1: b's columns, packAlongKSource).
 */
export function blockedMatmulSource(B: number, M: number, K: number, N: number): string {
  const K4 = packedLength(K);
  // the second row/column of a block, clamped to the last one for odd sizes
  const second = (first: string, size: number) => (size % 2 === 0 ? `${first} + 1.0` : `Math.min(${first} + 1.0, ${lit(size - 1)})`);
  const dot = (x: string, y: string) => [0, 1, 2, 3].map((t) => `${x}[${t}] * ${y}[${t}]`).join(' + ');
  const body = [
    ...splitIndex([B, Math.ceil(M / 2), Math.ceil(N / 2)], 'this.thread.x', 'c'),
    'const i0 = c1 * 2.0;',
    `const i1 = ${second('i0', M)};`,
    'const j0 = c2 * 2.0;',
    `const j1 = ${second('j0', N)};`,
    `const ra = c0 * ${lit(M * K4)};`,
    `const rb = c0 * ${lit(N * K4)};`,
    `const a0Row = ra + i0 * ${lit(K4)};`,
    `const a1Row = ra + i1 * ${lit(K4)};`,
    `const b0Col = rb + j0 * ${lit(K4)};`,
    `const b1Col = rb + j1 * ${lit(K4)};`,
    'let s00 = 0.0;',
    'let s01 = 0.0;',
    'let s10 = 0.0;',
    'let s11 = 0.0;',
    `for (let q = 0; q < ${K4}; q++) {`,
    'const x0 = a0[a0Row + q];',
    'const x1 = a0[a1Row + q];',
    'const y0 = a1[b0Col + q];',
    'const y1 = a1[b1Col + q];',
    `s00 = s00 + ${dot('x0', 'y0')};`,
    `s01 = s01 + ${dot('x0', 'y1')};`,
    `s10 = s10 + ${dot('x1', 'y0')};`,
    `s11 = s11 + ${dot('x1', 'y1')};`,
    '}',
  ];
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
