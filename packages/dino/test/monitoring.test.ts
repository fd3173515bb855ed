import { expect } from 'chai';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { full, tensor } from '@dinots/tensor';
import { DINOLoss, JsonlLogger, ProgressBar, checkCollapse, formatDuration, formatMetric, teacherEntropy, toJsonLine, writeFileAtomic } from '../src/index.js';
import { golden } from './golden.js';

describe('collapse monitor', () => {
  it('measures entropies in nats against log K', () => {
    const uniform = teacherEntropy(full([4, 8], 1 / 8, { dtype: 'float64' }));
    expect(uniform.meanEntropy).to.be.closeTo(Math.log(8), 1e-12);
    expect(uniform.maxEntropy).to.equal(Math.log(8));
    const oneHotSame = teacherEntropy(tensor([[1, 0, 0], [1, 0, 0]], { dtype: 'float64' }));
    expect([oneHotSame.meanEntropy, oneHotSame.entropyOfMean]).to.deep.equal([0, 0]);
    const oneHotSpread = teacherEntropy(tensor([[1, 0], [0, 1]], { dtype: 'float64' }));
    expect(oneHotSpread.entropyOfMean).to.be.closeTo(Math.log(2), 1e-15);
  });

  it('names the collapse it sees', () => {
    expect(checkCollapse(teacherEntropy(full([4, 8], 1 / 8))).kind).to.equal('uniform');
    const dominant = checkCollapse(teacherEntropy(tensor([[1, 0, 0, 0], [1, 0, 0, 0]])));
    expect(dominant.kind).to.equal('dominant');
    expect(dominant.message).to.match(/teacher entropy 0\.000 \(0 \.\. log K = 1\.386\), entropy of the batch mean 0\.000: COLLAPSE \(one output\)/);
    expect(checkCollapse(teacherEntropy(tensor([[1, 0, 0, 0], [0, 0, 1, 0]]))).kind).to.equal('none');
    // the golden teacher at step 1 (temperature 0.04) is sharp and diverse
    const probs = new DINOLoss({ outDim: 48, ncrops: 6, warmupTeacherTemp: 0.04, teacherTemp: 0.04, warmupTeacherTempEpochs: 0, epochs: 1, dtype: 'float64' }).teacherProbs(golden('step1/teacher_head_out'), 0);
    expect(checkCollapse(teacherEntropy(probs)).kind).to.equal('none');
  });
});

describe('progress bar', () => {
  it('renders steps, metrics, rate and eta', () => {
    let t = 0;
    const lines: string[] = [];
    const bar = new ProgressBar(100, { label: 'epoch 1/3', width: 10, stream: { write: (s: string) => lines.push(s) }, everyLines: 50, now: () => t });
    t = 4000;
    expect(bar.render(40, { loss: 5.12345, lr: 0.0002 })).to.equal('epoch 1/3  [####------]   40/100  loss 5.1235  lr 2.00e-4  10.0 it/s  eta 0:06');
    for (let i = 1; i <= 100; i++) bar.update(i);
    expect(lines.length).to.equal(2); // updates 50 and 100
    bar.log('warning');
    expect(lines[2]).to.equal('warning\n');
  });

  it('rewrites one line on a TTY', () => {
    const out: string[] = [];
    const bar = new ProgressBar(2, { stream: { write: (s: string) => out.push(s), isTTY: true }, now: () => 0 });
    bar.update(1);
    bar.update(2);
    expect(out[0].startsWith('\r')).to.equal(true);
    expect(out[1].endsWith('\n')).to.equal(true);
  });

  it('formats numbers and durations', () => {
    expect([0, 1.5, 0.001234, 123456, NaN].map(formatMetric)).to.deep.equal(['0.0000', '1.5000', '1.23e-3', '1.23e+5', 'NaN']);
    expect([5, 65, 3725, Infinity].map(formatDuration)).to.deep.equal(['0:05', '1:05', '1:02:05', '?']);
  });
});

describe('logs and atomic writes', () => {
  let dir = '';
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'dinots-log-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('appends one JSON object per line, keeping non-finite numbers', () => {
    const logger = new JsonlLogger(join(dir, 'sub', 'log.jsonl'));
    logger.log({ it: 1, loss: 2.5 });
    logger.log({ it: 2, loss: NaN });
    const lines = readFileSync(join(dir, 'sub', 'log.jsonl'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines).to.deep.equal([{ it: 1, loss: 2.5 }, { it: 2, loss: 'NaN' }]);
    expect(toJsonLine({ x: -Infinity })).to.equal('{"x":"-Infinity"}\n');
  });

  it('replaces a file whole and leaves no temporary file behind', () => {
    const path = join(dir, 'ckpt.json');
    writeFileSync(path, 'old');
    writeFileAtomic(path, 'new contents');
    expect(readFileSync(path, 'utf8')).to.equal('new contents');
    writeFileAtomic(path, new Uint8Array([1, 2, 3]));
    expect(Array.from(readFileSync(path))).to.deep.equal([1, 2, 3]);
    expect(readdirSync(dir)).to.deep.equal(['ckpt.json']);
    expect(() => writeFileAtomic(join(dir, 'missing', 'x'), 'y')).to.throw(/ENOENT/);
    expect(existsSync(join(dir, 'missing'))).to.equal(false);
  });
});
