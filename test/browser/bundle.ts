// Bundles for the browser tests with esbuild's API (https://esbuild.github.io/api/#build):
// ES modules for browsers, so that package.json `browser` conditions and fields apply
// (gpu.js's prebuilt browser bundle, @dinots/tensor's "#gpu-js", @dinots/dino's browser
// entry). Every bundle comes with the CPU thread pool's Web Worker as worker-web.js beside
// it, where the pool looks for it (new URL('./worker-web.js', import.meta.url)).

import { createRequire } from 'node:module';
import { join } from 'node:path';
import { build } from 'esbuild';

/** The pool worker's module in @dinots/tensor's build. */
export const POOL_WORKER = join(createRequire(import.meta.url).resolve('@dinots/tensor'), '../backends/cpu/threads/worker-web.js');

/** Bundles `entries` (output name -> file) and the pool worker into `outdir`; returns esbuild's warnings. */
export async function bundle(entries: Record<string, string>, outdir: string): Promise<string[]> {
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
