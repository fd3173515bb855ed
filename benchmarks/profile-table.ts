// The profile table of benchmarks/README.md, rendered from a results/profile-*.json file
// that profile.ts wrote (see there for how the two sides are measured).
//
// Rows: the op families of the kernels run in the forward pass (the teacher, the student,
// the DINO loss and the read-back) and in the backward pass; then, per pass, the time its
// range spent outside kernels (autograd bookkeeping, dispatch, JavaScript or Python); then
// the optimizer, clipping and EMA ranges whole. Cells are milliseconds per step.

import type { PyTorchInfo } from './pytorch.js';

export interface SideProfile {
  /** Wall time of a profiled step. */
  readonly totalMs: number;
  readonly rows: readonly { readonly phase: string; readonly family: string; readonly calls: number; readonly ms: number }[];
  readonly ranges: readonly { readonly name: string; readonly ms: number }[];
  /** Garbage-collector pauses per step (dinots: Node's gc performance entries); they fall inside the rows above. */
  readonly gcMs?: number;
}

export interface ProfileRecord {
  readonly date: string;
  readonly machine: { readonly cpu: string; readonly cores: number; readonly node: string };
  readonly threads: number;
  readonly torchThreads: number;
  readonly steps: number;
  /** Unprofiled steps before them (absent in records written before 2026-12-07's seventh round, which ran 2). */
  readonly warmupSteps?: number;
  readonly pytorchInfo: PyTorchInfo;
  readonly dinots: SideProfile;
  readonly pytorch: SideProfile | null;
}

const FAMILIES = ['GEMM', 'batched GEMM', 'softmax', 'LayerNorm', 'GELU', 'elementwise', 'reduction', 'copy', 'indexing', 'allocation', 'read-back'];
const DESCRIPTIONS: Record<string, string> = {
  GEMM: 'GEMM (Linear, patch embedding)',
  'batched GEMM': 'batched GEMM (attention QK^T, AV)',
  softmax: 'softmax, log-softmax',
  elementwise: 'other elementwise',
  reduction: 'reductions',
  copy: 'copies (views made contiguous, cat)',
  indexing: 'indexing, resampling',
  'read-back': 'read-back to the host',
  'outside kernels': 'outside kernels (autograd, dispatch, JS / Python)',
  'gradient clipping': 'gradient clipping (whole)',
  optimizer: 'optimizer (AdamW step, whole)',
  EMA: 'EMA (whole)',
};
const WHOLE_RANGES = ['gradient clipping', 'optimizer', 'EMA'];
const PASSES = ['forward', 'backward'];

/** Milliseconds per step of one side, by [row label][column]. */
function cells(side: SideProfile): Map<string, Map<string, number>> {
  const table = new Map<string, Map<string, number>>();
  const add = (label: string, column: string, ms: number) => {
    const row = table.get(label) ?? new Map<string, number>();
    row.set(column, (row.get(column) ?? 0) + ms);
    table.set(label, row);
  };
  const range = (name: string) => side.ranges.find((r) => r.name === name)?.ms ?? 0;
  const passTime: Record<string, number> = {
    forward: side.totalMs - ['backward', ...WHOLE_RANGES].reduce((s, name) => s + range(name), 0),
    backward: range('backward'),
  };
  for (const pass of PASSES) {
    let kernels = 0;
    for (const row of side.rows.filter((r) => r.phase === pass)) {
      add(row.family, pass, row.ms);
      kernels += row.ms;
    }
    add('outside kernels', pass, passTime[pass] - kernels);
  }
  for (const name of WHOLE_RANGES) add(name, 'whole', range(name));
  return table;
}

const fmt = (ms: number | undefined) => (ms === undefined ? '' : ms >= 10 ? ms.toFixed(0) : ms.toFixed(1));

export function profileTable(record: ProfileRecord, file: string): string {
  const sides: [string, SideProfile][] = [[`dinots, ${record.threads} thread${record.threads === 1 ? '' : 's'}`, record.dinots]];
  if (record.pytorch !== null) sides.push([`PyTorch ${record.pytorchInfo.version}, ${record.torchThreads} thread${record.torchThreads === 1 ? '' : 's'}`, record.pytorch]);
  const tables = sides.map(([, side]) => cells(side));
  const header = ['ms per step', ...sides.flatMap(([name]) => [`${name}: forward`, 'backward', 'total', 'share'])];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  const labels = [...FAMILIES, 'outside kernels', ...WHOLE_RANGES];
  for (const label of labels) {
    const parts = tables.map((t, i) => {
      const row = t.get(label);
      const total = row === undefined ? 0 : [...row.values()].reduce((s, x) => s + x, 0);
      const share = `${((100 * total) / sides[i][1].totalMs).toFixed(0)} %`;
      return [fmt(row?.get('forward')), fmt(row?.get('backward')), row === undefined ? '' : fmt(total), row === undefined ? '' : share];
    });
    if (parts.every((p) => p[2] === '')) continue;
    lines.push(`| ${DESCRIPTIONS[label] ?? label} | ${parts.flat().join(' | ')} |`);
  }
  const totals = sides.flatMap(([, side]) => ['', '', `**${fmt(side.totalMs)}**`, '100 %']);
  lines.push(`| **profiled step** | ${totals.join(' | ')} |`);
  const gc = record.dinots.gcMs === undefined ? '' : ` Garbage collection in dinots' step: ${fmt(record.dinots.gcMs)} ms, inside the rows above.`;
  const m = record.machine;
  return [
    ...lines,
    '',
    `The mean of ${record.steps} profiled steps of the DINO case (after ${record.warmupSteps ?? 2} warm-up steps).${gc} ` +
      `\`npm run bench:profile\`, ${record.date.slice(0, 10)}, ${m.cpu}, ${m.cores} cores, Node ${m.node}` +
      `${record.pytorch === null ? '' : `; PyTorch with ${record.pytorchInfo.blas}`} ([${file}](${file})).`,
  ].join('\n');
}
