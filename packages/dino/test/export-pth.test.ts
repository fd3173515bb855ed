// `officialCheckpoint` / `dinots export`: the layout of main_dino.py's checkpoint, checked
// through loadPth (test/pth-torch.test.ts loads the same files into PyTorch).

import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Tensor } from '@dinots/tensor';
import { type PthValue, loadPth, serializePth } from '@dinots/nn';
import { MNIST, MNIST_MEAN, MNIST_STD, Subset, officialCheckpoint, trainDino } from '../src/index.js';

function train(dir: string, headUseBn: boolean): string {
  const mnist = new MNIST();
  return trainDino({
    dataset: new Subset(mnist, [0, 1000, 2000, 3000]),
    model: { imgSize: 28, patchSize: 14, inChans: 1, embedDim: 8, depth: 1, numHeads: 2, outDim: 16, headHiddenDim: 8, headBottleneckDim: 4, headUseBn },
    augmentation: { globalCropSize: 28, localCropSize: 14, localCropsNumber: 1, mean: MNIST_MEAN, std: MNIST_STD },
    batchSize: 4, epochs: 1, warmupEpochs: 0, freezeLastLayer: 0, progress: false, outputDir: dir,
  }).checkpointPath!;
}

describe('officialCheckpoint (dinots export)', function () {
  this.timeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), 'dinots-export-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("maps a dinots checkpoint onto main_dino.py's save_dict, and survives savePth/loadPth", () => {
    const ckpt = loadPth(serializePth(officialCheckpoint(train(join(dir, 'plain'), false)))) as Record<string, PthValue>;
    expect(Object.keys(ckpt)).to.deep.equal(['student', 'teacher', 'optimizer', 'epoch', 'args', 'dino_loss']);
    const student = Object.keys(ckpt.student as object);
    expect(student.every((k) => k.startsWith('module.'))).to.equal(true);
    expect(student).to.include.members(['module.backbone.cls_token', 'module.head.last_layer.weight_v']);
    expect(Object.keys(ckpt.teacher as object)).to.deep.equal(student.map((k) => k.slice('module.'.length)));
    const optimizer = ckpt.optimizer as { state: Map<number, Record<string, Tensor>>; param_groups: Record<string, unknown>[] };
    expect(optimizer.param_groups.map((g) => Object.keys(g))).to.deep.equal([0, 1].map(() => ['lr', 'betas', 'eps', 'weight_decay', 'amsgrad', 'foreach', 'maximize', 'capturable', 'params']));
    expect(optimizer.param_groups[1].weight_decay).to.equal(0);
    const indices = optimizer.param_groups.flatMap((g) => g.params as number[]);
    expect([...optimizer.state.keys()].sort((a, b) => a - b)).to.deep.equal([...indices].sort((a, b) => a - b));
    const first = optimizer.state.get(0)!;
    expect([...first.step.shape]).to.deep.equal([]);
    expect(first.step.dataSync()[0]).to.equal(1);
    expect(first.exp_avg.shape).to.deep.equal(first.exp_avg_sq.shape);
    expect(ckpt.epoch).to.equal(1);
    expect(ckpt.args).to.deep.include({ arch: 'vit_custom', patch_size: 14, out_dim: 16, use_bn_in_head: false, use_fp16: false, batch_size_per_gpu: 4, local_crops_number: 1 });
    expect([...((ckpt.dino_loss as Record<string, Tensor>).center.shape)]).to.deep.equal([1, 16]);
  });

  it("prefixes the teacher with 'module.' when the head has BatchNorm, as main_dino.py's DDP teacher", () => {
    const ckpt = officialCheckpoint(train(join(dir, 'bn'), true));
    expect(Object.keys(ckpt.teacher as object).every((k) => k.startsWith('module.'))).to.equal(true);
    expect(ckpt.args).to.deep.include({ use_bn_in_head: true });
  });
});
