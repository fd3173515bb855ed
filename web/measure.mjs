// Times the page in headless Chromium, per backend: ms per forward (one digit's attention
// and its read, the second call, so kernels are compiled) and per training step (batches
// of 32 crops' images, the mean of steps 2..N). `node web/measure.mjs [DIR]` measures the
// page built in DIR (default web/dist); needs Chromium (CHROMIUM_PATH, default /usr/bin/chromium).

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve } from './server.mjs';

const dir = process.argv[2] ?? join(fileURLToPath(new URL('.', import.meta.url)), 'dist');
const steps = Number(process.argv[3] ?? 3);
const { url, close } = await serve(dir);
const args = ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--enable-unsafe-webgpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args });
for (const mode of ['cpu', 'webgl2', 'webgpu']) {
  const page = await browser.newPage();
  await page.goto(`${url}?mode=${mode}&bank=200`);
  await page.waitForFunction(() => window.dinotsPage !== undefined, undefined, { timeout: 600_000 });
  const result = await page.evaluate(async (n) => {
    const api = window.dinotsPage;
    await api.select(50);
    const forwardMs = api.timings.forwardMs;
    const history = await api.train(n, { batchSize: 32 });
    const later = history.slice(1).map((h) => h.ms);
    return { backend: api.backend.description, forwardMs, firstStepMs: history[0].ms, stepMs: later.reduce((a, b) => a + b, 0) / later.length };
  }, steps);
  console.log(`${mode}: forward ${result.forwardMs.toFixed(1)} ms, training step ${result.stepMs.toFixed(0)} ms (first ${result.firstStepMs.toFixed(0)} ms): ${result.backend}`);
  await page.close();
}
await browser.close();
await close();
