// The benchmark report: a markdown table for stdout and a JSON record for results/.

import os from 'node:os';
import type { Measurement } from './harness.js';

const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toFixed(3));

/**
 * One row per (case, implementation). "dinots is N x faster" compares each row's median
 * with the first implementation of its case (dinots on the most threads), same run.
 */
export function markdownTable(results: readonly Measurement[]): string {
  const lines = [
    '| case | implementation | median ms | min-max ms | GFLOPS | dinots is N x faster | agrees (rel. error) |',
    '|---|---|---:|---:|---:|---:|---|',
  ];
  let lead: Measurement | null = null;
  for (const r of results) {
    if (lead === null || lead.case !== r.case) lead = r;
    const ratio = r === lead ? '-' : (r.medianMs / lead.medianMs).toFixed(2);
    const gflops = r.gflops === null ? '' : r.gflops.toFixed(r.gflops >= 10 ? 1 : 2);
    const agrees = r === lead ? 'reference' : `${r.agrees ? 'yes' : '**NO**'} (${r.error.toExponential(1)})`;
    lines.push(`| ${r.case} | ${r.implementation} | ${ms(r.medianMs)} | ${ms(r.minMs)}-${ms(r.maxMs)} | ${gflops} | ${ratio} | ${agrees} |`);
  }
  return lines.join('\n');
}

export function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    v8: process.versions.v8,
    loadAverage: os.loadavg(),
  };
}
