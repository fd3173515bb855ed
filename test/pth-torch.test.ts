// .pth and safetensors files both ways against real PyTorch (fixtures/pth/torch_pth.py, run
// with Debian's /usr/bin/python3 and its python3-torch): dinots reads what torch.save wrote
// (every dtype, views, the official DINO layouts, deflated archives, a malicious pickle) and
// torch.load(weights_only=True) reads what dinots wrote; a ViT + DINOHead saved by one side
// and run by the other agrees to float32 precision. Without PyTorch the suite skips, saying
// why, except with CI=true, where it fails. DINOTS_TORCH_PYTHON names another interpreter.

import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Generator, type Tensor, randn, tensor } from '@dinots/tensor';
import { Namespace, type PthValue, loadPth, savePth, saveSafetensors } from '@dinots/nn';
import { MNIST, MNIST_MEAN, MNIST_STD, Subset, buildDinoNetworks, trainDino } from '@dinots/dino';

const PYTHON = process.env.DINOTS_TORCH_PYTHON ?? '/usr/bin/python3';
const script = fileURLToPath(new URL('../fixtures/pth/torch_pth.py', import.meta.url));
const cli = fileURLToPath(new URL('../../packages/dino/dist/src/cli.js', import.meta.url));
/** torch_pth.py's CONFIG, the network both sides build. */
const CONFIG = { img_size: 32, patch_size: 8, in_chans: 3, embed_dim: 32, depth: 2, num_heads: 4, out_dim: 16, hidden_dim: 48, bottleneck_dim: 24 };
const network = () => buildDinoNetworks({
  imgSize: CONFIG.img_size, patchSize: CONFIG.patch_size, inChans: CONFIG.in_chans, embedDim: CONFIG.embed_dim, depth: CONFIG.depth,
  numHeads: CONFIG.num_heads, outDim: CONFIG.out_dim, headHiddenDim: CONFIG.hidden_dim, headBottleneckDim: CONFIG.bottleneck_dim,
}, new Generator(1)).student.eval();

