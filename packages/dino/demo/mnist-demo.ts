// npm run demo: DINO on the embedded MNIST digits with a tiny ViT, a few minutes on a CPU,
// then weighted k-NN (k 20, T 0.07) of the teacher's CLS features against two baselines
// measured in the same run (the same ViT at its random initialisation, and raw pixels), and
// attention-map PNGs. Whatever it prints was measured in this run; it says plainly when
// DINO did not beat a baseline.
//
// Settings follow docs/small-scale-dino.md (PyTorch runs at this scale): patch 7 (16 tokens per 28 px image),
// a smaller K (1024), a low teacher temperature (0.005: a freshly initialised tiny ViT's CLS
// feature barely depends on the image, and a warmer teacher is flattened to uniform by
// centering), a lower teacher momentum, and local crops that still show part of the digit.
//
// Training runs on the GPU backend only when it runs on a real GPU: gpu.js's cpu mode and
// software rasterisers (Mesa's llvmpipe under Xvfb) are slower than the CPU backend.
// DINO_DEMO_DEVICE=cpu|gpu overrides the choice. The k-NN evaluation and the attention maps
// run on the CPU.

import { join, resolve } from 'node:path';
import { type Device, Generator, backendInfo } from '@dinots/tensor';
import {
  MNIST, MNIST_MEAN, MNIST_STD, Subset, buildDinoNetworks, checkCollapse, compareKnn, loadImages, randomSplit, trainDino, writeAttentionMaps,
  type DinoModelOptions, type TrainDinoConfig,
} from '../src/index.js';

const OUT = resolve(process.env.DINO_DEMO_OUT ?? 'dino-demo');
const MINUTES = Number(process.env.DINO_DEMO_MINUTES ?? 4);
const overrides = JSON.parse(process.env.DINO_DEMO_OVERRIDES ?? '{}') as Partial<TrainDinoConfig>;

const model: DinoModelOptions = {
  imgSize: 28, patchSize: 7, inChans: 1, embedDim: 64, depth: 1, numHeads: 4,
  outDim: 1024, headHiddenDim: 64, headBottleneckDim: 32, dropPathRate: 0,
};

const SOFTWARE_RASTERISER = /llvmpipe|softpipe|swiftshader|swrast/i;

/** The device to train on, and why: DINO_DEMO_DEVICE, else 'gpu' only on a GPU known to be real. */
function chooseDevice(): { device: Device; why: string } {
  const asked = process.env.DINO_DEMO_DEVICE ?? '';
  if (asked === 'cpu' || asked === 'gpu') return { device: asked, why: `DINO_DEMO_DEVICE=${asked}` };
  if (asked !== '') throw new Error(`DINO_DEMO_DEVICE must be cpu or gpu, got '${asked}'`);
  const info = backendInfo();
  if (!info.isGpu) {
    const skipped = info.probes.filter((p) => !p.available && !p.reason.includes('only exists in a browser')).map((p) => `${p.mode}: ${p.reason}`);
    return { device: 'cpu', why: `the GPU backend would run in gpu.js's cpu mode (${skipped.join('; ')})` };
  }
  const { mode, renderer } = info;
  if (mode === 'webgpu') {
    return {
      device: 'cpu',
      why: "the GPU backend chose webgpu, whose reads are asynchronous only, and trainDino reads its loss synchronously every iteration; " +
        'DINOTS_GPU_MODE=headlessgl DINO_DEMO_DEVICE=gpu trains on the GPU through WebGL',
    };
  }
  if (renderer !== null && SOFTWARE_RASTERISER.test(renderer)) {
    return { device: 'cpu', why: `${mode} renders with ${renderer}, a software rasteriser, slower than the CPU backend` };
  }
  // headless-gl names every renderer 'ANGLE' and hides the driver behind it.
  if (renderer === null || renderer.trim() === 'ANGLE') {
    return {
      device: 'cpu',
      why: `${mode} does not say which renderer it runs on (it reports ${renderer === null ? 'none' : `'${renderer}'`}), so it may be a software rasteriser ` +
        `such as Mesa's llvmpipe under Xvfb, slower than the CPU backend; DINO_DEMO_DEVICE=gpu trains on it anyway`,
    };
  }
  return { device: 'gpu', why: `${mode} renders with ${renderer}` };
}

