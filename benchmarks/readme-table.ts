// The benchmark tables of the READMEs, generated from a results file of `npm run bench`.
//
//   npm run bench:readme              writes the tables of the newest files in results/ into the READMEs
//                                     (the suite's, and profile.ts's profile-*.json)
//   npm run bench:readme -- FILE      the same from FILE (a suite or a profile file) for its kind
//   node benchmarks/dist/readme-table.js --check
//                                     exits 1 when a README's table is not what its results file gives
//
// Each table sits between `<!-- NAME:start results/<file>.json -->` and `<!-- NAME:end -->`;
// the start marker names the results file, so the check (test/readme.test.ts runs it)
// regenerates the table from the same numbers. README.md (`bench-table`) gets one row per
// CPU case that a reader compares across libraries and one column per implementation:
// medians, GFLOPS or images/s for dinots, and for each peer its time over dinots' on the
// most threads. benchmarks/README.md (`bench-results`) gets every row of the run and the
// memory table, as the run prints them. The line under each gives the date, the machine and
// the peers' versions: recorded in the results file since run.ts writes them, else read
// from package-lock.json.

import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Measurement } from './harness.js';
import { profileTable } from './profile-table.js';
import { markdownTable, memoryTable } from './report.js';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const resultsDir = path.join(root, 'benchmarks', 'results');

/** What the README needs of a results file (see run.ts for everything it holds). */
export interface ResultsRecord {
  readonly date: string;
  readonly mode: string;
  readonly machine: { readonly cpu: string; readonly cores: number; readonly memoryGiB: number; readonly node: string };
  readonly threads: readonly number[];
  readonly versions?: Readonly<Record<string, string>>;
  readonly modes: { readonly pytorch: { readonly available: boolean; readonly version?: string }; readonly gpu?: string | { readonly line?: string } };
  readonly results: readonly Measurement[];
}

/** The peers whose versions the line under the table names, by npm package. */
export const PEER_PACKAGES = ['@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-backend-cpu'] as const;


const ms = (x: number) => (x >= 1000 ? `${(x / 1000).toPrecision(3)} s` : `${x >= 100 ? x.toFixed(0) : x.toPrecision(3)} ms`);
const rate = (x: number) => x.toPrecision(3);
const ratio = (x: number) => `${x >= 10 ? x.toFixed(0) : x.toFixed(1)}x`;

/** Cases the README shows: the CPU comparisons at the sizes a ViT or DINO step runs. */
function shown(m: Measurement): boolean {
  return ['SGEMM', 'activations', 'ViT', 'DINO'].includes(m.family) && !/^(128|256|512)\^3$/.test(m.case);
}

/** "ViT forward (depth 6, ...)" -> ["ViT forward", "depth 6, ..."]. */
function splitCase(m: Measurement): [string, string | null] {
  const found = /^(.*?) \((.*)\)$/.exec(m.case);
  const [name, detail] = found === null ? [m.case, null] : [found[1], found[2]];
  return [m.family === 'SGEMM' ? `SGEMM ${name}` : name, detail];
}

/** The versions of the peers: from the results file when it has them, else from package-lock.json. */
function peerVersions(record: ResultsRecord): Record<string, string> {
  if (record.versions !== undefined) return { ...record.versions };
  const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> };
  return Object.fromEntries(PEER_PACKAGES.map((p) => [p, lock.packages[`node_modules/${p}`]?.version ?? 'unknown']));
}

/** The README's table, its notes and the line under it, for `record` read from `file` (relative to benchmarks/). */
export function readmeTable(record: ResultsRecord, file: string): string {
  const rows = record.results.filter(shown);
  const cases = [...new Set(rows.map((r) => r.case))];
  // columns: dinots on each thread count and the peers, in the order they ran
  const column = (impl: string) => impl.replace(/ \(timing only\)$/, '');
  const implementations = [...new Set(rows.map((r) => column(r.implementation)))].filter((impl) => /^(dinots \d|tfjs|PyTorch)/.test(impl));
  const header = ['case', ...implementations];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  const details = new Map<string, string>();
  for (const c of cases) {
    const here = rows.filter((r) => r.case === c);
    const lead = here[0];
    const [name, detail] = splitCase(lead);
    if (detail !== null) details.set(name, detail);
    const cells = implementations.map((impl) => {
      const r = here.find((m) => column(m.implementation) === impl);
      if (r === undefined) return '';
      const extra = r.imagesPerSecond !== null ? `, ${rate(r.imagesPerSecond)} images/s` : r.gflops !== null && r.family === 'SGEMM' ? `, ${rate(r.gflops)} GFLOPS` : '';
      return impl.startsWith('dinots') ? `${ms(r.medianMs)}${extra}` : `${ms(r.medianMs)} (${ratio(r.medianMs / lead.medianMs)})`;
    });
    lines.push(`| ${name} | ${cells.join(' | ')} |`);
  }
  // cases that share their details (a ViT's forward and train step) are named together
  const byDetail = new Map<string, string[]>();
  for (const [name, detail] of details) byDetail.set(detail, [...(byDetail.get(detail) ?? []), name]);
  const notes = [...byDetail].map(([detail, names]) => `${names.join(' and ')}: ${detail}`).join('; ');
  return [
    ...lines,
    '',
    `${notes}. Medians; (Nx): that library's time over dinots' on ${record.threads[0]} threads.`,
    '',
    runLine(record, `[${file}](benchmarks/${file})`),
  ].join('\n');
}

