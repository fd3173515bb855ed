// The GPU conformance suite (packages/tensor/test/backends/conformance.test.ts) in a real
// browser: the same fast-check properties, bundled with mocha's browser build, run in a
// page of headless Chromium in gpu.js's webgl2 and webgl modes (WebGL2 and WebGL 1 on
// SwiftShader) and in its webgpu mode (WebGPU on SwiftShader). In Node those modes only exist as headlessgl and
// Dawn; this is where gpu.js's browser code paths are tested. Each mode runs in its own
// page, narrowed to that mode with DINOTS_GPU_MODE (see targets.ts), so a mode that
// cannot start fails its page. Whether a mode can start is asked first: where it cannot,
// each mode fails with CI=true (.ci/run installs Debian's chromium and Mesa's Vulkan
// drivers, on which all three run) and otherwise skips with the reason, as headlessgl does
// in Node. Without Chromium the suite fails with CI=true and skips otherwise.

import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect } from 'chai';
import type { Browser } from 'playwright-core';
import { skipWithoutChromium, launchChromium } from './chromium.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const suiteDir = join(root, 'packages/tensor/dist/test/gpu');
const conformanceDir = join(root, 'packages/tensor/dist/test/backends');
const require = createRequire(import.meta.url);

/** What the page reports when the suite has run. */
interface PageResult {
  passes: number;
  failures: { title: string; error: string }[];
  pending: string[];
  info: { mode: string; renderer: string | null; isGpu: boolean } | string;
}

/** The page's script: mocha (loaded before it) runs the suite in the mode the page names. */
const ENTRY = `
import { gpuBackendFor } from ${JSON.stringify(join(suiteDir, 'targets.js'))};
const result = { passes: 0, failures: [], pending: [], info: null };
mocha.setup({ ui: 'bdd', timeout: 600000, reporter: function (runner) {
  runner.on('pass', () => result.passes++);
  runner.on('fail', (test, error) => result.failures.push({ title: test.fullTitle(), error: String(error && (error.stack || error.message) || error) }));
  runner.on('pending', (test) => result.pending.push(test.fullTitle()));
} });
await import(${JSON.stringify(join(conformanceDir, 'conformance.test.js'))});
mocha.run(async () => {
  const backend = await gpuBackendFor(DINOTS_TEST_ENV.DINOTS_GPU_MODE);
  result.info = typeof backend === 'string' ? backend : { mode: backend.context.info.mode, renderer: backend.context.info.renderer, isGpu: backend.context.info.isGpu };
  window.conformanceResult = result;
});
`;

/** Asks the page whether `mode` can start: null if it can, else why not. */
async function modeMissing(page: import('playwright-core').Page, mode: 'webgl' | 'webgl2' | 'webgpu'): Promise<string | null> {
  // page.evaluate runs this in the page; its globals are typed here by hand (the tests compile without the DOM's types)
  type PageGlobals = { document: { createElement(tag: 'canvas'): { getContext(kind: 'webgl' | 'webgl2'): unknown } }; navigator: { gpu?: { requestAdapter(): Promise<unknown> } } };
  return page.evaluate(async (m) => {
    const { document, navigator } = globalThis as unknown as PageGlobals;
    if (m !== 'webgpu') return document.createElement('canvas').getContext(m) === null ? `this Chromium has no ${m} context` : null;
    const gpu = navigator.gpu;
    if (gpu === undefined) return 'navigator.gpu is missing';
    return (await gpu.requestAdapter()) === null ? 'WebGPU has no adapter' : null;
  }, mode);
}

describe('GPU conformance in headless Chromium', function () {
  this.timeout(600_000);
  let dir = '';
  let server: { url: string; close(): Promise<void> } | null = null;
  let browser: Browser | null = null;

  before(async function () {
    skipWithoutChromium(this);
    dir = mkdtempSync(join(tmpdir(), 'dinots-conformance-'));
    writeFileSync(join(dir, 'entry.js'), ENTRY);
    const { bundle } = (await import(pathToFileURL(join(root, 'web/build.mjs')).href)) as { bundle(entries: Record<string, string>, outdir: string): Promise<string[]> };
    const warnings = await bundle({ suite: join(dir, 'entry.js') }, dir);
    expect(warnings, 'esbuild warnings').to.deep.equal([]);
    copyFileSync(join(dirname(require.resolve('mocha/package.json')), 'mocha.js'), join(dir, 'mocha.js'));
    const { serve } = (await import(pathToFileURL(join(root, 'web/server.mjs')).href)) as { serve(root: string): Promise<{ url: string; close(): Promise<void> }> };
    server = await serve(dir);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  for (const mode of ['webgl2', 'webgl', 'webgpu'] as const) {
    it(`runs every property in gpu.js's ${mode} mode`, async function () {
      const page = await browser!.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      try {
        const env = { DINOTS_GPU_MODE: mode, CI: process.env.CI ?? '' };
        writeFileSync(join(dir, `${mode}.html`), `<!doctype html><meta charset="utf-8"><title>conformance ${mode}</title>
<script>window.DINOTS_TEST_ENV = ${JSON.stringify(env)};</script><script src="mocha.js"></script><script type="module" src="suite.js"></script>`);
        await page.goto(server!.url + 'blank.html').catch(() => {}); // a page of this origin (secure context) to ask in
        const missing = await modeMissing(page, mode);
        if (missing !== null) {
          if (process.env.CI === 'true') throw new Error(`${mode} is required with CI=true but cannot start in Chromium: ${missing}`);
          console.log(`    [browser] skipping ${mode}: ${missing}`);
          this.skip();
        }
        await page.goto(server!.url + `${mode}.html`);
        const handle = await page.waitForFunction(() => (globalThis as { conformanceResult?: unknown }).conformanceResult, undefined, { timeout: 580_000, polling: 500 });
        const result = (await handle.jsonValue()) as PageResult;
        expect(errors, 'uncaught errors in the page').to.deep.equal([]);
        const info = result.info;
        if (typeof info === 'string') throw new Error(`${mode}: the backend did not start: ${info}`);
        console.log(`    [browser] ${mode}: live mode ${info.mode}, renderer ${info.renderer}; ${result.passes} passing, ${result.failures.length} failing, ${result.pending.length} pending`);
        expect(info.mode).to.equal(mode);
        expect(info.isGpu).to.equal(true);
        expect(result.failures.map((f) => `${f.title}: ${f.error.split("\n").slice(0, 8).join(' / ')}`)).to.deep.equal([]);
        expect(result.pending, 'pending tests').to.deep.equal([]);
        expect(result.passes).to.be.greaterThan(20);
      } finally {
        await page.close();
      }
    });
  }
});
