// Where the time of one DINO training step goes: dinots' profiler
// (packages/tensor/src/profiler.ts) and torch.profiler on the same step (benchmarks/dino.ts
// and its twin in pytorch/peer.py), side by side by phase and op family.
//
//   npm run bench:profile                       dinots on all cores, PyTorch on 1 thread
//   npm run bench:profile -- --threads 1 --torch-threads 2 --steps 5
//
// Each side runs the suite's WARMUP_STEPS warm-up steps (harness.ts: V8 compiles a training
// step's code over its first steps), then profiles `steps` steps and reports the
// mean per step. Writes results/profile-<date>.json; `npm run bench:readme` puts its table in
// benchmarks/README.md (profile-table.ts renders it). Profiling costs time of its own
// (a timer around every kernel call here, torch.profiler's events there), so the totals
// run above the suite's medians; the table gives both.

import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { type ProfileReport, type ProfileRow, profile, setNumThreads } from '@dinots/tensor';
import { DINO, dinoStep } from './dino.js';
import { WARMUP_STEPS } from './harness.js';
import type { ProfileRecord, SideProfile } from './profile-table.js';
import { detectPyTorch, pytorchProfile } from './pytorch.js';
import { machine } from './report.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const threads = option('--threads', os.availableParallelism());
const torchThreads = option('--torch-threads', 1);
const steps = option('--steps', 3);

/** The mean per step of `reports`, and the garbage collector's pauses in the same steps. */
function mean(reports: readonly ProfileReport[], gcMs: number): SideProfile {
  const rows = new Map<string, ProfileRow>();
  const ranges = new Map<string, { name: string; calls: number; ms: number }>();
  for (const r of reports) {
    for (const row of r.rows) {
      const key = `${row.phase}/${row.family}`;
      const cell = rows.get(key) ?? { phase: row.phase, family: row.family, calls: 0, ms: 0 };
      cell.calls += row.calls / reports.length;
      cell.ms += row.ms / reports.length;
      rows.set(key, cell);
    }
    for (const range of r.ranges) {
      const cell = ranges.get(range.name) ?? { name: range.name, calls: 0, ms: 0 };
      cell.calls += range.calls / reports.length;
      cell.ms += range.ms / reports.length;
      ranges.set(range.name, cell);
    }
  }
  const totalMs = reports.reduce((s, r) => s + r.totalMs, 0) / reports.length;
  return { totalMs, rows: [...rows.values()], ranges: [...ranges.values()], gcMs: gcMs / reports.length };
}

async function profileDinots(): Promise<SideProfile> {
  setNumThreads(threads);
  const step = dinoStep();
  for (let i = 0; i < WARMUP_STEPS; i++) step();
  let gcMs = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMs += entry.duration;
  });
  const reports: ProfileReport[] = [];
  for (let i = 0; i < steps; i++) {
    // a minor collection, as the suite's harness runs before each sample (harness.ts says why not a full one)
    (globalThis as { gc?: (options: { type: 'minor' }) => void }).gc?.({ type: 'minor' });
    await new Promise((resolve) => setImmediate(resolve));
    observer.observe({ entryTypes: ['gc'] });
    reports.push(profile(step).report);
    await new Promise((resolve) => setImmediate(resolve)); // gc entries arrive asynchronously
    observer.disconnect();
  }
  return mean(reports, gcMs);
}

const started = new Date();
const dinots = await profileDinots();
console.error(`dinots, ${threads} threads: ${dinots.totalMs.toFixed(0)} ms a profiled step`);
const info = detectPyTorch();
let pytorch: SideProfile | null = null;
if (info.available) {
  pytorch = (await pytorchProfile(info, { case: 'dino-train', params: { ...DINO } }, torchThreads, steps)) as SideProfile;
  console.error(`PyTorch ${info.version}, ${torchThreads} thread(s): ${pytorch.totalMs.toFixed(0)} ms a profiled step`);
} else {
  console.error(`PyTorch: not profiled (${info.reason})`);
}

const record: ProfileRecord = { date: started.toISOString(), machine: machine(), threads, torchThreads, steps, warmupSteps: WARMUP_STEPS, pytorchInfo: info, dinots, pytorch };
const { profileTable } = await import('./profile-table.js');
const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'results');
mkdirSync(dir, { recursive: true });
const file = path.join(dir, `profile-${started.toISOString().replaceAll(':', '-').slice(0, 19)}.json`);
writeFileSync(file, JSON.stringify(record, null, 2) + '\n');
console.log(profileTable(record, `results/${path.basename(file)}`));
console.error(`\nwrote ${path.relative(process.cwd(), file)}`);
process.exit(0);
