// PyTorch as a peer, where `python3 -c 'import torch'` works (DINOTS_BENCH_PYTHON names
// another interpreter). Each case runs in its own Python process (pytorch/peer.py) with
// torch.set_num_threads set to each of dinots' thread counts: this side writes the case's
// inputs (the same arrays the other implementations get) to a temporary folder, the script
// times the step under the harness's sampling rules and writes back its latencies, its
// RSS and its first result, which is checked against dinots like every other peer's. The
// DINO step is the exception: PyTorch builds it from its own random weights, so its row is
// timing only.

import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Budget, type ExternalRun, type Implementation, type Measurement, WARMUP_MS, WARMUP_STEPS } from './harness.js';

export interface PyTorchInfo {
  readonly available: boolean;
  readonly python: string;
  /** torch.__version__, where torch imports. */
  readonly version?: string;
  /** The BLAS library torch loaded (from /proc/self/maps): OpenBLAS and MKL run GEMMs 20-30x faster than the reference libblas. */
  readonly blas?: string;
  /** torch.get_num_threads() before the suite sets it. */
  readonly defaultThreads?: number;
  /** Why there are no PyTorch rows. */
  readonly reason?: string;
}

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'pytorch', 'peer.py');

/** Whether torch imports in `python3` (or $DINOTS_BENCH_PYTHON): its version, BLAS and default thread count. */
export function detectPyTorch(): PyTorchInfo {
  const python = process.env.DINOTS_BENCH_PYTHON ?? 'python3';
  const r = spawnSync(python, [SCRIPT, '--info'], { encoding: 'utf8', timeout: 120_000 });
  if (r.error !== undefined) return { available: false, python, reason: `${python} did not run (${r.error.message})` };
  if (r.status !== 0) {
    const last = r.stderr.trim().split('\n').at(-1) ?? `exit status ${r.status}`;
    return { available: false, python, reason: `${python} peer.py --info failed: ${last}` };
  }
  const info = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { torch: string; blas: string; defaultThreads: number };
  return { available: true, python, version: info.torch, blas: info.blas, defaultThreads: info.defaultThreads };
}

/**
 * A warning when PyTorch's SGEMM is far below what its BLAS does on any recent x86 core:
 * OpenBLAS and MKL pass 50 GFLOPS per AVX2 core at 1024^3; the reference BLAS (Debian's
 * libblas3 without libopenblas0-pthread) runs at about 6, which makes PyTorch look slow.
 */
export function pytorchGemmWarning(info: PyTorchInfo, results: readonly Measurement[]): string | null {
  if (!info.available) return null;
  const rows = results.filter((r) => r.family === 'SGEMM' && r.case === '1024^3' && r.implementation.startsWith('PyTorch') && r.gflops !== null);
  const best = Math.max(...rows.map((r) => r.gflops!));
  if (rows.length === 0 || best >= 25) return null;
  return `warning: PyTorch's SGEMM 1024^3 ran at ${best.toPrecision(3)} GFLOPS with ${info.blas}; an optimised BLAS (apt-get install libopenblas0-pthread) runs 10-30x faster, so its rows understate PyTorch`;
}

/** An input array and its name in the script. */
export interface PeerTensor {
  readonly name: string;
  readonly data: Float32Array | Int32Array;
  readonly shape: readonly number[];
}

/** What peer.py runs: its case name, the parameters it reads, and the inputs (built when the row runs). */
export interface PeerJob {
  readonly case: 'sgemm' | 'vit-forward' | 'vit-train' | 'dino-train';
  /** Set by benchmarks/profile.ts: profile this many steps instead of timing the case. */
  readonly profileSteps?: number;
  readonly params: Record<string, unknown>;
  readonly tensors?: () => readonly PeerTensor[];
}

/** Runs peer.py on `job` in a temporary folder and returns what `read` makes of the folder afterwards. */
function runScript<T>(info: PyTorchInfo, job: PeerJob, threads: number, budget: Budget, read: (dir: string) => T): Promise<T> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dinots-torch-'));
  const tensors = job.tensors?.() ?? [];
  let offset = 0;
  const specs = tensors.map((t) => {
    const spec = { name: t.name, dtype: t.data instanceof Int32Array ? 'int32' : 'float32', shape: t.shape, offset };
    offset += t.data.byteLength;
    return spec;
  });
  const bytes = new Uint8Array(offset);
  tensors.forEach((t, i) => bytes.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), specs[i].offset));
  writeFileSync(path.join(dir, 'inputs.bin'), bytes);
  writeFileSync(path.join(dir, 'job.json'), JSON.stringify({ case: job.case, params: job.params, profileSteps: job.profileSteps, threads, timeMs: budget.timeMs, maxSamples: budget.maxSamples, warmupMs: WARMUP_MS, warmupSteps: WARMUP_STEPS, tensors: specs }));
  return new Promise((resolve, reject) => {
    // torch.set_num_threads (peer.py) sets PyTorch's own threads; a BLAS with threads of its
    // own (OpenBLAS's pthread build) reads its count from the environment when it loads, and
    // would otherwise run every GEMM on all cores, also in the "1 thread" rows.
    const env = { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
    execFile(info.python, [SCRIPT, dir], { timeout: 30 * 60_000, maxBuffer: 16 * 2 ** 20, env }, (error, _stdout, stderr) => {
      try {
        if (error !== null) throw new Error(`peer.py ${job.case} failed: ${error.message}\n${stderr}`);
        resolve(read(dir));
      } catch (e) {
        reject(e as Error);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

function runPeer(info: PyTorchInfo, job: PeerJob, threads: number, budget: Budget): Promise<ExternalRun> {
  return runScript(info, job, threads, budget, (dir) => {
    const report = JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8')) as { latenciesMs: number[]; rssAtStartMiB: number; peakRssMiB: number; result: boolean };
    const result = report.result ? new Float32Array(new Uint8Array(readFileSync(path.join(dir, 'result.bin'))).buffer) : null;
    return { latenciesMs: report.latenciesMs, result, rssAtStartMiB: report.rssAtStartMiB, peakRssMiB: report.peakRssMiB };
  });
}

/** PyTorch's profile of `job` on `threads` threads: the mean per step of `steps` steps under torch.profiler (see peer.py). */
export function pytorchProfile(info: PyTorchInfo, job: PeerJob, threads: number, steps: number): Promise<unknown> {
  return runScript(info, { ...job, profileSteps: steps }, threads, { timeMs: 0, maxSamples: 0 }, (dir) => JSON.parse(readFileSync(path.join(dir, 'profile.json'), 'utf8')) as unknown);
}

/** PyTorch rows for `job`, one per thread count; none where torch is not installed. */
export function pytorch(info: PyTorchInfo | undefined, threads: readonly number[], job: PeerJob): Implementation[] {
  if (info?.available !== true) return [];
  return threads.map((t) => ({
    name: `PyTorch ${info.version}, ${t} thread${t === 1 ? '' : 's'}${job.case === 'dino-train' ? ' (timing only)' : ''}`,
    run: (budget: Budget) => runPeer(info, job, t, budget),
  }));
}
