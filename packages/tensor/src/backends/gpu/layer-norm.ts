// LayerNorm kernel sources over the rows of x viewed as [rows, D] (Ba et al. 2016):
//   mean = sum_j x_j / D                                  (meanSource)
//   rstd = 1 / sqrt(sum_j (x_j - mean)^2 / D + eps)        (rstdSource: two passes, as the CPU)
//   y_j  = (x_j - mean) * rstd * weight_j + bias_j         (normalizeSource)
// The backward pass is composed from ops (ops/layer-norm.ts), so it runs on these and the
// elementwise/reduction kernels.

import { type View, address, kernelSource, splitIndex } from './codegen.js';

function rowLoop(x: View, body: string): string[] {
  return [`for (let j = 0; j < ${x.shape[1]}; j++) {`, `const v = a0[${address(x, ['r', 'j'])}];`, body, '}'];
}

export function meanSource(x: View): string {
  const body = ['const r = this.thread.x;', 'let acc = 0.0;', ...rowLoop(x, 'acc = acc + v;')];
  return kernelSource(['a0'], body, `acc / ${x.shape[1]}.0`);
}

/** a1 = the row means; eps is the kernel argument p0. */
export function rstdSource(x: View): string {
  const body = ['const r = this.thread.x;', 'const mu = a1[r];', 'let acc = 0.0;', ...rowLoop(x, 'acc = acc + (v - mu) * (v - mu);')];
  return kernelSource(['a0', 'a1', 'p0'], body, `1.0 / Math.sqrt(acc / ${x.shape[1]}.0 + p0)`);
}

/** a1 = means, a2 = rstd, then weight (a3) and bias (a4 or a3) when present. */
export function normalizeSource(x: View, weight: View | null, bias: View | null): string {
  const body = [...splitIndex(x.shape, 'this.thread.x', 'c'), `let y = (a0[${address(x, ['c0', 'c1'])}] - a1[c0]) * a2[c0];`];
  const params = ['a0', 'a1', 'a2'];
  if (weight !== null) {
    params.push('a3');
    body.push(`y = y * a3[${address(weight, ['c1'])}];`);
  }
  if (bias !== null) {
    const name = `a${params.length}`;
    params.push(name);
    body.push(`y = y + ${name}[${address(bias, ['c1'])}];`);
  }
  return kernelSource(params, body, 'y');
}
