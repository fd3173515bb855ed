// The page (web/) end to end in headless Chromium, in gpu.js's webgl2 mode on SwiftShader:
// it loads a checkpoint that a short dinots training run makes here, renders without a
// console error, draws the attention view (canvas pixels not blank), runs on a GPU mode
// (not gpu.js's CPU fallback), gives the same teacher CLS features as the Node CPU
// backend for the same checkpoint and digit (float32 tolerance), and a short training run
// in the page lowers the loss. The page is small enough here (?bank=100, batches of 8)
// for a software rasteriser on two cores. A screenshot goes to test/dist/browser-output/.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { noGrad, tensor } from '@dinots/tensor';
import { MNIST, MNIST_MEAN, MNIST_STD, Subset, loadCheckpointNetworks, trainDino } from '@dinots/dino';
import { skipWithoutChromium, launchChromium } from './chromium.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const outputDir = join(root, 'test/dist/browser-output');
const HELD_OUT = 120; // a held-out digit (every 10th digit is held out)

/** What the page exposes as window.dinotsPage (web/src/main.ts). */
interface PageApi {
  backend: { device: string; mode: string; isGpu: boolean; description: string };
  timings: { forwardMs: number; stepMs: number };
}

describe('the page in headless Chromium (webgl2)', function () {
  this.timeout(600_000);
  let dir = '';
  let server: { url: string; close(): Promise<void> } | null = null;
  let browser: Browser | null = null;
  let page: Page | null = null;
  const consoleErrors: string[] = [];

  before(async function () {
    skipWithoutChromium(this);
    dir = mkdtempSync(join(tmpdir(), 'dinots-page-'));
    const mnist = new MNIST();
    trainDino({
      dataset: new Subset(mnist, Array.from({ length: 64 }, (_, i) => ((i * 157) % 900) * 10 + 1 + (i % 9))), // not held out
      model: { imgSize: 28, patchSize: 4, inChans: 1, embedDim: 48, depth: 2, numHeads: 4, outDim: 256, headHiddenDim: 64, headBottleneckDim: 32 },
      augmentation: { globalCropSize: 28, localCropSize: 12, localCropsNumber: 2, globalCropsScale: [0.5, 1], localCropsScale: [0.2, 0.5], mean: MNIST_MEAN, std: MNIST_STD },
      batchSize: 16, epochs: 2, warmupEpochs: 1, lr: 0.01, teacherTemp: 0.02, warmupTeacherTemp: 0.02, outputDir: join(dir, 'run'), progress: false,
    });
    const web = (await import(pathToFileURL(join(root, 'web/build.mjs')).href)) as { buildPage(outdir: string, checkpoint: string): Promise<{ warnings: string[]; checkpoint: string | null }> };
    const built = await web.buildPage(join(dir, 'page'), join(dir, 'run/checkpoint.safetensors'));
    expect(built.warnings, 'esbuild warnings').to.deep.equal([]);
    expect(built.checkpoint).to.not.equal(null);
    const { serve } = (await import(pathToFileURL(join(root, 'web/server.mjs')).href)) as { serve(root: string): Promise<{ url: string; close(): Promise<void> }> };
    server = await serve(join(dir, 'page'));
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1150, height: 1400 } });
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    await page.goto(`${server.url}?mode=webgl2&bank=100`);
    await page.waitForFunction(() => (globalThis as { dinotsPage?: unknown }).dinotsPage !== undefined, undefined, { timeout: 300_000, polling: 250 });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('loads the checkpoint and runs on a GPU mode (webgl2), without console errors', async () => {
    const api = await page!.evaluate(() => (globalThis as unknown as { dinotsPage: PageApi }).dinotsPage);
    console.log(`    [browser] page: ${api.backend.description}; ${await page!.textContent('#timings')}`);
    expect(api.backend.device).to.equal('gpu');
    expect(api.backend.mode).to.equal('webgl2');
    expect(api.backend.isGpu).to.equal(true);
    expect(await page!.textContent('#weights')).to.match(/^checkpoint\.safetensors: ViT 2 block/);
    expect(consoleErrors).to.deep.equal([]);
  });

  it('draws the attention view: one heat-map and one mask per head, none of them blank', async () => {
    const stats = await page!.evaluate(() => {
      type Canvas = { width: number; height: number; getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } };
      const canvases = [...(globalThis as unknown as { document: { querySelectorAll(s: string): Iterable<Canvas> } }).document.querySelectorAll('#heads canvas, #masks canvas')];
      return canvases.map((c) => {
        const { data } = c.getContext('2d').getImageData(0, 0, c.width, c.height);
        const colours = new Set<number>();
        for (let i = 0; i < data.length; i += 4) colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
        return { width: c.width, colours: colours.size };
      });
    });
    expect(stats).to.have.length(8); // 4 heads x (heat-map, mask)
    for (const s of stats) {
      expect(s.width).to.equal(140);
      expect(s.colours).to.be.greaterThan(4);
    }
    mkdirSync(outputDir, { recursive: true });
    await page!.screenshot({ path: join(outputDir, 'page-webgl2.png'), fullPage: true });
  });

  it('gives the CLS features of the Node CPU backend for the same checkpoint and digit', async () => {
    const inPage = await page!.evaluate((index) => (globalThis as unknown as { dinotsPage: { features(i: number): Promise<number[]> } }).dinotsPage.features(index), HELD_OUT);
    const { teacher } = loadCheckpointNetworks(join(dir, 'run/checkpoint.safetensors'));
    teacher.eval();
    const image = new MNIST().get(HELD_OUT).image.unsqueeze(0).sub(MNIST_MEAN[0]).div(MNIST_STD[0]);
    const reference = noGrad(() => teacher.backbone.forward(image)).dataSync();
    expect(inPage).to.have.length(reference.length);
    const got = tensor(inPage);
    const want = tensor(Float32Array.from(reference));
    const worst = got.sub(want).abs().max().item();
    expect(worst, `largest difference from the CPU backend, features of size ${reference.length}`).to.be.below(1e-3 + 1e-3 * want.abs().max().item());
  });

  // The check holds the targets fixed (teacher and center momentum 1) and repeats one batch,
  // so that the loss measures the student's steps alone: DINO's loss itself may rise early
  // in a run, as the center flattens the teacher's targets (about 1.58 -> 1.87 in 4 steps here).
  it('a short training run in the page lowers the loss (one batch, fixed targets) and redraws the view', async () => {
    type Options = { batchSize: number; lr: number; sameBatch: boolean; momentumTeacher: number; centerMomentum: number };
    type Train = (n: number, options: Options) => Promise<{ loss: number }[]>;
    const history = await page!.evaluate(() =>
      (globalThis as unknown as { dinotsPage: { train: Train } }).dinotsPage.train(4, { batchSize: 8, lr: 2e-4, sameBatch: true, momentumTeacher: 1, centerMomentum: 1 }),
    );
    const losses = history.map((m) => m.loss);
    console.log(`    [browser] losses in the page: ${losses.map((l) => l.toFixed(3)).join(' ')}; ${await page!.textContent('#timings')}`);
    expect(losses).to.have.length(4);
    expect(losses.every(Number.isFinite)).to.equal(true);
    expect(losses[3]).to.be.below(losses[0]);
    expect(await page!.textContent('#train-status')).to.match(/^iteration 4 \/ 4/);
    expect(consoleErrors).to.deep.equal([]);
    await page!.screenshot({ path: join(outputDir, 'page-webgl2-trained.png'), fullPage: true });
  });
});
