import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { full } from '@dinots/tensor';
import { type Dataset, type LabeledImage, MNIST_MEAN, MNIST_STD, type TrainDinoConfig, compareKnn, loadImages, trainDino } from '../src/index.js';
import { mnist, spreadDigits, tinyMnistRun } from './tiny-mnist-run.js';

const subset = spreadDigits(24);

function config(overrides: Partial<TrainDinoConfig> = {}): TrainDinoConfig {
  return tinyMnistRun(subset, 16, { epochs: 2, warmupEpochs: 1, seed: 5, ...overrides });
}

describe('trainDino', () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'dinots-train-'));
    dirs.push(d);
    return d;
  };
  after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

  it('resumes bit-identically: N iterations straight == k, resume from the checkpoint, N - k more (inside and at the end of an epoch)', () => {
    const straight = trainDino(config({ outputDir: tmp() }));
    expect(straight.iteration).to.equal(6);
    // 3 iterations per epoch: k = 2 stops inside epoch 0, k = 3 at its end. The shuffle
    // permutation, augmentation and drop-path generators, AdamW moments and the center carry over.
    for (const k of [2, 3]) {
      const dir = tmp();
      expect(trainDino(config({ outputDir: dir, maxIterations: k })).iteration).to.equal(k);
      const meta = JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8'));
      expect(meta).to.include({ format: 'dinots-dino-checkpoint', iteration: k, epoch: Math.floor(k / 3), step: k % 3 });
      const resumed = trainDino(config({ outputDir: dir, resume: true }));
      expect(resumed.iteration).to.equal(6);
      expect(resumed.history.map((m) => m.iteration)).to.deep.equal([2, 3, 4, 5].filter((i) => i >= k));
      expect(resumed.history.map((m) => m.loss)).to.deep.equal(straight.history.slice(k).map((m) => m.loss));
      for (const net of ['student', 'teacher'] as const) {
        const a = straight[net].stateDict();
        const b = resumed[net].stateDict();
        for (const key of Object.keys(a)) expect([...b[key].dataSync()], `k ${k}: ${net} ${key}`).to.deep.equal([...a[key].dataSync()]);
      }
      expect([...resumed.dinoLoss.center.dataSync()]).to.deep.equal([...straight.dinoLoss.center.dataSync()]);
      // One JSON line per iteration across both runs.
      expect(readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n')).to.have.length(6);
    }
  });

  it('with a BatchNorm head, resumes bit-identically (the running statistics are in the checkpoint)', () => {
    const bn = (o: Partial<TrainDinoConfig>) => config({ ...o, model: { ...config().model, headUseBn: true }, epochs: 1 });
    const straight = trainDino(bn({ outputDir: tmp() }));
    const dir = tmp();
    trainDino(bn({ outputDir: dir, maxIterations: 2 }));
    const resumed = trainDino(bn({ outputDir: dir, resume: true }));
    expect(resumed.history.map((m) => m.loss)).to.deep.equal(straight.history.slice(2).map((m) => m.loss));
    const a = straight.teacher.stateDict();
    const b = resumed.teacher.stateDict();
    expect(Object.keys(a)).to.include('head.mlp.1.running_mean');
    for (const key of Object.keys(a)) expect([...b[key].dataSync()], key).to.deep.equal([...a[key].dataSync()]);
  });

  it('logs a weighted k-NN of the teacher and the student every `evaluation.every` iterations and after the last', () => {
    const bank = loadImages(mnist, Array.from({ length: 40 }, (_, i) => 100 + i));
    const held = loadImages(mnist, Array.from({ length: 20 }, (_, i) => 200 + i));
    const dir = tmp();
    const run = trainDino(config({ outputDir: dir, evaluation: { train: bank, test: held, mean: MNIST_MEAN, std: MNIST_STD, every: 4, k: 5 } }));
    expect(run.history.filter((m) => m.knn !== undefined).map((m) => m.iteration)).to.deep.equal([3, 5]);
    const logged = readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { knn?: unknown });
    expect(logged.filter((l) => l.knn !== undefined)).to.have.length(2);
    const rows = compareKnn([{ name: 'teacher', backbone: run.teacher.backbone }, { name: 'student', backbone: run.student.backbone }], bank, held, { mean: MNIST_MEAN, std: MNIST_STD }, { k: 5 });
    expect(run.history[5].knn).to.deep.equal({ teacher: rows[0].result.top1, student: rows[1].result.top1 });
  });

  it('refuses to resume a checkpoint written with another config', () => {
    const dir = tmp();
    trainDino(config({ outputDir: dir, maxIterations: 1 }));
    expect(() => trainDino(config({ outputDir: dir, resume: true, lr: 0.01 }))).to.throw(/cannot resume .*different config/);
  });

  it('detects a torn checkpoint (tensors and sidecar from different iterations)', () => {
    const dir = tmp();
    trainDino(config({ outputDir: dir, maxIterations: 1 }));
    const path = join(dir, 'checkpoint.json');
    const meta = JSON.parse(readFileSync(path, 'utf8'));
    writeFileSync(path, JSON.stringify({ ...meta, iteration: 2 }));
    expect(() => trainDino(config({ outputDir: dir, resume: true }))).to.throw(/holds iteration 1 but .*checkpoint\.json says 2 \(a torn checkpoint\)/);
  });

  it('follows the schedules: lr warm-up from 0, weight decay rising from 0.04, momentum rising from 0.996', () => {
    const { history } = trainDino(config({ maxIterations: 4 }));
    expect(history[0].lr).to.equal(0);
    expect(history[2].lr).to.be.closeTo((0.05 * 8) / 256, 1e-15);
    expect(history[0].weightDecay).to.be.closeTo(0.04, 1e-15);
    expect(history[0].momentum).to.be.closeTo(0.996, 1e-15);
    expect(history[3].weightDecay).to.be.above(0.04);
  });

  it('stops with a clear message on a non-finite loss', () => {
    const broken: Dataset<LabeledImage> = { length: 8, get: (i) => ({ image: full([1, 28, 28], i === 3 ? NaN : 0.5), label: 0 }) };
    expect(() => trainDino(config({ dataset: broken, outputDir: undefined }))).to.throw(/trainDino: iteration 0 \(epoch 0, step 0\): dinoIteration: the loss is NaN/);
  });

  it('writes the checkpoint atomically next to its sidecar (no temporary files left)', () => {
    const dir = tmp();
    trainDino(config({ outputDir: dir, maxIterations: 3 }));
    expect(existsSync(join(dir, 'checkpoint.safetensors'))).to.equal(true);
    expect(readdirSync(dir).sort()).to.deep.equal(['checkpoint.json', 'checkpoint.safetensors', 'log.jsonl']);
  });
});
