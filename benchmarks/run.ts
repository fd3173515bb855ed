// The benchmark runner: `npm run bench` (a few minutes) or `npm run bench -- --full`.
//
// Options: --full (more sizes and samples), --threads N (dinots' largest thread count;
// default: the number of cores; dinots also runs on 1 thread), --only REGEX (cases whose
// name matches). Prints a markdown table and writes JSON to benchmarks/results/.

import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Case, type Measurement, measureCase } from './harness.js';
import { kernelCases } from './kernels.js';
import { machine, markdownTable } from './report.js';
import { vitCases } from './vit.js';

const args = process.argv.slice(2);
const option = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const full = args.includes('--full');
const maxThreads = Number(option('--threads') ?? os.availableParallelism());
const only = new RegExp(option('--only') ?? '.', 'i');
const variants = { threads: maxThreads > 1 ? [maxThreads, 1] : [1] };
const budget = full ? { timeMs: 3000, maxSamples: 50 } : { timeMs: 800, maxSamples: 15 };

const cases: Case[] = [...kernelCases(variants, full), ...vitCases(variants)].filter((c) => only.test(c.name));
const results: Measurement[] = [];
const started = new Date();
const loadAtStart = os.loadavg();
for (const c of cases) {
  const rows = await measureCase(c, budget);
  results.push(...rows);
  console.error(`${c.name}: ${rows.map((r) => `${r.implementation} ${r.medianMs.toFixed(1)} ms`).join(', ')}`);
}

const table = markdownTable(results);
console.log(`\n## dinots CPU benchmarks, ${started.toISOString()}\n`);
const m = machine();
console.log(`${m.cpu}, ${m.cores} cores, Node ${m.node}, load average ${loadAtStart[0].toFixed(1)} at the start and ${m.loadAverage[0].toFixed(1)} at the end; dinots threads: ${variants.threads.join(' and ')}; ${full ? 'full' : 'quick'} mode\n`);
console.log(table);

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'results');
mkdirSync(dir, { recursive: true });
const file = path.join(dir, `${started.toISOString().replaceAll(':', '-').slice(0, 19)}${full ? '-full' : ''}.json`);
writeFileSync(file, JSON.stringify({
  date: started.toISOString(),
  mode: full ? 'full' : 'quick',
  machine: { ...m, loadAverageAtStart: loadAtStart },
  threads: variants.threads,
  gcBetweenSamples: typeof (globalThis as { gc?: unknown }).gc === 'function',
  modes: { dinots: 'CPU, WebAssembly SIMD128 GEMM + worker_threads', tfjsWasm: 'SIMD, 1 thread', tfjsCpu: 'plain JavaScript' },
  results,
}, null, 2) + '\n');
console.error(`\nwrote ${path.relative(process.cwd(), file)}`);
