// npm run demo: what DINO learns on the embedded MNIST digits, measured in this run.
//   1. The shipped checkpoint (checkpoints/dino-mnist.*, made by `npm run train:mnist`):
//      weighted k-NN (k 20, T 0.07, cosine on L2-normalised CLS features; eval_knn.py's
//      protocol) of its teacher and student on the 2,000 held-out digits, against the same
//      ViT at its random initialisation, raw pixels, and the same ViT trained with labels for
//      as many iterations (checkpoints/supervised-mnist.*, `npm run train:supervised-mnist`).
//   2. A live run of the same recipe for DINO_DEMO_MINUTES (default 3) minutes, to show the
//      loop: its loss, teacher entropy and k-NN, against random init and raw pixels.
// It says in words which baselines each model beat, and writes to DINO_DEMO_OUT (default
// dino-demo/): results.json (top-1 percent), attention/<i>.png (per test digit, each head's
// CLS attention over the image like the paper's Figure 1, and the 60 %-mass masks, for the
// DINO teacher, the supervised ViT and random init) and curves.png (loss, teacher entropy
// and k-NN over the shipped run and the live run).
//
// Training runs on the GPU backend only when it runs on a real GPU (gpu.js's cpu mode and
// software rasterisers are slower than the CPU backend); DINO_DEMO_DEVICE=cpu|gpu overrides.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Device, Generator, backendInfo } from '@dinots/tensor';
import { type VisionTransformer, loadSafetensors } from '@dinots/nn';
import {
  type ChartPanel, type IterationMetrics, type KnnComparison, type LabeledBatch, MNIST_MEAN, MNIST_STD, PALETTE, ViTClassifier, buildBackbone,
  buildDinoNetworks, compareKnn, loadCheckpointNetworks, loadImages, mnistRecipe, mnistSplit, trainDino, writeAttentionFigure, writeCharts,
} from '../src/index.js';

const ROOT = resolve(new URL('../../../../', import.meta.url).pathname);
const OUT = resolve(process.env.DINO_DEMO_OUT ?? 'dino-demo');
const MINUTES = Number(process.env.DINO_DEMO_MINUTES ?? 3);
const CHECKPOINT = join(ROOT, 'checkpoints/dino-mnist.safetensors');
const SUPERVISED = join(ROOT, 'checkpoints/supervised-mnist.safetensors');
const NORMALIZATION = { mean: MNIST_MEAN, std: MNIST_STD };
const SOFTWARE_RASTERISER = /llvmpipe|softpipe|swiftshader|swrast/i;

/** The device to train on, and why: DINO_DEMO_DEVICE, else 'gpu' only on a GPU known to be real. */
function chooseDevice(): { device: Device; why: string } {
  const asked = process.env.DINO_DEMO_DEVICE ?? '';
  if (asked === 'cpu' || asked === 'gpu') return { device: asked, why: `DINO_DEMO_DEVICE=${asked}` };
  if (asked !== '') throw new Error(`DINO_DEMO_DEVICE must be cpu or gpu, got '${asked}'`);
  const info = backendInfo();
  if (!info.isGpu) return { device: 'cpu', why: "the GPU backend would run in gpu.js's cpu mode" };
  const { mode, renderer } = info;
  if (mode === 'webgpu') return { device: 'cpu', why: 'trainDino reads its loss synchronously, which webgpu mode cannot; DINOTS_GPU_MODE=headlessgl DINO_DEMO_DEVICE=gpu trains through WebGL' };
  if (renderer !== null && SOFTWARE_RASTERISER.test(renderer)) return { device: 'cpu', why: `${mode} renders with ${renderer}, a software rasteriser, slower than the CPU backend` };
  if (renderer === null || renderer.trim() === 'ANGLE') return { device: 'cpu', why: `${mode} does not say which renderer it runs on, so it may be a software rasteriser; DINO_DEMO_DEVICE=gpu trains on it anyway` };
  return { device: 'gpu', why: `${mode} renders with ${renderer}` };
}

const top1 = (rows: KnnComparison[], name: string): number => rows.find((r) => r.name === name)!.result.top1;

function printKnn(title: string, rows: KnnComparison[]): void {
  console.log(`\n${title}`);
  for (const r of rows) console.log(`  ${r.name.padEnd(16)} top-1 ${r.result.top1.toFixed(2).padStart(6)} %   top-5 ${r.result.top5.toFixed(2).padStart(6)} %`);
}

