// Mode detection: what backendInfo() reports, and the environment/option overrides.

import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import * as T from '../../src/index.js';
import { GpuContext } from '../../src/backends/gpu/context.js';
import { chooseMode, requestedMode } from '../../src/backends/gpu/mode.js';
import { gpuBackendOrSkip, isRequired } from './targets.js';

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
    // auto-detection picks the first available mode in probe order; in Node without webgpu, which runs only when forced
    if (info.requested === 'auto') expect(info.mode).to.equal(info.probes.find((p) => p.available && p.mode !== 'webgpu')!.mode);
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
    expect(chooseMode('auto', withWebGpu, false), 'in a browser auto takes webgpu first').to.equal('webgpu');
    expect(chooseMode('auto', withWebGpu, true), 'in Node auto leaves webgpu out').to.equal('cpu');
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

  it('in a fresh process: await gpuReady() in Node never auto-selects webgpu (Dawn would keep the process alive), and the process exits', function () {
    this.timeout(60_000);
    const index = new URL('../../src/index.js', import.meta.url).href;
    const script = `
      const T = await import(${JSON.stringify(index)});
      const info = await T.gpuReady();
      console.log(JSON.stringify({ mode: info.mode, probes: info.probes }));`;
    // no process.exit(): the run must end on its own (execFileSync's timeout fails the test otherwise)
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, DINOTS_GPU_MODE: '' }, encoding: 'utf8', timeout: 30_000 });
    const auto = JSON.parse(out);
    expect(auto.mode).to.not.equal('webgpu');
    expect(auto.mode, 'the first available mode in probe order after webgpu').to.equal(auto.probes.find((p: { available: boolean; mode: string }) => p.available && p.mode !== 'webgpu').mode);
    if (isRequired('webgpu')) expect(auto.probes[0], 'under the WebGPU runtime in CI webgpu is available, just not auto-selected').to.include({ mode: 'webgpu', available: true });
  });

  it('headlessgl runs where it can, and in CI (CI=true), where a missing WebGL backend is a failure', async function () {
    const backend = await gpuBackendOrSkip(this, 'headlessgl');
    expect(backend.info.mode).to.equal('headlessgl');
  });

  it('webgpu runs where it can, and in CI under the WebGPU runtime (DINOTS_WEBGPU_RUNTIME=1), and reports its adapter', async function () {
    const backend = await gpuBackendOrSkip(this, 'webgpu');
    expect(backend.info.mode).to.equal('webgpu');
    expect(backend.info.adapter).to.not.equal(null);
    expect(backend.info.renderer).to.be.a('string').and.not.equal('');
  });
});
