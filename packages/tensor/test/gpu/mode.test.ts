// Mode detection: what backendInfo() reports, and the environment/option overrides.

import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import * as T from '../../src/index.js';
import { GpuContext } from '../../src/backends/gpu/context.js';
import { chooseMode, requestedMode } from '../../src/backends/gpu/mode.js';
import { gpuBackendFor, isRequired } from './targets.js';

describe('gpu mode detection', () => {
  const saved = process.env.DINOTS_GPU_MODE;
  afterEach(() => {
    if (saved === undefined) delete process.env.DINOTS_GPU_MODE;
    else process.env.DINOTS_GPU_MODE = saved;
  });

  it('backendInfo() names the live mode, never calls the cpu fallback a GPU, and says why modes were skipped', () => {
    const info = T.backendInfo();
    expect(T.GPU_MODES).to.include(info.mode);
    expect(info.isGpu).to.equal(info.mode !== 'cpu');
    expect(info.probes.map((p) => p.mode)).to.deep.equal(['webgpu', 'headlessgl', 'webgl2', 'webgl', 'cpu']);
    for (const p of info.probes) expect(p.available || p.reason.length > 0, `${p.mode} has a reason`).to.equal(true);
    // auto-detection picks the first available mode in probe order, webgpu first
    if (info.requested === 'auto') expect(info.mode).to.equal(info.probes.find((p) => p.available)!.mode);
    if (info.isGpu && info.mode !== 'webgpu') expect(info.maxTextureSize).to.be.greaterThan(1000);
  });

  it('DINOTS_GPU_MODE and the option choose the mode; the option wins', () => {
    process.env.DINOTS_GPU_MODE = 'cpu';
    expect(new GpuContext().info).to.include({ mode: 'cpu', requested: 'cpu', isGpu: false });
    process.env.DINOTS_GPU_MODE = 'bogus';
    expect(() => new GpuContext()).to.throw(/unknown mode 'bogus' \(from DINOTS_GPU_MODE\)/);
    expect(new GpuContext({ mode: 'cpu' }).info.mode).to.equal('cpu');
    delete process.env.DINOTS_GPU_MODE;
    expect(requestedMode(undefined)).to.equal('auto');
  });

  it('a requested mode that cannot run fails with the probe reason', () => {
    const probes = [
      { mode: 'webgpu' as const, available: false, reason: 'no adapter' },
      { mode: 'cpu' as const, available: true, reason: '' },
    ];
    expect(() => chooseMode('webgpu', probes)).to.throw("gpu: mode 'webgpu' was requested but cannot run here: no adapter");
    expect(chooseMode('auto', probes)).to.equal('cpu');
    const withWebGpu = [{ mode: 'webgpu' as const, available: true, reason: '' }, ...probes.slice(1)];
    expect(chooseMode('auto', withWebGpu), 'auto takes webgpu first').to.equal('webgpu');
    expect(chooseMode('webgpu', withWebGpu)).to.equal('webgpu');
  });

  it('in a fresh process: DINOTS_GPU_MODE picks the mode, configureGpu() wins over it and is refused once started', () => {
    const index = new URL('../../src/index.js', import.meta.url).href;
    const script = `
      const T = await import(${JSON.stringify(index)});
      const first = T.backendInfo().mode;
      let refused = '';
      try { T.configureGpu({ mode: 'cpu' }); } catch (e) { refused = e.message; }
      console.log(JSON.stringify({ first, refused }));`;
    const run = (env: Record<string, string>) =>
      JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ...env }, encoding: 'utf8' }));
    const viaEnv = run({ DINOTS_GPU_MODE: 'cpu' });
    expect(viaEnv.first).to.equal('cpu');
    expect(viaEnv.refused).to.match(/configureGpu: the GPU backend already runs in mode 'cpu'/);
    const optionScript = `
      const T = await import(${JSON.stringify(index)});
      T.configureGpu({ mode: 'cpu' });
      console.log(JSON.stringify(T.backendInfo()));`;
    const info = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', optionScript], { env: { ...process.env, DINOTS_GPU_MODE: 'bogus' }, encoding: 'utf8' }));
    expect(info).to.include({ mode: 'cpu', requested: 'cpu', isGpu: false });
  });

  it('in a fresh process: await gpuReady() auto-detects webgpu first where it has an adapter, and falls through where it has none', function () {
    this.timeout(60_000);
    const index = new URL('../../src/index.js', import.meta.url).href;
    // process.exit: a Dawn instance keeps Node's event loop alive
    const script = `
      const T = await import(${JSON.stringify(index)});
      const info = await T.gpuReady();
      console.log(JSON.stringify({ mode: info.mode, probes: info.probes, adapter: info.adapter }));
      process.exit(0);`;
    const run = (env: Record<string, string>) =>
      JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, DINOTS_GPU_MODE: '', ...env }, encoding: 'utf8' }));
    const auto = run({});
    expect(auto.mode, 'the first available mode in probe order').to.equal(auto.probes.find((p: { available: boolean }) => p.available).mode);
    if (auto.mode === 'webgpu') expect(auto.adapter).to.not.equal(null);
    if (isRequired('webgpu')) expect(auto.mode, 'under the WebGPU runtime in CI, auto-detection picks webgpu').to.equal('webgpu');
    // no Vulkan driver: WebGPU loads (where it does) but has no adapter; auto-detection goes on to the next mode
    const noDriver = run({ VK_DRIVER_FILES: '/nonexistent/icd.json', VK_ICD_FILENAMES: '/nonexistent/icd.json' });
    expect(noDriver.mode).to.not.equal('webgpu');
    const webgpu = noDriver.probes.find((p: { mode: string }) => p.mode === 'webgpu');
    expect(webgpu.available).to.equal(false);
    if (auto.mode === 'webgpu') expect(webgpu.reason).to.match(/WebGPU loads but (has no adapter|requesting an adapter failed)/);
  });

  it('headlessgl runs in CI (CI=true), where a missing WebGL backend is a failure', async function () {
    if (!isRequired('headlessgl')) this.skip();
    const backend = await gpuBackendFor('headlessgl');
    expect(typeof backend === 'string' ? backend : backend.info.mode).to.equal('headlessgl');
  });

  it('webgpu runs in CI under the WebGPU runtime (DINOTS_WEBGPU_RUNTIME=1), and reports its adapter', async function () {
    if (!isRequired('webgpu')) this.skip();
    const backend = await gpuBackendFor('webgpu');
    expect(typeof backend === 'string' ? backend : backend.info.mode).to.equal('webgpu');
    if (typeof backend !== 'string') {
      expect(backend.info.adapter).to.not.equal(null);
      expect(backend.info.renderer).to.be.a('string').and.not.equal('');
    }
  });
});