/** One sentence per (model, baseline) pair saying whether the model beat it, and by how much. */
function sayWhoBeatWhom(rows: KnnComparison[], models: string[], baselines: string[]): void {
  for (const model of models) {
    for (const baseline of baselines) {
      const diff = top1(rows, model) - top1(rows, baseline);
      console.log(diff > 0
        ? `  ${model} beat ${baseline} by ${diff.toFixed(2)} points top-1.`
        : `  ${model} did NOT beat ${baseline} (${diff === 0 ? 'a tie' : `${(-diff).toFixed(2)} points behind`} top-1).`);
    }
  }
}

/** The supervised reference's backbone, when its checkpoint is there. */
function supervisedBackbone(model: Parameters<typeof buildBackbone>[0]): VisionTransformer | undefined {
  if (!existsSync(SUPERVISED)) return undefined;
  const classifier = new ViTClassifier(buildBackbone(model), 10);
  classifier.loadStateDict(loadSafetensors(readFileSync(SUPERVISED)));
  return classifier.backbone;
}

interface ShippedSummary {
  command: string;
  iterations: number;
  wallMinutes: number;
  knn: { iteration: number; teacher: number; student: number }[];
  curve: [number, number, number, number][];
}

function main(): void {
  const started = performance.now();
  const { train, test } = mnistSplit();
  const all = (n: number) => Array.from({ length: n }, (_, i) => i);
  const trainImages: LabeledBatch = loadImages(train, all(train.length));
  const testImages: LabeledBatch = loadImages(test, all(test.length));
  const recipe = mnistRecipe(1);
  const randomInit = buildDinoNetworks(recipe.model, new Generator(recipe.seed ?? 0)).teacher.backbone;
  const results: Record<string, Record<string, number>> = {};
  mkdirSync(OUT, { recursive: true });

  // 1. The shipped checkpoint.
  let shipped: { teacher: VisionTransformer; summary: ShippedSummary } | undefined;
  const supervised = supervisedBackbone(recipe.model);
  if (existsSync(CHECKPOINT)) {
    const { teacher, student, meta } = loadCheckpointNetworks(CHECKPOINT);
    const summary = (meta as unknown as { summary: ShippedSummary }).summary;
    shipped = { teacher: teacher.backbone, summary };
    const rows = compareKnn([
      { name: 'DINO teacher', backbone: teacher.backbone }, { name: 'DINO student', backbone: student.backbone }, { name: 'random init', backbone: randomInit },
      ...(supervised === undefined ? [] : [{ name: 'supervised', backbone: supervised }]),
    ], trainImages, testImages, NORMALIZATION, { k: 20, temperature: 0.07 });
    printKnn(`the shipped checkpoint (${summary.iterations} iterations, ${summary.wallMinutes} min; made by \`${summary.command}\`): weighted k-NN, ${train.length} train / ${test.length} held-out digits`, rows);
    sayWhoBeatWhom(rows, ['DINO teacher', 'DINO student'], ['random init', 'raw pixels', ...(supervised === undefined ? [] : ['supervised'])]);
    results.checkpoint = Object.fromEntries([['teacher', 'DINO teacher'], ['student', 'DINO student'], ['randomInit', 'random init'], ['rawPixels', 'raw pixels'], ['supervised', 'supervised']]
      .filter(([, name]) => rows.some((r) => r.name === name)).map(([key, name]) => [key, top1(rows, name)]));
  } else {
    console.log(`no shipped checkpoint at ${CHECKPOINT}; \`npm run train:mnist -- --ship\` makes it`);
  }

  // 2. A live run of the same recipe, sized to the time budget from a short timing run.
  const { device, why } = chooseDevice();
  console.log(`\nlive training on the ${device === 'gpu' ? 'GPU' : 'CPU'} backend (${why})`);
  const stamps: number[] = [];
  trainDino({ ...recipe, dataset: train, device, maxIterations: 6, progress: false, onIteration: () => stamps.push(performance.now()) });
  const secondsPerIteration = (stamps[5] - stamps[2]) / 3000;
  const itersPerEpoch = Math.floor(train.length / recipe.batchSize);
  const epochs = Math.max(1, Math.floor((MINUTES * 60) / secondsPerIteration / itersPerEpoch));
  const live = mnistRecipe(epochs);
  console.log(`DINO recipe (packages/dino/src/recipes/mnist.ts) for ${epochs} epoch(s) of ${train.length} digits: ${epochs * itersPerEpoch} iterations at ~${secondsPerIteration.toFixed(2)} s each (budget ${MINUTES} min)`);
  const run = trainDino({ ...live, dataset: train, device, outputDir: join(OUT, 'run') });
  run.teacher.to('cpu');
  run.student.to('cpu');
  const liveRows = compareKnn([
    { name: 'DINO teacher', backbone: run.teacher.backbone }, { name: 'DINO student', backbone: run.student.backbone }, { name: 'random init', backbone: randomInit },
  ], trainImages, testImages, NORMALIZATION, { k: 20, temperature: 0.07 });
  const h = run.history;
  console.log(`live run: loss ${h[0].loss.toFixed(3)} at the start, ${(h.slice(-10).reduce((s, m) => s + m.loss, 0) / Math.min(10, h.length)).toFixed(3)} over the last 10 iterations; teacher entropy ${h[h.length - 1].teacherEntropy.toFixed(2)} of log K = ${h[0].logK.toFixed(2)}`);
  printKnn(`the live run (${h.length} iterations): weighted k-NN`, liveRows);
  sayWhoBeatWhom(liveRows, ['DINO teacher', 'DINO student'], ['random init', 'raw pixels']);
  results.live = { iterations: h.length, teacher: top1(liveRows, 'DINO teacher'), student: top1(liveRows, 'DINO student'), randomInit: top1(liveRows, 'random init'), rawPixels: top1(liveRows, 'raw pixels') };
  writeFileSync(join(OUT, 'results.json'), JSON.stringify(results, null, 1));

  // 3. Figures.
  const shown = loadImages(test, [0, 1, 2, 3]);
  const models = [
    { name: shipped === undefined ? 'DINO (live run)' : 'DINO teacher', backbone: shipped?.teacher ?? run.teacher.backbone },
    ...(supervised === undefined ? [] : [{ name: 'supervised', backbone: supervised }]),
    { name: 'random init', backbone: randomInit },
  ];
  mkdirSync(join(OUT, 'attention'), { recursive: true });
  for (let i = 0; i < shown.labels.length; i++) {
    writeAttentionFigure(join(OUT, 'attention', `${i}.png`), models, shown.images.narrow(0, i, 1), { normalization: NORMALIZATION, scale: 8 });
  }
  writeCharts(join(OUT, 'curves.png'), curvePanels(shipped?.summary, h, top1(liveRows, 'raw pixels')));
  console.log(`\nwrote ${join(OUT, 'results.json')}, attention figures for 4 held-out digits (labels ${[...shown.labels].join(', ')}) in ${join(OUT, 'attention')}, ` +
    `and ${join(OUT, 'curves.png')}; total ${((performance.now() - started) / 60000).toFixed(1)} min`);
}

