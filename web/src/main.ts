// The page: DINO on MNIST digits in the browser (see web/index.html for the layout).
// Everything that touches the networks runs through `exclusive`, one task at a time, so
// that an attention redraw never interleaves with a training step (scopes in a browser
// follow the innermost open one: packages/tensor/src/memory.ts), and every GPU read is
// awaited, so the page works in webgpu mode and the UI stays responsive.

import { type Device, Generator, type Tensor, backendInfo, configureGpu, getNumThreads, gpuReady, tensor } from '@dinots/tensor';
import {
  type CheckpointMeta,
  DigitImages,
  MNIST_MEAN,
  MNIST_STD,
  MNIST_SIZE,
  MultiCropAugmentation,
  type MultiCropBatch,
  MultiCropDataset,
  attentionHeatmap,
  attentionMassMask,
  collateMultiCrop,
  l2Normalize,
  maskOverlay,
  topkIndices,
} from '@dinots/dino';
import { drawImage } from './draw.js';
import { DEFAULT_MODEL, type LoadedNetworks, attentionOf, featuresOf, fromCheckpoint, initialised } from './networks.js';
import { plotSeries } from './plot.js';
import { DinoStepper, type StepMetrics } from './train-step.js';

interface TrainOptions {
  batchSize?: number;
  /** Peak learning rate (default 0.01 * batchSize / 256, DINO's linear scaling rule with a higher base for a tiny ViT). */
  lr?: number;
  teacherTemp?: number;
  /** The teacher's and the center's EMA momenta (default 0.996 and 0.9); 1 and 1 hold the targets fixed. */
  momentumTeacher?: number;
  centerMomentum?: number;
  sameBatch?: boolean;
}

const MASS = 0.6; // the paper's threshold: the smallest set of patches holding 60 % of the attention
/** Training digits in the k-NN's feature bank (?bank=N: fewer for slow software renderers). */
const BANK_SIZE = Number(new URLSearchParams(location.search).get('bank') ?? 1000);
const K = 20;
const TEMPERATURE = 0.07;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** The backend the page runs on: ?mode=webgpu | webgl2 | cpu, else gpu.js's auto-detection. */
async function startBackend(): Promise<{ device: Device; description: string; isGpu: boolean; mode: string }> {
  const asked = new URLSearchParams(location.search).get('mode') ?? 'auto';
  const select = $<HTMLSelectElement>('mode');
  select.value = asked;
  select.addEventListener('change', () => {
    const params = new URLSearchParams(location.search);
    params.set('mode', select.value);
    location.search = params.toString();
  });
  if (asked === 'cpu') return { device: 'cpu', description: `dinots CPU backend (WebAssembly SIMD, ${getNumThreads()} thread(s))`, isGpu: false, mode: 'cpu' };
  // A training step compiles about a thousand kernels (forward and backward for two crop
  // sizes, AdamW per parameter shape); with the default cache of 512 every step would
  // compile them all again, which a software rasteriser takes seconds for.
  configureGpu({ mode: asked as 'auto' | 'webgpu' | 'webgl2', kernelCacheSize: 4096 });
  const info = await gpuReady();
  const live = backendInfo();
  const renderer = live.renderer ?? info.renderer ?? '-';
  return { device: 'gpu', description: `GPU backend, gpu.js mode ${live.mode}${live.isGpu ? '' : " (gpu.js's CPU fallback, not a GPU)"}; renderer: ${renderer}`, isGpu: live.isGpu, mode: live.mode };
}

/** The digits: the mnist package's 10,000, as web/build.mjs writes them (labels, then pixels). */
async function loadDigits(): Promise<DigitImages> {
  const bytes = new Uint8Array(await (await fetch('mnist.bin')).arrayBuffer());
  const n = bytes.length / (1 + MNIST_SIZE * MNIST_SIZE);
  return new DigitImages(bytes.subarray(n), bytes.subarray(0, n));
}

/** Images [N, 1, 28, 28] of the given indices. */
function stackImages(digits: DigitImages, indices: readonly number[]): Tensor {
  const area = MNIST_SIZE * MNIST_SIZE;
  const out = new Float32Array(indices.length * area);
  indices.forEach((index, i) => {
    for (let p = 0; p < area; p++) out[i * area + p] = digits.pixels[index * area + p] / 255;
  });
  return tensor(out, { shape: [indices.length, 1, MNIST_SIZE, MNIST_SIZE] });
}