/** The date, machine and peers' versions of a run, and a link to its file. */
function runLine(record: ResultsRecord, link: string): string {
  const m = record.machine;
  const versions = peerVersions(record);
  const pytorch = record.modes.pytorch.available ? `PyTorch ${record.modes.pytorch.version}` : 'PyTorch not installed';
  const when = record.date.slice(0, 10);
  return `\`npm run bench\` (${record.mode}), ${when}, ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}; ` +
    `${PEER_PACKAGES.map((p) => `${p} ${versions[p]}`).join(', ')}; ${pytorch} (${link}).`;
}

/** benchmarks/README.md's tables: every row of the run, then the memory of the ViT and DINO steps. */
export function fullTables(record: ResultsRecord, file: string): string {
  const gpu = record.modes.gpu;
  const gpuLine = gpu === undefined || typeof gpu === 'string' ? '' : `\n\n${gpu.line ?? ''}`;
  return [
    `${runLine(record, `[${file}](${file})`)}${gpuLine}`,
    '',
    markdownTable(record.results),
    '',
    'Memory (allocated: dinots tensor memory per step; RSS: the process, reset before each row where the OS allows):',
    '',
    memoryTable(record.results, ['ViT', 'DINO']),
  ].join('\n');
}

/** The newest results file of the CPU suite (or, with `prefix` 'profile-', of profile.ts), relative to benchmarks/. */
export function newestResults(prefix = ''): string {
  const files = readdirSync(resultsDir).filter((f) => new RegExp(`^${prefix}\\d{4}-\\d\\d-\\d\\dT[\\d-]+(-full)?\\.json$`).test(f)).sort();
  if (files.length === 0) throw new Error(`no ${prefix}results in ${resultsDir}`);
  return `results/${files[files.length - 1]}`;
}

function load<R>(file: string): R {
  return JSON.parse(readFileSync(path.join(root, 'benchmarks', file), 'utf8')) as R;
}

/** The generated blocks: which file holds each, its marker name, how to render it, and which results file is newest for it. */
const TARGETS = [
  { readme: path.join(root, 'README.md'), name: 'bench-table', render: readmeTable, newest: () => newestResults() },
  { readme: path.join(root, 'benchmarks', 'README.md'), name: 'bench-results', render: fullTables, newest: () => newestResults() },
  { readme: path.join(root, 'benchmarks', 'README.md'), name: 'profile-table', render: profileTable, newest: () => newestResults('profile-') },
] as const;

/** `readme` with the block `name` regenerated from `file` (default: the file its start marker names). */
export function withTable<R>(readme: string, name: string, render: (record: R, file: string) => string, file?: string): string {
  const start = new RegExp(`<!-- ${name}:start (\\S+) -->\n`).exec(readme);
  const endMarker = `<!-- ${name}:end -->`;
  const end = readme.indexOf(endMarker);
  if (start === null || end < start.index) throw new Error(`no '<!-- ${name}:start results/<file>.json -->' ... '${endMarker}' block`);
  const source = file ?? start[1];
  return `${readme.slice(0, start.index)}<!-- ${name}:start ${source} -->\n${render(load<R>(source), source)}\n${readme.slice(end)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const check = args.includes('--check');
  const given = args.find((a) => !a.startsWith('--'));
  for (const { readme, name, render, newest } of TARGETS) {
    // a file given on the command line regenerates the blocks of its kind (suite or profile)
    const givenHere = given !== undefined && path.basename(given).startsWith('profile-') === (name === 'profile-table') ? path.relative(path.join(root, 'benchmarks'), path.resolve(given)) : undefined;
    const file = givenHere ?? newest();
    const text = readFileSync(readme, 'utf8');
    const updated = withTable(text, name, render as (record: never, file: string) => string, check ? undefined : file);
    if (!check) writeFileSync(readme, updated);
    else if (updated !== text) {
      console.error(`${path.relative(root, readme)}: the ${name} block differs from what its results file gives; run \`npm run bench:readme -- <file>\``);
      process.exitCode = 1;
    }
  }
}
