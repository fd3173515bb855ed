// gather / scatterAdd kernel sources along one dim (torch semantics):
//   gather:     out[..., j, ...] = x[..., index[..., j, ...], ...]
//   scatterAdd: out[..., i, ...] = old[..., i, ...] + sum_{j : index[..., j, ...] = i} src[..., j, ...]
// A kernel cannot throw, so indices are not bounds-checked on the device: gather returns
// NaN for an index outside [-size, size) (a runtime 0 / 0, since WGSL rejects the constant
// one), and scatterAdd ignores such entries (negative indices count from the end, as on
// the CPU). scatterAdd inverts the scatter into a gather:
// each output element scans its column of `index`, since fragments cannot add into
// another fragment's output.

import { type View, address, kernelSource, splitIndex } from './codegen.js';

/** Wraps a negative index (counting from the end) into [0, size). */
function wrap(index: string, size: number): string {
  return `(${index} < 0.0 ? ${index} + ${size}.0 : ${index})`;
}

/** out (index's shape): a0 = x, a1 = index. */
export function gatherSource(x: View, dim: number, index: View): string {
  const c = index.shape.map((_, d) => `c${d}`);
  const size = x.shape[dim];
  const body = [
    ...splitIndex(index.shape, 'this.thread.x', 'c'),
    `const k = ${wrap(`a1[${address(index, c)}]`, size)};`,
    `const v = a0[${address(x, c.map((name, d) => (d === dim ? 'k' : name)))}];`,
  ];
  return kernelSource(['a0', 'a1'], body, `((k >= 0.0 && k < ${size}.0) ? v : (k - k) / (k - k))`);
}

/** out (out's shape): a0 = old out, a1 = index, a2 = src. */
export function scatterAddSource(out: View, dim: number, index: View, src: View): string {
  const c = out.shape.map((_, d) => `c${d}`);
  const at = c.map((name, d) => (d === dim ? 'j' : name));
  const covered = out.shape.map((_, d) => (d === dim ? null : `c${d} < ${index.shape[d]}.0`)).filter((t) => t !== null);
  const body = [
    ...splitIndex(out.shape, 'this.thread.x', 'c'),
    `let acc = a0[${address(out, c)}];`,
  ];
  const loop = [
    `for (let j = 0; j < ${index.shape[dim]}; j++) {`,
    `const k = ${wrap(`a1[${address(index, at)}]`, out.shape[dim])};`,
    `if (k === c${dim}) { acc = acc + a2[${address(src, at)}]; }`,
    '}',
  ];
  if (covered.length > 0) body.push(`if (${covered.join(' && ')}) {`, ...loop, '}');
  else body.push(...loop);
  return kernelSource(['a0', 'a1', 'a2'], body, 'acc');
}