function python(...args: string[]): string {
  const r = spawnSync(PYTHON, [script, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`torch_pth.py ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** Why PyTorch cannot be used here, or null when it can. */
function torchMissing(): string | null {
  if (!existsSync(PYTHON)) return `${PYTHON} does not exist`;
  const r = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  return r.status === 0 ? null : `${PYTHON} cannot import torch (apt-get install python3-torch): ${r.stderr.trim().split('\n').pop()}`;
}

function maxAbsDiff(a: Tensor, b: Tensor): number {
  expect(a.shape).to.deep.equal(b.shape);
  const x = a.contiguous().dataSync();
  const y = b.contiguous().dataSync();
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

const strip = (dict: PthValue, prefix: string) =>
  Object.fromEntries(Object.entries(dict as Record<string, Tensor>).map(([k, v]) => [k.startsWith(prefix) ? k.slice(prefix.length) : k, v]));

describe('pth and safetensors against PyTorch', function () {
  const dir = mkdtempSync(join(tmpdir(), 'dinots-pth-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  before(function () {
    const missing = torchMissing();
    if (missing !== null) {
      if (process.env.CI === 'true') throw new Error(`pth-torch: PyTorch is required in CI but ${missing}`);
      console.log(`    [torch] skipping the PyTorch interoperability tests: ${missing}`);
      this.skip();
    }
    python('write', dir);
  });

  describe('torch.save -> loadPth', () => {
    it('reads every dtype, view, stride and offset, with shared storages kept shared', () => {
      const expected = JSON.parse(readFileSync(join(dir, 'dtypes.json'), 'utf8')) as Record<string, { dtype: string; size: number[]; stride: number[]; offset: number; values: (number | string)[] }>;
      const file = loadPth(join(dir, 'dtypes.pth')) as Record<string, PthValue>;
      const tensors = file.tensors as Record<string, Tensor>;
      const dinotsDtype: Record<string, string> = { float32: 'float32', float64: 'float64', float16: 'float32', bfloat16: 'float32', int64: 'int32', int32: 'int32', int16: 'int32', int8: 'int32', uint8: 'int32', bool: 'bool' };
      expect(Object.keys(tensors)).to.deep.equal(Object.keys(expected));
      for (const [name, e] of Object.entries(expected)) {
        const t = tensors[name];
        expect(t.dtype, name).to.equal(dinotsDtype[e.dtype]);
        expect([...t.shape], name).to.deep.equal(e.size);
        expect([...t.strides], name).to.deep.equal(e.stride);
        expect(t.offset, name).to.equal(e.offset);
        const values = e.values.map((v) => (typeof v === 'string' ? Number(v.replace('inf', 'Infinity')) : v));
        expect(Array.from(t.contiguous().dataSync(), Number), name).to.deep.equal(e.dtype === 'bool' ? values.map(Number) : values.map((v) => (e.dtype === 'float32' || e.dtype === 'float16' || e.dtype === 'bfloat16' ? Math.fround(v) : v)));
      }
      expect(tensors.float32_t.storage).to.equal(tensors.float32.storage);
      expect(tensors.float32_step.storage).to.equal(tensors.float32.storage);
      expect(tensors.float16_tail.storage).to.equal(tensors.float16.storage);
      expect(file.size).to.deep.equal([2, 3]);
      expect(file.nested).to.deep.equal([1, [2, 'x'], { k: null }]);
      expect(file.big).to.equal(2n ** 70n);
    });

    it('reads pickle protocol 5 (STACK_GLOBAL, MEMOIZE, FRAME) like protocol 2', () => {
      const two = loadPth(join(dir, 'dtypes.pth')) as Record<string, PthValue>;
      const five = loadPth(join(dir, 'protocol5.pth')) as Record<string, PthValue>;
      const tensors = (v: PthValue) => Object.entries(v as Record<string, Tensor>).map(([k, t]) => [k, t.dtype, [...t.shape], [...t.strides], t.offset, Array.from(t.contiguous().dataSync())]);
      expect(tensors(five.tensors)).to.deep.equal(tensors(two.tensors));
      expect({ ...five, tensors: null }).to.deep.equal({ ...two, tensors: null });
    });

    it("reads the backbone-only layout of dino_deitsmall16_pretrain.pth into a VisionTransformer, strictly", () => {
      const state = loadPth(join(dir, 'backbone.pth')) as Record<string, Tensor>;
      const vit = network().backbone;
      expect(Object.keys(state)).to.deep.equal(Object.keys(vit.stateDict()));
      expect(vit.loadStateDict(state)).to.deep.equal({ missingKeys: [], unexpectedKeys: [] });
    });

    it("reads main_dino.py's full checkpoint, and the student run by dinots matches PyTorch's output", () => {
      const ckpt = loadPth(join(dir, 'full.pth')) as Record<string, PthValue>;
      expect(Object.keys(ckpt)).to.deep.equal(['student', 'teacher', 'optimizer', 'epoch', 'args', 'dino_loss', 'fp16_scaler']);
      expect(Object.keys(ckpt.student as object).every((k) => k.startsWith('module.'))).to.equal(true);
      const args = ckpt.args as Namespace;
      expect(args).to.be.instanceOf(Namespace);
      expect({ ...args }).to.deep.include({ arch: 'vit_custom', patch_size: 8, lr: 0.0005, use_fp16: true, global_crops_scale: [0.4, 1] });
      expect(ckpt.epoch).to.equal(1);
      expect(ckpt.fp16_scaler).to.deep.equal({ scale: 65536, growth_factor: 2, backoff_factor: 0.5, growth_interval: 2000, _growth_tracker: 0 });
      expect([...((ckpt.dino_loss as Record<string, Tensor>).center.shape)]).to.deep.equal([1, 16]);
      const optimizer = ckpt.optimizer as { state: Map<number, Record<string, Tensor>>; param_groups: Record<string, unknown>[] };
      expect(optimizer.state).to.be.instanceOf(Map);
      expect([...optimizer.state.keys()].every((k) => typeof k === 'number')).to.equal(true);
      expect(optimizer.state.get(0)!.step.dataSync()[0]).to.equal(1);
      expect(optimizer.param_groups.map((g) => g.weight_decay)).to.deep.equal([0.01, 0]);
      expect(optimizer.param_groups[0].betas).to.deep.equal([0.9, 0.999]);

      const io = loadPth(join(dir, 'io.pth')) as Record<string, Tensor>;
      const student = network();
      expect(student.loadStateDict(strip(ckpt.student, 'module.'))).to.deep.equal({ missingKeys: [], unexpectedKeys: [] });
      const teacher = network();
      teacher.loadStateDict(ckpt.teacher as Record<string, Tensor>);
      const diff = maxAbsDiff(student.forward(io.input), io.output);
      console.log(`      torch-saved ViT + DINOHead run by dinots: max |dinots - torch| = ${diff.toExponential(2)} (float32, outputs up to ${Math.max(...Array.from(io.output.abs().dataSync())).toFixed(2)})`);
      expect(diff).to.be.below(1e-5);
      expect(maxAbsDiff(teacher.forward(io.input), io.output)).to.equal(diff);
    });

    it('reads deflated archives like stored ones', () => {
      const stored = loadPth(join(dir, 'full.pth')) as Record<string, Record<string, Tensor>>;
      const deflated = loadPth(readFileSync(join(dir, 'deflated.pth'))) as Record<string, Record<string, Tensor>>;
      for (const [k, t] of Object.entries(stored.teacher)) expect(maxAbsDiff(deflated.teacher[k], t), k).to.equal(0);
    });

    it('refuses a pickle that reduces to os.system, naming it, and runs nothing', () => {
      expect(() => loadPth(join(dir, 'evil.pth'))).to.throw(Error, /global '(posix|os)\.system' is not allowed/);
      expect(existsSync(join(dir, 'pwned'))).to.equal(false);
    });
  });

  describe('savePth and saveSafetensors -> torch', () => {
    let result: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    let modelDiff = 0;
    let exported: string;

    before(function () {
      this.timeout(600_000);
      const base = tensor([0, 1.5, -2, 3, 4, 5], { shape: [2, 3] });
      savePth(join(dir, 'dinots-dtypes.pth'), {
        tensors: {
          base, transposed: base.transpose(0, 1), row: base.select(0, 1),
          f64: tensor([1e-300, -0.1], { dtype: 'float64' }), i32: tensor([-(2 ** 31), 7], { dtype: 'int32' }), mask: tensor([true, false]),
          scalar: tensor(Float32Array.of(2.5), { shape: [] }),
        },
        ints: [0, -1, 300, 2 ** 40], text: 'ViT ∞', none: null, flag: true, keys: new Map([[3, 'three']]),
      });
      const student = network();
      const input = randn([2, 3, 32, 32], { generator: new Generator(2) });
      const output = student.forward(input);
      savePth(join(dir, 'dinots-model.pth'), { model: student.stateDict(), input, output, config: CONFIG });
      saveSafetensors(join(dir, 'dinots.safetensors'), { w: base, d: tensor([0.1], { dtype: 'float64' }), i: tensor([-3], { dtype: 'int32' }), b: tensor([true]) }, { note: 'dinots' });

      const mnist = new MNIST();
      const run = trainDino({
        dataset: new Subset(mnist, Array.from({ length: 8 }, (_, i) => i * 997)),
        model: { imgSize: 28, patchSize: 7, inChans: 1, embedDim: 16, depth: 1, numHeads: 2, outDim: 32, headHiddenDim: 16, headBottleneckDim: 8 },
        augmentation: { globalCropSize: 28, localCropSize: 14, localCropsNumber: 2, mean: MNIST_MEAN, std: MNIST_STD },
        batchSize: 4, epochs: 1, warmupEpochs: 0, freezeLastLayer: 0, progress: false, outputDir: join(dir, 'run'),
      });
      exported = join(dir, 'dinots-export.pth');
      const r = spawnSync(process.execPath, [cli, 'export', run.checkpointPath!, exported], { encoding: 'utf8' });
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/wrote .*dinots-export\.pth: student \(\d+ tensors, 'module\.' keys\), teacher/);
      result = JSON.parse(python('read', dir));
      modelDiff = result.model.max_abs_diff;
    });

    it('torch.load(weights_only=True) reads every dtype, view and plain value as written', () => {
      const d = result.dtypes;
      expect(d.base).to.deep.equal({ dtype: 'float32', size: [2, 3], stride: [3, 1], offset: 0, values: [0, 1.5, -2, 3, 4, 5] });
      expect(d.transposed).to.deep.include({ size: [3, 2], stride: [1, 3], offset: 0 });
      expect(d.row).to.deep.include({ size: [3], stride: [1], offset: 3, values: [3, 4, 5] });
      expect(d.f64).to.deep.include({ dtype: 'float64', values: [1e-300, -0.1] });
      expect(d.i32).to.deep.include({ dtype: 'int32', values: [-(2 ** 31), 7] });
      expect(d.mask).to.deep.include({ dtype: 'bool', values: [true, false] });
      expect(d.scalar).to.deep.include({ size: [], values: [2.5] });
      expect(result.shares).to.equal(true);
      expect(result.plain).to.deep.equal({ ints: [0, -1, 300, 2 ** 40], text: 'ViT ∞', none: null, flag: true, keys: { 3: 'three' } });
    });

    it('a dinots ViT + DINOHead run by PyTorch gives dinots\' output', () => {
      console.log(`      dinots-saved ViT + DINOHead run by torch: max |torch - dinots| = ${modelDiff.toExponential(2)} (float32, ${result.model.keys} tensors)`);
      expect(result.model.dtype).to.equal('torch.float32');
      expect(modelDiff).to.be.below(1e-5);
    });

    it("`dinots export` gives main_dino.py's layout: strict student, teacher and AdamW loads, and eval_knn.py's teacher loading", () => {
      const e = result.export;
      expect(e.keys).to.deep.equal(['args', 'dino_loss', 'epoch', 'optimizer', 'student', 'teacher']);
      expect(e.student_prefix).to.equal(true);
      expect(e.epoch).to.equal(1);
      expect(e.center).to.deep.equal([1, 32]);
      expect(e.step).to.deep.equal([2]);
      expect(e.optimizer_state).to.be.above(0);
      expect(e.knn_missing).to.deep.equal([]);
      expect(e.knn_unexpected).to.deep.equal(['head']);
      expect(e.args).to.deep.include({ arch: 'vit_custom', patch_size: 7, out_dim: 32, use_fp16: false, optimizer: 'adamw', batch_size_per_gpu: 4, epochs: 1 });
      // PyTorch 1.13's weights-only unpickler lacks BINFLOAT (floats in args); PyTorch >= 2.0 reads the file.
      expect(result.export_weights_only).to.match(/^(ok|Unsupported operand 71)$/);
    });

    it('safetensors written by dinots read by torch-free Python (struct and json)', () => {
      const s = result.safetensors;
      expect(s.metadata).to.deep.equal({ note: 'dinots' });
      expect(s.tensors.w).to.deep.equal({ dtype: 'F32', shape: [2, 3], values: [0, 1.5, -2, 3, 4, 5] });
      expect(s.tensors.d).to.deep.equal({ dtype: 'F64', shape: [1], values: [0.1] });
      expect(s.tensors.i).to.deep.equal({ dtype: 'I32', shape: [1], values: [-3] });
      expect(s.tensors.b).to.deep.equal({ dtype: 'BOOL', shape: [1], values: [true] });
    });
  });
});
