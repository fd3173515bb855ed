// Batched matrix product kernel source: out[b, i, j] = sum_k a[b, i, k] * b[b, k, j].
//
// Each output element is one fragment that runs the whole dot product over k. WebGL
// fragment shaders have no workgroup shared memory, so the shared-memory tiling of CUDA
// or WebGPU matmuls cannot be expressed; instead the loop reads four k at a time, which
// lets the shader compiler schedule the eight texture fetches together. a and b are read
// through their strides, so transposed operands (the backward pass's a^T g and g b^T)
// need no copy first.

import { type View, address, kernelSource, splitIndex } from './codegen.js';

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
