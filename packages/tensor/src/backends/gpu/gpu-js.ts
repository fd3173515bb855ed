// gpu.js for Node: its CommonJS entry (src/index.js, which reaches headless-gl and Dawn),
// loaded on first use. package.json's "#gpu-js" import selects this file under the `node`
// and default conditions and gpu-js.browser.ts under `browser`, so that a browser bundle
// never sees node:module (https://nodejs.org/api/packages.html#subpath-imports).

import { createRequire } from 'node:module';
import type { GpuJsModule } from './mode.js';

let loaded: GpuJsModule | null = null;

/** The gpu.js module (the GPU class and its helpers, e.g. WebGPUContext). */
export function gpuJs(): GpuJsModule {
  loaded ??= createRequire(import.meta.url)('gpu.js') as GpuJsModule;
  return loaded;
}
