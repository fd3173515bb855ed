// trainDino on the GPU backend: the same tiny run on 'cpu' and on 'gpu' (headless-gl, the
// real GLSL kernels) follows the same loss trajectory within float32 tolerance, GPU memory
// stays flat across iterations, and checkpoints move between the devices.
// Without headless-gl the suite is skipped with the reason, except in CI (CI=true), where
// it fails: there a missing WebGL backend means the GPU path went untested.

import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Backend, GpuBackend, GpuContext, getBackend, memory, registerBackend } from '@dinots/tensor';
import { type TrainDinoConfig, type TrainDinoResult, loadCheckpointNetworks, trainDino } from '../src/index.js';
import { spreadDigits, tinyMnistRun } from './tiny-mnist-run.js';

const subset = spreadDigits(16);

function config(overrides: Partial<TrainDinoConfig> = {}): TrainDinoConfig {
  return tinyMnistRun(subset, 32, {
    batchSize: 4,
    warmupEpochs: 0,
    // The last layer trains from the first iteration, so every AdamW moment exists after it.
    freezeLastLayer: 0,
    maxIterations: 3,
    seed: 3,
    ...overrides,
  });
}

/** GPU storages allocated and not explicitly freed (see memory()). */
function held(): number {
  const m = memory();
  return m.allocated - m.disposed;
}

describe('trainDino on the GPU backend (headlessgl)', function () {
  let cpu: TrainDinoResult;
  let gpu: TrainDinoResult;
  const heldAfter: number[] = [];
  let dir: string;

  before(function () {
    let backend: GpuBackend;
    try {
      backend = new GpuBackend(new GpuContext({ mode: 'headlessgl' }));
    } catch (e) {
      const reason = (e as Error).message;
      if (process.env.CI === 'true') throw new Error(`trainDino on the GPU: headlessgl is required in CI but cannot run: ${reason}`);
      console.log(`    [gpu] skipping trainDino on the GPU: ${reason}`);
      this.skip();
    }
    registerBackend('gpu', () => backend);
    dir = mkdtempSync(join(tmpdir(), 'dinots-train-gpu-'));
    cpu = trainDino(config());
    gpu = trainDino(config({ device: 'gpu', outputDir: dir, onIteration: () => heldAfter.push(held()) }));
  });
  after(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('trains on the GPU and follows the CPU loss trajectory within float32 tolerance', () => {
    expect([...gpu.student.parameters()].every((p) => p.device === 'gpu')).to.equal(true);
    expect(gpu.dinoLoss.center.device).to.equal('gpu');
    expect(gpu.history.map((m) => m.iteration)).to.deep.equal([0, 1, 2]);
    cpu.history.forEach((c, i) => {
      const g = gpu.history[i];
      expect(Math.abs(g.loss - c.loss), `iteration ${i}: loss ${g.loss} on the GPU, ${c.loss} on the CPU`).to.be.below(1e-3 * Math.abs(c.loss));
      expect(g.teacherEntropy, `iteration ${i}: teacher entropy`).to.be.closeTo(c.teacherEntropy, 1e-3 * c.logK);
      expect(g.entropyOfMean, `iteration ${i}: entropy of the mean`).to.be.closeTo(c.entropyOfMean, 1e-3 * c.logK);
    });
    // The trajectory moves: the comparison is not between three copies of the first loss.
    expect(new Set(cpu.history.map((m) => m.loss)).size).to.equal(3);
  });

  it('keeps GPU memory flat across iterations', () => {
    expect(heldAfter, `live GPU storages after each iteration: ${heldAfter.join(', ')}`).to.have.length(3);
    expect(new Set(heldAfter).size, `live GPU storages after each iteration: ${heldAfter.join(', ')}`).to.equal(1);
  });

  it('writes a checkpoint of CPU copies that loads on the CPU and matches the GPU teacher', () => {
    const { teacher, meta } = loadCheckpointNetworks(gpu.checkpointPath!);
    expect(meta.iteration).to.equal(3);
    const trained = gpu.teacher.stateDict();
    for (const [key, t] of Object.entries(teacher.stateDict())) {
      expect(t.device, key).to.equal('cpu');
      expect([...t.dataSync()], key).to.deep.equal([...trained[key].dataSync()]);
    }
  });

  it('resumes a CPU checkpoint on the GPU: the loss after the resume matches the straight CPU run', () => {
    const cpuDir = mkdtempSync(join(tmpdir(), 'dinots-train-gpu-'));
    try {
      trainDino(config({ outputDir: cpuDir, maxIterations: 2 }));
      const resumed = trainDino(config({ outputDir: cpuDir, resume: true, device: 'gpu' }));
      expect(resumed.history.map((m) => m.iteration)).to.deep.equal([2]);
      expect(resumed.history[0].loss).to.be.closeTo(cpu.history[2].loss, 1e-3 * Math.abs(cpu.history[2].loss));
    } finally {
      rmSync(cpuDir, { recursive: true, force: true });
    }
  });
});

describe('trainDino on the GPU backend in webgpu mode', () => {
  it('is refused up front with the reason and the way out (webgpu reads back asynchronously only)', () => {
    const saved = getBackend('gpu');
    // a backend that reports webgpu mode: the check must come before any GPU work
    registerBackend('gpu', () => ({ info: { mode: 'webgpu' } }) as unknown as Backend);
    try {
      expect(() => trainDino(config({ device: 'gpu' }))).to.throw(/trainDino: .*webgpu mode.*DINOTS_GPU_MODE=headlessgl/);
    } finally {
      registerBackend('gpu', () => saved);
    }
  });
});
