// Printing tensors the way PyTorch does:
//   tensor([[ 0.1000, -2.0000],
//           [ 3.5000,  4.0000]], dtype=float64, requires_grad=True)
// Floats get 4 decimals, or scientific notation when the magnitudes span more than
// 1000x, exceed 1e8 or go below 1e-4; integral floats print as "2."; all entries
// share one width; tensors of more than 1000 elements show 3 items at each edge.

import type { Tensor } from './tensor.js';

const PRECISION = 4;
const THRESHOLD = 1000;
const EDGE_ITEMS = 3;
const LINE_WIDTH = 80;

interface Formatter {
  width: number;
  format(v: number): string;
}

function makeFormatter(values: ArrayLike<number>, dtype: Tensor['dtype']): Formatter {
  if (dtype === 'bool') {
    return { width: 5, format: (v) => (v ? 'True' : 'False') };
  }
  if (dtype === 'int32') {
    let width = 1;
    for (let i = 0; i < values.length; i++) width = Math.max(width, String(values[i]).length);
    return { width, format: (v) => String(v) };
  }
  const finite: number[] = [];
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) finite.push(values[i]);
  const special = (v: number) => (Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf');
  const nonzero = finite.map(Math.abs).filter((v) => v !== 0);
  const intMode = finite.every((v) => Number.isInteger(v));
  const maxAbs = nonzero.length ? Math.max(...nonzero) : 0;
  const minAbs = nonzero.length ? Math.min(...nonzero) : 0;
  const wide = nonzero.length > 0 && (maxAbs / minAbs > 1000 || maxAbs > 1e8);
  const sci = wide || (!intMode && nonzero.length > 0 && minAbs < 1e-4);
  const format = sci
    ? (v: number) => v.toExponential(PRECISION).replace(/e([+-])(\d)$/, 'e$10$2')
    : intMode
      ? (v: number) => `${v.toFixed(0)}.`
      : (v: number) => v.toFixed(PRECISION);
  const full = (v: number) => (Number.isFinite(v) ? format(Object.is(v, -0) ? 0 : v) : special(v));
  let width = 1;
  for (let i = 0; i < values.length; i++) width = Math.max(width, full(values[i]).length);
  return { width, format: full };
}

export function formatTensor(t: Tensor): string {
  const data = t.device === 'cpu' ? t.dataSync() : null;
  const suffix: string[] = [];
  if (t.device !== 'cpu') suffix.push(`device='${t.device}'`);
  if (t.dtype !== 'float32' && t.dtype !== 'bool') suffix.push(`dtype=${t.dtype}`);
  if (t.gradFn) suffix.push(`gradFn=<${t.gradFn.name}>`);
  else if (t.requiresGrad) suffix.push('requiresGrad=true');
  const prefix = 'tensor(';
  let body: string;
  if (data === null) body = `[shape [${t.shape.join(', ')}], on the device: use await data()]`;
  else if (t.numel === 0) body = '[]';
  else body = formatData(t, data, prefix.length);
  if (t.numel === 0 && t.ndim > 1) suffix.unshift(`size=[${t.shape.join(', ')}]`);
  return `${prefix}${[body, ...suffix].join(', ')})`;
}

function formatData(t: Tensor, data: ArrayLike<number>, indent: number): string {
  const summarize = t.numel > THRESHOLD;
  const shown: number[] = [];
  const keep = (d: number) => (summarize && t.shape[d] > 2 * EDGE_ITEMS ? [...range(0, EDGE_ITEMS), -1, ...range(t.shape[d] - EDGE_ITEMS, t.shape[d])] : range(0, t.shape[d]));
  const strides = t.shape.map((_, d) => t.shape.slice(d + 1).reduce((p, q) => p * q, 1));
  const collect = (d: number, base: number) => {
    if (d === t.ndim) return shown.push(data[base]);
    for (const i of keep(d)) if (i >= 0) collect(d + 1, base + i * strides[d]);
  };
  collect(0, 0);
  const f = makeFormatter(shown, t.dtype);
  if (t.ndim === 0) return f.format(data[0]);
  const build = (d: number, base: number, pad: number): string => {
    const items = keep(d);
    if (d === t.ndim - 1) {
      const cells = items.map((i) => (i < 0 ? ' ...' : f.format(data[base + i * strides[d]]).padStart(f.width)));
      const perLine = Math.max(1, Math.floor((LINE_WIDTH - pad) / (f.width + 2)));
      const lines: string[] = [];
      for (let k = 0; k < cells.length; k += perLine) lines.push(cells.slice(k, k + perLine).join(', '));
      return `[${lines.join(`,\n${' '.repeat(pad + 1)}`)}]`;
    }
    const sep = `,${'\n'.repeat(t.ndim - d - 1)}${' '.repeat(pad + 1)}`;
    return `[${items.map((i) => (i < 0 ? '...' : build(d + 1, base + i * strides[d], pad + 1))).join(sep)}]`;
  };
  return build(0, 0, indent);
}

function range(a: number, b: number): number[] {
  return Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i);
}