/** Loss, teacher entropy and k-NN panels: the shipped run's (from its summary) and the live run's. */
function curvePanels(summary: ShippedSummary | undefined, live: IterationMetrics[], rawPixels: number): ChartPanel[] {
  const x = live.map((m) => m.iteration + 1);
  const panels: ChartPanel[] = [];
  if (summary !== undefined) {
    const c = summary.curve;
    panels.push(
      { title: 'shipped run: loss', xLabel: 'iteration', series: [{ label: 'DINO loss', x: c.map((p) => p[0]), y: c.map((p) => p[1]), color: PALETTE.blue }] },
      {
        title: 'shipped run: teacher entropy', xLabel: 'iteration', references: [{ label: 'log K (uniform)', y: Math.log(1024), color: PALETTE.gray }],
        series: [{ label: 'per sample', x: c.map((p) => p[0]), y: c.map((p) => p[2]), color: PALETTE.orange }, { label: 'of the batch mean', x: c.map((p) => p[0]), y: c.map((p) => p[3]), color: PALETTE.green }],
      },
      {
        title: 'shipped run: k-NN top-1 %', xLabel: 'iteration', references: [{ label: 'raw pixels', y: rawPixels, color: PALETTE.gray }],
        series: [{ label: 'teacher', x: summary.knn.map((k) => k.iteration), y: summary.knn.map((k) => k.teacher), color: PALETTE.blue }, { label: 'student', x: summary.knn.map((k) => k.iteration), y: summary.knn.map((k) => k.student), color: PALETTE.red }],
      },
    );
  }
  panels.push(
    { title: 'live run: loss', xLabel: 'iteration', series: [{ label: 'DINO loss', x, y: live.map((m) => m.loss), color: PALETTE.blue }] },
    {
      title: 'live run: teacher entropy', xLabel: 'iteration', references: [{ label: 'log K (uniform)', y: live[0].logK, color: PALETTE.gray }],
      series: [{ label: 'per sample', x, y: live.map((m) => m.teacherEntropy), color: PALETTE.orange }, { label: 'of the batch mean', x, y: live.map((m) => m.entropyOfMean), color: PALETTE.green }],
    },
  );
  return panels;
}

main();
