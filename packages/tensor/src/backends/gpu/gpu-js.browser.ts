// gpu.js for browsers: its prebuilt bundle (dist/gpu-browser.js, which gpu.js's package.json
// names in its "browser" field, so bundlers pick it), imported statically so that a bundle
// of dinots carries it. Selected by package.json's "#gpu-js" import under the `browser`
// condition; gpu-js.ts is the Node twin. The bundle is UMD: imported, it exports the GPU
// class, which also carries every other export (GPU.WebGPUContext, ...).

import GPU from 'gpu.js';
import type { GpuJsModule } from './mode.js';

const loaded = { ...(GPU as unknown as Record<string, unknown>), GPU } as unknown as GpuJsModule;

/** The gpu.js module (the GPU class and its helpers, e.g. WebGPUContext). */
export function gpuJs(): GpuJsModule {
  return loaded;
}
