import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { full, tensor } from '@dinots/tensor';
import { attentionHeatmap, clsAttention, decodeImage, maskOverlay, viridis, writeAttentionPngs } from '../src/index.js';
import { golden } from './golden.js';

describe('attention heat-maps', () => {
  it('viridis has matplotlib’s end and middle colours', () => {
    expect(viridis(0)).to.deep.equal([0.267004, 0.004874, 0.329415]);
    expect(viridis(1)).to.deep.equal([0.993248, 0.906157, 0.143936]);
    viridis(128 / 255).forEach((v, i) => expect(v).to.be.closeTo([0.127568, 0.566949, 0.550556][i], 1e-12));
  });

  it('repeats each patch value over its p x p pixels and maps min/max to the colormap ends', () => {
    const image = full([1, 9, 7], 0.5, { dtype: 'float64' }); // 3 x 2 grid of 3 px patches, 1 px row and column ignored
    const attention = tensor([0, 1, 2, 3, 4, 5], { dtype: 'float64' });
    const out = attentionHeatmap(image, attention, 3, 1);
    expect(out.shape).to.deep.equal([3, 9, 6]);
    const px = out.dataSync();
    const at = (c: number, y: number, x: number) => px[(c * 9 + y) * 6 + x];
    for (let c = 0; c < 3; c++) {
      expect(at(c, 0, 0)).to.equal(viridis(0)[c]);
      expect(at(c, 8, 5)).to.equal(viridis(1)[c]);
      for (let y = 0; y < 9; y++) for (let x = 0; x < 6; x++) expect(at(c, y, x)).to.equal(at(c, y - (y % 3), x - (x % 3)));
    }
    expect(() => attentionHeatmap(image, tensor([1, 2, 3]), 3)).to.throw(/3 attention values do not fit the 3x2 patch grid of a 9x7 image with patch size 3/);
  });

  it('darkens the patches outside a mask', () => {
    const out = maskOverlay(full([3, 2, 4], 0.8, { dtype: 'float64' }), tensor([1, 0]), 2, 0.25).dataSync();
    expect(Array.from(out.slice(0, 8))).to.deep.equal([0.8, 0.8, 0.2, 0.2, 0.8, 0.8, 0.2, 0.2]);
  });

  it('writes the image, per-head heat-maps and 60%-mass masks of the golden attention as PNGs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dinots-attn-'));
    try {
      const image = golden('input/crop0').select(0, 0).mul(0.25).add(0.5);
      const cls = clsAttention(golden('step1/last_selfattn_crop0')).select(0, 0);
      const paths = writeAttentionPngs(dir, image, cls, 8, { threshold: 0.6 });
      expect(paths.map((p) => basename(p))).to.deep.equal([
        'img.png',
        ...[0, 1, 2, 3].flatMap((h) => [`attn-head${h}.png`, `mask-th0.6-head${h}.png`]),
      ]);
      for (const p of paths) expect(decodeImage(readFileSync(p)).shape).to.deep.equal([3, 32, 32]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
