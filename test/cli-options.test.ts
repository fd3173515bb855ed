// The dinots CLI's option handling, run as a user runs it: every option is validated before
// any work starts, --help prints the usage, a corrupt image is named (or skipped on request),
// a resumed run's log.jsonl holds each iteration once, --save-every sets the checkpoint
// frequency, and a checkpoint may be named by its .json sidecar.

import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rand, Generator } from '@dinots/tensor';
import { encodePng } from '@dinots/dino';

const cli = fileURLToPath(new URL('../../packages/dino/dist/src/cli.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
/** A model small enough that an iteration takes a fraction of a second. */
const tiny = ['--embed-dim', '16', '--depth', '1', '--heads', '2', '--out-dim', '32', '--local-crops', '2', '--batch-size', '2', '--epochs', '1'];
const iterationsOf = (out: string) =>
  readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((line) => (JSON.parse(line) as { iteration: number }).iteration);

describe('dinots CLI options', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dinots-cli-options-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('--help prints the subcommand usage and exits 0', () => {
    for (const command of ['train', 'knn', 'attention', 'parity']) {
      const r = run(command, '--help');
      expect(r.status, `${command}: ${r.stderr}`).to.equal(0);
      expect(r.stdout).to.match(new RegExp(`^usage: dinots ${command}`));
    }
    expect(run('train', '-h').stdout).to.match(/--save-every <int> +checkpoint every N iterations/);
  });

  const invalid: [string[], RegExp][] = [
    [['--lr', 'abc'], /^dinots train: --lr expects a number, got 'abc'$/m],
    [['--lr=-1'], /^dinots train: argument '--lr' must be a finite number > 0, got -1 \(a number\)$/m],
    [['--lr', 'Infinity'], /^dinots train: --lr expects a number, got 'Infinity'$/m],
    [['--epochs', '0'], /^dinots train: argument '--epochs' must be an integer >= 1, got 0/m],
    [['--batch-size', '1.5'], /^dinots train: argument '--batch-size' must be an integer, got 1\.5/m],
    [['--momentum', '2'], /^dinots train: argument '--momentum' must be a number >= 0 and <= 1, got 2/m],
    [['--save-every', '0'], /^dinots train: argument '--save-every' must be an integer >= 1, got 0/m],
    [['--heads', '3'], /^dinots train: --embed-dim 64 is not divisible by --heads 3$/m],
    [['--patch', '29'], /^dinots train: --patch 29 is larger than the 28-pixel images$/m],
    [['--data', '/nonexistent-folder'], /^dinots train: --data '\/nonexistent-folder' is not a folder$/m],
    [['--epoch', '3'], /^dinots train: Unknown option '--epoch'/m],
    [['--out'], /^dinots train: Option '--out <value>' argument missing/m],
  ];
  for (const [args, message] of invalid) {
    it(`train ${args.join(' ')}: refused before training, with the usage, exit 2`, () => {
      const out = join(dir, `never-${args.join('')}`);
      const r = run('train', '--out', out, ...args);
      expect(r.status, r.stderr).to.equal(2);
      expect(r.stderr).to.match(message);
      expect(r.stderr).to.match(/usage: dinots train \[options\]/);
      expect(existsSync(out), 'nothing may be written').to.equal(false);
    });
  }

  it('knn and attention validate their operands and options too', () => {
    expect(run('knn').stderr).to.match(/^dinots knn: expected 1 operand, got 0/);
    expect(run('knn', 'a', '--k', '0').stderr).to.match(/^dinots knn: argument '--k' must be an integer >= 1, got 0/);
    expect(run('attention', 'a').stderr).to.match(/^dinots attention: --out <dir> is required/);
    expect(run('attention', 'a', '--out', 'x', '--threshold', '1.5').status).to.equal(2);
  });

  describe('with an image folder holding a truncated PNG', () => {
    const data = join(dir, 'images');
    const bad = join(data, 'b', 'z-truncated.png');
    before(() => {
      const gen = new Generator(1);
      for (const cls of ['a', 'b']) {
        mkdirSync(join(data, cls), { recursive: true });
        // 4 + 3 good images and the truncated one: 4 batches of 2 use every file
        for (let i = 0; i < (cls === 'a' ? 4 : 3); i++) writeFileSync(join(data, cls, `${i}.png`), encodePng(rand([3, 16, 16], { generator: gen })));
      }
      const whole = encodePng(rand([3, 16, 16], { generator: gen }));
      writeFileSync(bad, whole.subarray(0, whole.length - 40));
    });
    const images = ['--data', data, '--patch', '4', ...tiny];

    it('training stops with an error that names the file', () => {
      const r = run('train', '--out', join(dir, 'fails'), ...images);
      expect(r.status).to.equal(1);
      expect(r.stderr).to.contain(`decodeImage: cannot decode ${bad} as PNG (truncated or corrupt?)`);
    });

    it('--skip-bad-images trains on, warning once with the file name', () => {
      const r = run('train', '--out', join(dir, 'skips'), '--skip-bad-images', ...images);
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/trained 4\/4 iterations/);
      const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning: skipping'));
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.contain(bad);
    });

    it('--save-every 1 leaves a checkpoint of the last completed iteration when a run fails mid-epoch', () => {
      const out = join(dir, 'every');
      const r = run('train', '--out', out, '--save-every', '1', ...images);
      expect(r.status).to.equal(1);
      const done = iterationsOf(out).length;
      expect(done, 'the seed puts the bad image after the first batch').to.be.greaterThan(0);
      expect((JSON.parse(readFileSync(join(out, 'checkpoint.json'), 'utf8')) as { iteration: number }).iteration).to.equal(done);
      // without --save-every the first checkpoint comes at the end of the epoch
      const plain = join(dir, 'plain');
      expect(run('train', '--out', plain, ...images).status).to.equal(1);
      expect(existsSync(join(plain, 'checkpoint.json'))).to.equal(false);
    });
  });

  it('a resumed run logs every iteration once, and knn accepts the checkpoint by its .json sidecar', () => {
    const out = join(dir, 'resume');
    const train = (...extra: string[]) => run('train', '--out', out, ...tiny, '--epochs', '2', ...extra);
    expect(train('--max-iterations', '2').status).to.equal(0);
    const saved = join(dir, 'resume-at-2');
    mkdirSync(saved);
    for (const f of ['checkpoint.safetensors', 'checkpoint.json']) copyFileSync(join(out, f), join(saved, f));
    expect(train('--max-iterations', '4', '--resume').status).to.equal(0);
    expect(iterationsOf(out)).to.deep.equal([0, 1, 2, 3]);
    // as if the run had crashed after logging iterations 2 and 3 but before saving them
    for (const f of ['checkpoint.safetensors', 'checkpoint.json']) copyFileSync(join(saved, f), join(out, f));
    const r = train('--max-iterations', '5', '--resume');
    expect(r.status, r.stderr).to.equal(0);
    expect(iterationsOf(out)).to.deep.equal([0, 1, 2, 3, 4]);

    const k = run('knn', join(out, 'checkpoint.json'), '--train', '20', '--test', '10', '--k', '5');
    expect(k.status, k.stderr).to.equal(0);
    expect(k.stdout).to.match(/20 train \/ 10 other test images/);
  });

  it('--eval-every logs a weighted k-NN of teacher and student on held-out images; --bn-head puts BatchNorm in the head', () => {
    const out = join(dir, 'eval');
    const r = run('train', '--out', out, ...tiny, '--max-iterations', '3', '--eval-every', '2', '--eval-train', '30', '--eval-test', '10', '--bn-head');
    expect(r.status, r.stderr).to.equal(0);
    const log = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { iteration: number; knn?: { teacher: number; student: number } });
    expect(log.filter((m) => m.knn !== undefined).map((m) => m.iteration)).to.deep.equal([1, 2]);
    for (const m of log.filter((l) => l.knn !== undefined)) expect(m.knn!.teacher).to.be.within(0, 100);
    const keys = Object.keys(JSON.parse(readFileSync(join(out, 'checkpoint.safetensors')).subarray(8, 8 + Number(readFileSync(join(out, 'checkpoint.safetensors')).readBigUInt64LE(0))).toString('utf8')));
    expect(keys).to.include('teacher.head.mlp.1.running_mean');
    expect(run('train', '--out', out, ...tiny, '--eval-every', '2', '--eval-train', '10000').stderr).to.match(/--eval-train 10000 leaves none of the 10000 images for --eval-test/);
  });
});
