// `dinots parity` end to end: the golden fixture passes, a corrupted copy fails.

import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSafetensors, serializeSafetensors } from '@dinots/nn';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/golden/${name}`, import.meta.url));
const cli = fileURLToPath(new URL('../../packages/dino/dist/src/cli.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

describe('dinots parity (CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dinots-parity-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('passes on the golden fixture copied next to its sidecar, printing the worst error per group', () => {
    copyFileSync(fixture('dino-tiny.safetensors'), join(dir, 'ref.safetensors'));
    copyFileSync(fixture('dino-tiny.json'), join(dir, 'ref.json'));
    const r = run('parity', join(dir, 'ref.safetensors'));
    expect(r.status, r.stdout + r.stderr).to.equal(0);
    for (const group of ['gradients', 'student after SGD', 'teacher after EMA', 'attention masks', 'schedules', 'k-NN', 'loss', 'centers']) {
      expect(r.stdout).to.match(new RegExp(`ok +${group} +\\d+ tensors +worst \\d\\.\\d\\de[-+]\\d+`));
    }
    expect(r.stdout).to.match(/PASS: 172 tensors within 1e-9/);
  });

  it('exits non-zero on a corrupted copy and names the tensor', () => {
    const tensors = loadSafetensors(readFileSync(fixture('dino-tiny.safetensors')));
    tensors['step2/teacher_head_out'] = tensors['step2/teacher_head_out'].add(2e-9);
    writeFileSync(join(dir, 'bad.safetensors'), serializeSafetensors(tensors));
    copyFileSync(fixture('dino-tiny.json'), join(dir, 'bad.json'));
    const r = run('parity', join(dir, 'bad.safetensors'));
    expect(r.status).to.equal(1);
    expect(r.stdout).to.match(/FAIL head outputs .*step2\/teacher_head_out/);
  });

  it('exits non-zero with a message when the sidecar is missing or a tensor is unknown', () => {
    copyFileSync(fixture('dino-tiny.safetensors'), join(dir, 'alone.safetensors'));
    const missing = run('parity', join(dir, 'alone.safetensors'));
    expect(missing.status).to.equal(1);
    expect(missing.stderr).to.match(/no sidecar .*alone\.json/);
    const tensors = loadSafetensors(readFileSync(fixture('dino-tiny.safetensors')));
    tensors['step1/mystery'] = tensors['step1/loss'];
    writeFileSync(join(dir, 'extra.safetensors'), serializeSafetensors(tensors));
    copyFileSync(fixture('dino-tiny.json'), join(dir, 'extra.json'));
    const extra = run('parity', join(dir, 'extra.safetensors'));
    expect(extra.status).to.equal(1);
    expect(extra.stdout).to.match(/not compared: step1\/mystery/);
  });
});

describe('dinots train / knn / attention (CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dinots-cli-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('trains a few iterations into a checkpoint, then evaluates it with k-NN and writes attention maps', () => {
    const out = join(dir, 'run');
    const t = run('train', '--out', out, '--epochs', '1', '--batch-size', '8', '--max-iterations', '2', '--embed-dim', '16', '--depth', '1', '--heads', '2', '--out-dim', '32', '--local-crops', '2');
    expect(t.status, t.stderr).to.equal(0);
    expect(t.stdout).to.match(/trained 2\/1250 iterations/);
    expect(readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n')).to.have.length(2);
    const k = run('knn', join(out, 'checkpoint.safetensors'), '--train', '100', '--test', '50');
    expect(k.status, k.stderr).to.equal(0);
    expect(k.stdout).to.match(/100 train \/ 50 other test images/);
    for (const name of ['DINO teacher', 'random init', 'raw pixels']) expect(k.stdout).to.match(new RegExp(`${name} +top-1 +\\d+\\.\\d\\d %`));
    const a = run('attention', join(out, 'checkpoint.safetensors'), '--out', join(dir, 'att'), '--images', '1');
    expect(a.status, a.stderr).to.equal(0);
    expect(readFileSync(join(dir, 'att', 'img0', 'attn-head1.png')).subarray(1, 4).toString()).to.equal('PNG');
  });

  it('rejects an unknown command with the usage', () => {
    const r = run('fly');
    expect(r.status).to.equal(2);
    expect(r.stderr).to.match(/unknown command 'fly'[\s\S]*dinots parity/);
  });
});
