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
import type { Budget, ExternalRun, Implementation } from './harness.js';

export interface PyTorchInfo {
  readonly available: boolean;
  readonly python: string;
  /** torch.__version__, where torch imports. */
  readonly version?: string;
  /** Why there are no PyTorch rows. */
  readonly reason?: string;
}

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'pytorch', 'peer.py');

/** Whether torch imports in `python3` (or $DINOTS_BENCH_PYTHON), and its version. */
export function detectPyTorch(): PyTorchInfo {
  const python = process.env.DINOTS_BENCH_PYTHON ?? 'python3';
  const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 120_000 });
  if (r.error !== undefined) return { available: false, python, reason: `${python} did not run (${r.error.message})` };
  if (r.status !== 0) {
    const last = r.stderr.trim().split('\n').at(-1) ?? `exit status ${r.status}`;
    return { available: false, python, reason: `${python} -c 'import torch' failed: ${last}` };
  }
  return { available: true, python, version: r.stdout.trim() };
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
  readonly params: Record<string, unknown>;
  readonly tensors?: () => readonly PeerTensor[];
}

function runPeer(info: PyTorchInfo, job: PeerJob, threads: number, budget: Budget): Promise<ExternalRun> {
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
  writeFileSync(path.join(dir, 'job.json'), JSON.stringify({ case: job.case, params: job.params, threads, timeMs: budget.timeMs, maxSamples: budget.maxSamples, tensors: specs }));
  return new Promise((resolve, reject) => {
    execFile(info.python, [SCRIPT, dir], { timeout: 30 * 60_000, maxBuffer: 16 * 2 ** 20 }, (error, _stdout, stderr) => {
      try {
        if (error !== null) throw new Error(`peer.py ${job.case} failed: ${error.message}\n${stderr}`);
        const report = JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8')) as { latenciesMs: number[]; rssAtStartMiB: number; peakRssMiB: number; result: boolean };
        const result = report.result ? new Float32Array(new Uint8Array(readFileSync(path.join(dir, 'result.bin'))).buffer) : null;
        resolve({ latenciesMs: report.latenciesMs, result, rssAtStartMiB: report.rssAtStartMiB, peakRssMiB: report.peakRssMiB });
      } catch (e) {
        reject(e as Error);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

/** PyTorch rows for `job`, one per thread count; none where torch is not installed. */
export function pytorch(info: PyTorchInfo | undefined, threads: readonly number[], job: PeerJob): Implementation[] {
  if (info?.available !== true) return [];
  return threads.map((t) => ({
    name: `PyTorch ${info.version}, ${t} thread${t === 1 ? '' : 's'}${job.case === 'dino-train' ? ' (timing only)' : ''}`,
    run: (budget: Budget) => runPeer(info, job, t, budget),
  }));
}