/** The checkpoint web/build.mjs put beside the page (manifest.json says whether there is one), or null. */
async function fetchCheckpoint(device: Device): Promise<LoadedNetworks | null> {
  const manifest = (await (await fetch('manifest.json')).json()) as { checkpoint: boolean };
  if (!manifest.checkpoint) return null;
  const [weights, sidecar] = await Promise.all([fetch('checkpoint.safetensors'), fetch('checkpoint.json')]);
  return fromCheckpoint(new Uint8Array(await weights.arrayBuffer()), (await sidecar.json()) as CheckpointMeta, DEFAULT_MODEL, 'checkpoint.safetensors', device);
}

async function main(): Promise<void> {
  let queue: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(task: () => Promise<T>): Promise<T> => {
    const run = queue.then(task);
    queue = run.catch(() => {});
    return run;
  };
  const status = (text: string) => ($('status').textContent = text);

  const backend = await startBackend();
  $('backend').textContent = backend.description;
  const digits = await loadDigits();
  // Held out: every 10th digit. Training bank: BANK_SIZE of the others, spread over all classes.
  const heldOut = Array.from({ length: Math.floor(digits.length / 10) }, (_, i) => i * 10);
  const others = Array.from({ length: digits.length }, (_, i) => i).filter((i) => i % 10 !== 0);
  const bank = Array.from({ length: BANK_SIZE }, (_, i) => others[Math.floor((i * others.length) / BANK_SIZE)]);
  const bankImages = stackImages(digits, bank);

  status('loading the weights');
  let nets = (await fetchCheckpoint(backend.device)) ?? initialised(DEFAULT_MODEL, backend.device);
  let bankFeatures: Tensor | null = null;
  let query: Tensor = stackImages(digits, [heldOut[0]]);
  let queryLabel: number | null = digits.labels[heldOut[0]];
  const timings = { forwardMs: NaN, stepMs: NaN };

  const showSource = () => {
    const m = nets.model;
    $('weights').textContent = `${nets.source}: ViT ${m.depth} block(s), ${m.numHeads} heads, dim ${m.embedDim}, ${m.imgSize / m.patchSize}x${m.imgSize / m.patchSize} patches of ${m.patchSize} px`;
  };
  const showTimings = () => {
    $('timings').textContent = `forward (1 digit, attention + read): ${timings.forwardMs.toFixed(1)} ms; training step: ${Number.isNaN(timings.stepMs) ? '-' : `${timings.stepMs.toFixed(0)} ms`}`;
  };

  /** Redraws the attention view for the current query digit (callers hold `exclusive`). */
  const renderAttention = async () => {
    const started = performance.now();
    const attention = await attentionOf(nets, query, backend.device);
    timings.forwardMs = performance.now() - started;
    console.info(`dinots page: attention forward in ${timings.forwardMs.toFixed(0)} ms`);
    const image = query.select(0, 0);
    const patch = nets.model.patchSize;
    const scale = 5;
    drawImage($('input'), image, scale);
    const heads = $('heads');
    const masks = $('masks');
    heads.replaceChildren();
    masks.replaceChildren();
    const mask = attentionMassMask(attention, MASS);
    for (let h = 0; h < attention.shape[0]; h++) {
      for (const [row, picture, caption] of [
        [heads, attentionHeatmap(image, attention.select(0, h), patch), `head ${h}`],
        [masks, maskOverlay(image, mask.select(0, h), patch), `head ${h}: ${MASS * 100} % mass`],
      ] as const) {
        const figure = document.createElement('figure');
        const canvas = document.createElement('canvas');
        canvas.className = 'attention';
        drawImage(canvas, picture, scale);
        const label = document.createElement('figcaption');
        label.textContent = caption;
        figure.append(canvas, label);
        row.append(figure);
      }
    }
  };

  /** Redraws the attention view and the k-NN answer for the current query digit. */
  const render = () =>
    exclusive(async () => {
      await renderAttention();
      await renderKnn();
      showTimings();
    });

  /** The k-NN vote of DINO's evaluation (section 4.1): the K most similar bank features, weighted by exp(cos / T). */
  const renderKnn = async () => {
    if (bankFeatures === null) {
      status(`computing the features of ${BANK_SIZE} training digits`);
      const started = performance.now();
      bankFeatures = l2Normalize(await featuresOf(nets, bankImages, backend.device, BANK_SIZE));
      console.info(`dinots page: feature bank in ${(performance.now() - started).toFixed(0)} ms`);
      status('ready');
    }
    const feature = l2Normalize(await featuresOf(nets, query, backend.device)).select(0, 0);
    const similarity = bankFeatures.matmul(feature).dataSync();
    const nearest = topkIndices(similarity, K);
    const votes = new Float64Array(10);
    for (const i of nearest) votes[digits.labels[bank[i]]] += Math.exp(similarity[i] / TEMPERATURE);
    const predicted = votes.indexOf(Math.max(...votes));
    $('prediction').textContent = `predicted ${predicted}` + (queryLabel === null ? ' (your drawing)' : ` (label ${queryLabel})`);
    const row = $('neighbours');
    row.replaceChildren();
    for (const i of nearest.subarray(0, 10)) {
      const figure = document.createElement('figure');
      const canvas = document.createElement('canvas');
      drawImage(canvas, stackImages(digits, [bank[i]]).select(0, 0), 2);
      const label = document.createElement('figcaption');
      label.textContent = `${digits.labels[bank[i]]} (${similarity[i].toFixed(3)})`;
      figure.append(canvas, label);
      row.append(figure);
    }
  };

  // Picking a held-out digit.
  const picks = $('picks');
  for (let i = 0; i < 20; i++) {
    const index = heldOut[(i * 53) % heldOut.length];
    const canvas = document.createElement('canvas');
    drawImage(canvas, stackImages(digits, [index]).select(0, 0), 2);
    canvas.title = `held-out digit #${index} (label ${digits.labels[index]})`;
    canvas.addEventListener('click', () => select(index));
    picks.append(canvas);
  }
  const select = (index: number) => {
    query = stackImages(digits, [index]);
    queryLabel = digits.labels[index];
    return render();
  };

  // Drawing a digit: white strokes on black, 8x the 28x28 grid, averaged down to it.
  const pad = $<HTMLCanvasElement>('pad');
  const padContext = pad.getContext('2d', { willReadFrequently: true })!;
  const clearPad = () => {
    padContext.fillStyle = '#000';
    padContext.fillRect(0, 0, pad.width, pad.height);
  };
  clearPad();
  let drawing = false;
  pad.addEventListener('pointerdown', (e) => {
    drawing = true;
    pad.setPointerCapture(e.pointerId);
  });
  pad.addEventListener('pointerup', () => (drawing = false));
  pad.addEventListener('pointermove', (e) => {
    if (!drawing) return;
    const scale = pad.width / pad.clientWidth; // CSS pixels -> canvas pixels
    padContext.fillStyle = '#fff';
    padContext.beginPath();
    padContext.arc(e.offsetX * scale, e.offsetY * scale, 9, 0, 2 * Math.PI);
    padContext.fill();
  });
  $('clear').addEventListener('click', clearPad);
  $('use-drawing').addEventListener('click', () => {
    const { data } = padContext.getImageData(0, 0, pad.width, pad.height);
    const cell = pad.width / MNIST_SIZE;
    const pixels = new Float32Array(MNIST_SIZE * MNIST_SIZE);
    for (let y = 0; y < pad.height; y++) for (let x = 0; x < pad.width; x++) pixels[Math.floor(y / cell) * MNIST_SIZE + Math.floor(x / cell)] += data[4 * (y * pad.width + x)] / 255 / (cell * cell);
    query = tensor(pixels, { shape: [1, 1, MNIST_SIZE, MNIST_SIZE] });
    queryLabel = null;
    void render();
  });

  // Dropping a checkpoint: a .safetensors file, with its .json sidecar or alone (then the current model config).
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => e.preventDefault());
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    const files = [...(e.dataTransfer?.files ?? [])];
    const weights = files.find((f) => f.name.endsWith('.safetensors'));
    const sidecar = files.find((f) => f.name.endsWith('.json'));
    if (weights === undefined) return status('drop a .safetensors file (and its .json sidecar)');
    void exclusive(async () => {
      const meta = sidecar === undefined ? null : (JSON.parse(await sidecar.text()) as CheckpointMeta);
      nets = fromCheckpoint(new Uint8Array(await weights.arrayBuffer()), meta, nets.model, weights.name, backend.device);
      bankFeatures = null;
      showSource();
    })
      .then(render)
      .catch((error: Error) => status(`could not load ${weights.name}: ${error.message}`));
  });

  // Training live.
  const losses: number[] = [];
  const entropies: number[] = [];
  let logK = Math.log(nets.model.outDim);
  const plots = () => {
    plotSeries($('loss-plot'), losses, 'DINO loss', '#c0392b');
    plotSeries($('entropy-plot'), entropies, 'teacher entropy (nats)', '#2471a3', { value: logK, label: 'log K' });
  };
  plots();
  const augmentation = new MultiCropAugmentation({
    globalCropSize: 28, localCropSize: 12, localCropsNumber: 2, globalCropsScale: [0.5, 1], localCropsScale: [0.2, 0.5], mean: MNIST_MEAN, std: MNIST_STD,
  });
  const views = new MultiCropDataset({ length: bank.length, get: (i: number) => digits.get(bank[i]) }, augmentation, new Generator(1));
  const shuffle = new Generator(2);
  /**
   * Trains for `iterations` on batches of the bank's digits. `sameBatch` repeats the first
   * batch every iteration (a check that steps lower the loss, free of batch-to-batch noise).
   */
  const train = (iterations: number, options: TrainOptions = {}): Promise<(StepMetrics & { ms: number })[]> =>
    exclusive(async () => {
      // Defaults: the small-scale settings of test/train-short.test.ts (a low teacher temperature and momentum, so
      // that a small network's weak image dependence survives centering; the head's last layer frozen during warmup).
      const { batchSize = 32, lr = 0.01 * (batchSize / 256), teacherTemp = 0.01, momentumTeacher = 0.99, centerMomentum = 0.9, sameBatch = false } = options;
      const warmup = Math.max(1, Math.floor(iterations / 10));
      const stepper = new DinoStepper(nets.student, nets.teacher, nets.model.outDim, augmentation.ncrops, backend.device, {
        iterations, lr, warmup, momentumTeacher, centerMomentum, teacherTemp, clipGrad: 3, freezeLastLayer: warmup,
      }, nets.center);
      const history: (StepMetrics & { ms: number })[] = [];
      const bar = $<HTMLProgressElement>('progress');
      bar.max = iterations;
      let total = 0;
      let first: MultiCropBatch | null = null;
      for (let it = 0; it < iterations; it++) {
        const order = Array.from({ length: batchSize }, () => shuffle.randint(0, bank.length));
        const batch: MultiCropBatch = sameBatch && first !== null ? first : collateMultiCrop(Array.from(order, (i) => views.get(i)));
        first ??= batch;
        const started = performance.now();
        const metrics = await stepper.step(batch);
        const ms = performance.now() - started;
        total += ms;
        timings.stepMs = total / (it + 1);
        history.push({ ...metrics, ms });
        losses.push(metrics.loss);
        entropies.push(metrics.teacherEntropy);
        logK = metrics.logK;
        bar.value = it + 1;
        $('train-status').textContent = `iteration ${it + 1} / ${iterations}: loss ${metrics.loss.toFixed(3)}, teacher entropy ${metrics.teacherEntropy.toFixed(2)}, of the batch mean ${metrics.entropyOfMean.toFixed(2)} (log K ${metrics.logK.toFixed(2)})`;
        plots();
        if ((it + 1) % 20 === 0) await renderAttention(); // watch the heads change as it trains
        showTimings();
        await new Promise((next) => setTimeout(next, 0)); // let the page paint
      }
      nets.center = stepper.dinoLoss.center;
      nets.source = `${nets.source}, then ${stepper.iteration} iterations trained here`;
      bankFeatures = null;
      showSource();
      return history;
    }).then(async (history) => {
      await render();
      return history;
    });
  $('train').addEventListener('click', () => {
    const button = $<HTMLButtonElement>('train');
    button.disabled = true;
    void train(Number($<HTMLInputElement>('iterations').value))
      .catch((error: Error) => ($('train-status').textContent = `training stopped: ${error.message}`))
      .finally(() => (button.disabled = false));
  });

  showSource();
  await render();
  status('ready');
  // For the browser test (test/browser/page.test.ts) and the curious reader's console.
  Object.assign(window, {
    dinotsPage: {
      backend,
      timings,
      select,
      train,
      /** The teacher backbone's CLS features of held-out digit `index`. */
      features: (index: number) => exclusive(async () => [...(await featuresOf(nets, stackImages(digits, [index]), backend.device)).dataSync()]),
    },
  });
}

main().catch((error: Error) => {
  console.error(error);
  $('status').textContent = `error: ${error.message}`;
});
