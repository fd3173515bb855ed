// The benchmark report: markdown tables for stdout and a JSON record for results/.

import os from 'node:os';
import type { Measurement } from './harness.js';

const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toFixed(3));
const rate = (x: number | null) => (x === null ? '' : x.toFixed(x >= 10 ? 1 : 2));
const mib = (x: number) => x.toFixed(0);

/**
 * One row per (case, implementation). "dinots is N x faster" compares each row's median
 * with the first implementation of its case (dinots on the most threads), same run.
 */
export function markdownTable(results: readonly Measurement[]): string {
  const lines = [
    '| case | implementation | median ms | min-max ms | GFLOPS | images/s | dinots is N x faster | agrees (rel. error) |',
    '|---|---|---:|---:|---:|---:|---:|---|',
  ];
  let lead: Measurement | null = null;
  for (const r of results) {
    if (lead === null || lead.case !== r.case) lead = r;
    const ratio = r === lead ? '-' : (r.medianMs / lead.medianMs).toFixed(2);
    const agrees = r === lead ? 'reference' : r.error === null ? 'timing only' : `${r.agrees ? 'yes' : '**NO**'} (${r.error.toExponential(1)})`;
    lines.push(`| ${r.case} | ${r.implementation} | ${ms(r.medianMs)} | ${ms(r.minMs)}-${ms(r.maxMs)} | ${rate(r.gflops)} | ${rate(r.imagesPerSecond)} | ${ratio} | ${agrees} |`);
  }
  return lines.join('\n');
}

/**
 * Memory per (case, implementation) for the families given: tensor memory allocated per
 * step (dinots' CPU backend counts it; blank for the others), and the resident set when the
 * timed steps start and at its peak during them.
 */
export function memoryTable(results: readonly Measurement[], families: readonly string[]): string {
  const lines = [
    '| case | implementation | allocated MiB/step | on reused buffers | RSS at start MiB | peak RSS MiB |',
    '|---|---|---:|---:|---:|---:|',
  ];
  for (const r of results.filter((m) => families.includes(m.family))) {
    const allocated = r.allocatedMiBPerStep === undefined ? '' : mib(r.allocatedMiBPerStep);
    const reused = r.reusedShare === undefined ? '' : `${(100 * r.reusedShare).toFixed(1)}%`;
    const peak = `${mib(r.peakRssMiB)}${r.peakRssScope === 'process' ? ' (process)' : ''}`;
    lines.push(`| ${r.case} | ${r.implementation} | ${allocated} | ${reused} | ${mib(r.rssAtStartMiB)} | ${peak} |`);
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
