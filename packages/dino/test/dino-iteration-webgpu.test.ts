// dinoIterationAsync on the GPU backend in webgpu mode (gpu.js's WGSL kernels on Dawn),
// where every read is `await t.data()`: a few DINO iterations run end to end on the device
// (forward, the loss read, backward, clipping, AdamW, the teacher's EMA) and follow the
// same iterations on the CPU within float32 tolerance, with GPU memory flat.
// Skipped with the reason where WebGPU cannot run, except in CI under the WebGPU runtime
// (CI=true and DINOTS_WEBGPU_RUNTIME=1, set by scripts/test.sh), where that is a failure.

import { expect } from 'chai';
import { type Backend, type Device, Generator, GpuBackend, GpuContext, type Tensor, getBackend, memory, randn, registerBackend } from '@dinots/tensor';
import { AdamW } from '@dinots/nn';
import { DINOLoss, type DinoIterationResult, type DinoIterationState, buildDinoNetworks, dinoIteration, dinoIterationAsync, getParamsGroups } from '../src/index.js';

const MODEL = { imgSize: 28, patchSize: 7, inChans: 1, embedDim: 16, depth: 1, numHeads: 2, outDim: 32, headHiddenDim: 16, headBottleneckDim: 8, dropPathRate: 0.1 };
const ITERATIONS = 3;

/** A fresh run on `device`: networks from seed 5, the loss, AdamW with DINO's two parameter groups. */
function setup(device: Device): DinoIterationState {
  const { student, teacher } = buildDinoNetworks(MODEL, new Generator(5));
  student.to(device);
  teacher.to(device);
  const dinoLoss = new DINOLoss({ outDim: MODEL.outDim, ncrops: 4, warmupTeacherTemp: 0.04, teacherTemp: 0.04, warmupTeacherTempEpochs: 0, epochs: 1, device });
  const optimizer = new AdamW(getParamsGroups(student), { lr: 0.01, weightDecay: 0.04 });
  return { student, teacher, dinoLoss, optimizer, clipGrad: 3, freezeLastLayer: 0 };
}

/** Iteration i's crops (two 28x28 global, two 14x14 local, batch 4), the same on every device. */
function crops(i: number): Tensor[] {
  const generator = new Generator(100 + i);
  return [28, 28, 14, 14].map((size) => randn([4, 1, size, size], { generator }));
}

/** GPU storages allocated and not explicitly freed (see memory()). */
function held(): number {
  const m = memory();
  return m.allocated - m.disposed;
}

describe('dinoIterationAsync on the GPU backend in webgpu mode', function () {
  const cpu: DinoIterationResult[] = [];
  const gpu: DinoIterationResult[] = [];
  const heldAfter: number[] = [];
  let cpuState: DinoIterationState;
  let gpuState: DinoIterationState;
  let saved: Backend | undefined;

  before(async function () {
    try {
      saved = getBackend('gpu'); // the process's GPU backend, back in place after this suite
    } catch {
      // none starts here (no GL): nothing to put back
    }
    let backend: GpuBackend;
    try {
      backend = new GpuBackend(new GpuContext({ mode: 'webgpu' }));
      await backend.context.ready();
    } catch (e) {
      const reason = (e as Error).message.split('\n')[0];
      if (process.env.CI === 'true' && process.env.DINOTS_WEBGPU_RUNTIME === '1') throw new Error(`dinoIterationAsync: webgpu is required here but cannot run: ${reason}`);
      console.log(`    [gpu] skipping dinoIterationAsync in webgpu mode: ${reason}`);
      this.skip();
    }
    registerBackend('gpu', () => backend);
    cpuState = setup('cpu');
    gpuState = setup('gpu');
    for (let i = 0; i < ITERATIONS; i++) {
      cpu.push(dinoIteration(cpuState, crops(i), 0, 0.99));
      const onGpu = crops(i).map((c) => c.to('gpu'));
      gpu.push(await dinoIterationAsync(gpuState, onGpu, 0, 0.99));
      for (const c of onGpu) c.dispose();
      heldAfter.push(held());
    }
  });
  after(() => {
    if (saved !== undefined) registerBackend('gpu', () => saved!);
  });

  it('trains on the GPU and follows the CPU losses and teacher probabilities within float32 tolerance', () => {
    expect([...gpuState.student.parameters()].every((p) => p.device === 'gpu')).to.equal(true);
    cpu.forEach((c, i) => {
      const g = gpu[i];
      expect(Math.abs(g.loss - c.loss), `iteration ${i}: loss ${g.loss} on the GPU, ${c.loss} on the CPU`).to.be.below(1e-3 * Math.abs(c.loss));
      expect(g.probsShape).to.deep.equal(c.probsShape);
      const worst = Math.max(...Array.from(c.teacherProbs, (p, j) => Math.abs(p - g.teacherProbs[j])));
      expect(worst, `iteration ${i}: largest teacher probability difference`).to.be.below(1e-3);
    });
    // The trajectory moves: the comparison is not between copies of the first loss.
    expect(new Set(cpu.map((r) => r.loss)).size).to.equal(ITERATIONS);
  });

  it('updates the teacher on the device as the CPU run does (EMA of the AdamW-updated student)', async () => {
    const teacherCpu = cpuState.teacher.stateDict();
    for (const [key, t] of Object.entries(gpuState.teacher.stateDict())) {
      const g = await t.data();
      const c = teacherCpu[key].dataSync();
      // |difference| within 1e-3 of |value|, plus 1e-5: the key bias gets an exactly zero
      // gradient (softmax ignores a constant added to every score), so AdamW's step on it is
      // the ratio of two rounding errors, which differ between the devices
      const worst = Math.max(...Array.from(c, (v, j) => Math.abs(v - g[j]) - 1e-3 * Math.abs(v)));
      expect(worst, `${key}: largest difference beyond 1e-3 of the value`).to.be.below(1e-5);
    }
  });

  it('keeps GPU memory flat across iterations', () => {
    expect(new Set(heldAfter).size, `live GPU storages after each iteration: ${heldAfter.join(', ')}`).to.equal(1);
  });

  it('refuses a non-finite loss before the weights change', async () => {
    const before = await gpuState.student.stateDict()['backbone.cls_token'].data();
    const bad = crops(9).map((c) => c.mul(Number.NaN).to('gpu'));
    let message = '';
    try {
      await dinoIterationAsync(gpuState, bad, 0, 0.99);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).to.match(/^dinoIterationAsync: the loss is NaN/);
    expect(Array.from(await gpuState.student.stateDict()['backbone.cls_token'].data())).to.deep.equal(Array.from(before));
  });
});
