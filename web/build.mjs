// Builds the page into web/dist (or the folder given): the bundle of web/src/main.ts with
// esbuild (https://esbuild.github.io/api/#build), the CPU thread pool's Web Worker beside
// it, index.html and style.css, the MNIST digits as one binary file (labels, then pixels:
// 10,000 + 7,840,000 bytes) and, when it exists, the checkpoint
// checkpoints/dino-mnist.safetensors with its .json sidecar (as checkpoint.safetensors /
// checkpoint.json; manifest.json says whether there is one). `npm run web` runs this, then web/server.mjs.

import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** The pool worker's module in @dinots/tensor's build. */
export const POOL_WORKER = join(dirname(require.resolve('@dinots/tensor')), 'backends/cpu/threads/worker-web.js');

/**
 * Bundles `entries` (output name -> file) for browsers, ES modules, with the pool worker
 * as worker-web.js beside them, where the pool looks for it (new URL('./worker-web.js',
 * import.meta.url)). The browser platform makes package.json `browser` conditions and
 * fields apply (gpu.js's prebuilt browser bundle, @dinots/tensor's "#gpu-js",
 * @dinots/dino's browser entry). Returns esbuild's warnings.
 * @param {Record<string, string>} entries
 * @param {string} outdir
 * @returns {Promise<string[]>}
 */
export async function bundle(entries, outdir) {
  const result = await build({
    entryPoints: { ...entries, 'worker-web': POOL_WORKER },
    outdir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2023',
    sourcemap: 'linked',
    logLevel: 'silent',
  });
  return result.warnings.map((w) => `${w.location?.file ?? ''}:${w.location?.line ?? ''} ${w.text}`);
}

/**
 * Builds the page into `outdir`; `checkpoint` is a .safetensors path (its sidecar beside it) or null for none.
 * @param {string} outdir
 * @param {string | null} [checkpoint]
 */
export async function buildPage(outdir, checkpoint = join(here, '../checkpoints/dino-mnist.safetensors')) {
  mkdirSync(outdir, { recursive: true });
  const warnings = await bundle({ app: join(here, 'src/main.ts') }, outdir);
  for (const file of ['index.html', 'style.css']) copyFileSync(join(here, file), join(outdir, file));
  const { MNIST } = await import('@dinots/dino');
  const mnist = new MNIST();
  const bytes = new Uint8Array(mnist.labels.length + mnist.pixels.length);
  bytes.set(mnist.labels);
  bytes.set(mnist.pixels, mnist.labels.length);
  writeFileSync(join(outdir, 'mnist.bin'), bytes);
  const sidecar = checkpoint?.replace(/\.safetensors$/, '.json');
  const withCheckpoint = checkpoint != null && existsSync(checkpoint) && existsSync(sidecar);
  if (withCheckpoint) {
    copyFileSync(checkpoint, join(outdir, 'checkpoint.safetensors'));
    copyFileSync(sidecar, join(outdir, 'checkpoint.json'));
  }
  writeFileSync(join(outdir, 'manifest.json'), JSON.stringify({ checkpoint: withCheckpoint }));
  return { warnings, checkpoint: withCheckpoint ? checkpoint : null };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outdir = process.argv[2] ?? join(here, 'dist');
  const { warnings, checkpoint } = await buildPage(outdir);
  for (const w of warnings) console.warn(`esbuild: ${w}`);
  console.log(`built the page into ${outdir}; ${checkpoint === null ? 'no checkpoint (checkpoints/dino-mnist.safetensors): the page starts untrained' : `weights: ${checkpoint}`}`);
}
