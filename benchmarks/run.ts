// The benchmark runner: `npm run bench` (the quick suite) or `npm run bench -- --full`.
//
// Options: --full (more sizes and samples), --threads N (dinots' largest thread count;
// default: the number of cores; dinots also runs on 1 thread), --only REGEX (cases whose
// family and name match, e.g. --only GPU or --only 'SGEMM 1024'), --skip REGEX
// (implementations whose name matches sit out, e.g. --skip tfjs-cpu; a case's first row,
// its reference, always runs). Prints the markdown
// tables and writes JSON to benchmarks/results/.
//
// Peers that may be missing say so in one line and in the JSON: the GPU cases run only
// when the GPU backend's mode is live on a GPU or a GL rasteriser (the npm scripts start
// Xvfb when there is no display), and PyTorch rows appear only where torch imports.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dinoCases } from './dino.js';
import { gpuCases, gpuStatus } from './gpu.js';
import { type Case, type Measurement, measureCase } from './harness.js';
import { type Variants, kernelCases } from './kernels.js';
import { tfjsFlags } from './peers.js';
import { detectPyTorch, pytorchGemmWarning } from './pytorch.js';
import { PEER_PACKAGES } from './readme-table.js';
import { machine, markdownTable, memoryTable } from './report.js';
import { vitCases } from './vit.js';

const args = process.argv.slice(2);
const option = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const full = args.includes('--full');
const maxThreads = Number(option('--threads') ?? os.availableParallelism());
const only = new RegExp(option('--only') ?? '.', 'i');
const skip = option('--skip') === undefined ? null : new RegExp(option('--skip')!, 'i');
const threads = maxThreads > 1 ? [maxThreads, 1] : [1];
const budget = full ? { timeMs: 3000, maxSamples: 50 } : { timeMs: 800, maxSamples: 15 };

const pytorch = detectPyTorch();
console.error(pytorch.available ? `PyTorch ${pytorch.version} (${pytorch.python}, BLAS ${pytorch.blas}): peer rows on ${threads.join(' and ')} threads` : `PyTorch: no rows (${pytorch.reason})`);
const variants: Variants = { threads, pytorch };

let cases: Case[] = [...kernelCases(variants, full), ...vitCases(variants), ...dinoCases(variants), ...gpuCases(variants, full)]
  .filter((c) => only.test(`${c.family} ${c.name}`))
  .map((c) => (skip === null ? c : { ...c, implementations: c.implementations.filter((impl, i) => i === 0 || !skip.test(impl.name)) }));
// The GPU backend starts (and opens a GL context) only when a GPU case is selected.
const gpu = cases.some((c) => c.family === 'GPU') ? await gpuStatus() : null;
if (gpu !== null) console.error(gpu.line);
if (gpu?.live === false) cases = cases.filter((c) => c.family !== 'GPU');

const results: Measurement[] = [];
const started = new Date();
const loadAtStart = os.loadavg();
for (const c of cases) {
  const rows = await measureCase(c, budget);
  results.push(...rows);
  console.error(`${c.name}: ${rows.map((r) => `${r.implementation} ${r.medianMs.toFixed(1)} ms`).join(', ')}`);
}

const m = machine();
console.log(`\n## dinots benchmarks, ${started.toISOString()}\n`);
console.log(`${m.cpu}, ${m.cores} cores, Node ${m.node}, load average ${loadAtStart[0].toFixed(1)} at the start and ${m.loadAverage[0].toFixed(1)} at the end; dinots threads: ${threads.join(' and ')}; ${full ? 'full' : 'quick'} mode\n`);
if (gpu !== null) console.log(`${gpu.line}\n`);
console.log(`${pytorch.available ? `PyTorch ${pytorch.version} (BLAS ${pytorch.blas}) on ${threads.join(' and ')} threads` : `PyTorch: not run (${pytorch.reason})`}\n`);
console.log(results.length > 0 ? markdownTable(results) : 'No case ran.');
const memoryFamilies = ['ViT', 'DINO'];
if (results.some((r) => memoryFamilies.includes(r.family))) {
  console.log('\nMemory (allocated: dinots tensor memory per step; RSS: the process, reset before each row where the OS allows):\n');
  console.log(memoryTable(results, memoryFamilies));
}

const warnings = [pytorchGemmWarning(pytorch, results), tfjsFlags.wasm !== undefined && tfjsFlags.wasm.WASM_HAS_SIMD_SUPPORT !== true ? 'warning: tfjs-backend-wasm ran without SIMD' : null]
  .filter((w): w is string => w !== null);
for (const w of warnings) console.log(`\n${w}`);

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = path.join(here, '..', 'results');
const versionOf = (pkg: string) => (JSON.parse(readFileSync(path.join(here, '..', '..', 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
mkdirSync(dir, { recursive: true });
const file = path.join(dir, `${started.toISOString().replaceAll(':', '-').slice(0, 19)}${full ? '-full' : ''}.json`);
writeFileSync(file, JSON.stringify({
  date: started.toISOString(),
  mode: full ? 'full' : 'quick',
  args,
  machine: { ...m, loadAverageAtStart: loadAtStart },
  threads,
  versions: Object.fromEntries(PEER_PACKAGES.map((p) => [p, versionOf(p)])),
  gcBetweenSamples: typeof (globalThis as { gc?: unknown }).gc === 'function',
  modes: {
    dinots: 'CPU, WebAssembly SIMD128 GEMM + worker_threads',
    tfjsWasm: 'SIMD, 1 thread',
    tfjsCpu: 'plain JavaScript',
    tfjsFlags,
    gpu: gpu === null ? 'not selected' : { live: gpu.live, line: gpu.line, mode: gpu.info?.mode, isGpu: gpu.info?.isGpu, renderer: gpu.info?.renderer, probes: gpu.info?.probes },
    pytorch,
  },
  warnings,
  results,
}, null, 2) + '\n');
console.error(`\nwrote ${path.relative(process.cwd(), file)}`);
// Exit explicitly: in the GPU backend's WebGPU mode, Dawn keeps Node's event loop alive.
process.exit(0);