function main(): void {
  const started = performance.now();
  const { device, why } = chooseDevice();
  console.log(`training on the ${device === 'gpu' ? 'GPU' : 'CPU'} backend: ${why}`);
  const mnist = new MNIST();
  // Disjoint train / test images (the test images are never seen by DINO).
  const [trainPool, testPool] = randomSplit(mnist, [8000, 2000], new Generator(0));
  const config: Omit<TrainDinoConfig, 'dataset' | 'epochs'> = {
    augmentation: {
      globalCropSize: 28, localCropSize: 14, localCropsNumber: 2, globalCropsScale: [0.5, 1], localCropsScale: [0.2, 0.5], mean: MNIST_MEAN, std: MNIST_STD,
    },
    batchSize: 32,
    lr: 0.002,
    warmupEpochs: 1,
    freezeLastLayer: 1,
    // Lower than the official 0.996: a run of a few hundred iterations needs a teacher that moves.
    momentumTeacher: 0.99,
    // Constant weight decay (officially 0.04 -> 0.4) for so short a run.
    weightDecay: 0.04,
    weightDecayEnd: 0.04,
    warmupTeacherTemp: 0.005,
    teacherTemp: 0.005,
    seed: 0,
    outputDir: join(OUT, 'run'),
    collapseEvery: 20,
    // DINO_DEMO_OVERRIDES='{"lr":0.005,"model":{"embedDim":64}}' changes settings for an experiment.
    ...overrides,
    model: { ...model, ...overrides.model },
    device,
  };
  // Size the run to the time budget from a short timing run (the schedules need the total up
  // front): 12 iterations, timing the last 6 (the first ones include compilation and fill the
  // buffer pool; timing iterations 2-5 overestimated the steady pace about 5x).
  const stamps: number[] = [];
  trainDino({
    ...config, dataset: new Subset(trainPool, Array.from({ length: 12 * config.batchSize }, (_, i) => i)), epochs: 1, warmupEpochs: 0,
    outputDir: undefined, progress: false, onIteration: () => stamps.push(performance.now()),
  });
  const secondsPerIteration = (stamps[11] - stamps[5]) / 1000 / 6;
  const iterations = Math.max(8, Math.floor((MINUTES * 60) / secondsPerIteration));
  const epochs = 4;
  const perEpoch = Math.max(1, Math.floor(iterations / epochs));
  const dataset = new Subset(trainPool, Array.from({ length: Math.min(trainPool.length, perEpoch * config.batchSize) }, (_, i) => i));
  const m = config.model;
  console.log(`DINO on MNIST: ViT (patch ${m.patchSize}, dim ${m.embedDim}, depth ${m.depth}, ${m.numHeads} heads), K ${m.outDim}, teacher temperature ${config.teacherTemp}, lr ${config.lr} x ${config.batchSize}/256, ` +
    `2 global 28 px + ${config.augmentation!.localCropsNumber} local 14 px crops, batch ${config.batchSize}, ${epochs} epochs of ${dataset.length} images ` +
    `(${epochs * Math.floor(dataset.length / config.batchSize)} iterations, ~${secondsPerIteration.toFixed(2)} s each, budget ${MINUTES} min)`);

  const result = trainDino({ ...config, dataset, epochs, resume: false });
  // The evaluation runs on the CPU, where the images are.
  result.teacher.to('cpu');
  result.student.to('cpu');
  const last = result.history.slice(-10);
  const mean = (f: (m: (typeof last)[number]) => number) => last.reduce((s, m) => s + f(m), 0) / last.length;
  const collapse = checkCollapse({ meanEntropy: mean((m) => m.teacherEntropy), entropyOfMean: mean((m) => m.entropyOfMean), maxEntropy: last[0].logK });
  console.log(`training: loss ${result.history[0].loss.toFixed(3)} at the start, ${mean((m) => m.loss).toFixed(3)} over the last 10 iterations; ${collapse.message}`);

  // The baseline backbone is the student's own initial weights (same seed, same architecture).
  const randomInit = buildDinoNetworks(config.model, new Generator(config.seed ?? 0)).teacher.backbone;
  const train = loadImages(trainPool, Array.from({ length: trainPool.length }, (_, i) => i));
  const test = loadImages(testPool, Array.from({ length: testPool.length }, (_, i) => i));
  const rows = compareKnn(
    [{ name: 'DINO teacher', backbone: result.teacher.backbone }, { name: 'random init', backbone: randomInit }, { name: 'DINO student', backbone: result.student.backbone }],
    train, test, { mean: MNIST_MEAN, std: MNIST_STD }, { k: 20, temperature: 0.07 },
  );
  console.log(`\nweighted k-NN (k 20, T 0.07, cosine on L2-normalised features), ${train.labels.length} train / ${test.labels.length} held-out test images:`);
  for (const r of rows) console.log(`  ${r.name.padEnd(13)} top-1 ${r.result.top1.toFixed(2).padStart(6)} %   top-5 ${r.result.top5.toFixed(2).padStart(6)} %`);
  // The teacher is the model DINO evaluates and releases; the student is reported as well.
  const top1 = (name: string) => rows.find((r) => r.name === name)!.result.top1;
  for (const model of ['DINO teacher', 'DINO student']) {
    for (const baseline of ['random init', 'raw pixels']) {
      const diff = top1(model) - top1(baseline);
      console.log(diff > 0
        ? `  ${model} beat ${baseline} by ${diff.toFixed(2)} points top-1.`
        : `  ${model} did NOT beat ${baseline} (${diff === 0 ? 'a tie' : `${(-diff).toFixed(2)} points behind`} top-1).`);
    }
  }

  const attentionDir = join(OUT, 'attention');
  const shown = loadImages(testPool, [0, 1, 2, 3]);
  writeAttentionMaps(result.teacher.backbone, shown.images, attentionDir, { mean: MNIST_MEAN, std: MNIST_STD }, 0.6);
  console.log(`\nattention maps of the teacher's last layer (CLS -> patch, one PNG per head, 60 %-mass masks) for 4 test digits (labels ${[...shown.labels].join(', ')}): ${attentionDir}/img0..img3`);
  console.log(`checkpoint: ${result.checkpointPath}; log: ${join(OUT, 'run', 'log.jsonl')}; total ${((performance.now() - started) / 60000).toFixed(1)} min`);
}

main();
