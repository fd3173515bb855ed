// The figure helpers: the raster's shapes and text, tick values, and line charts written as PNG.

import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { PALETTE, Raster, niceTicks, writeCharts } from '../src/index.js';

const red = [1, 0, 0] as const;
/** The RGB of pixel (x, y). */
const at = (r: Raster, x: number, y: number) => [0, 1, 2].map((c) => r.pixels[c * r.width * r.height + y * r.width + x]);

describe('figures', () => {
  it('Raster fills rectangles, clips them, draws lines and text in the 5x7 font', () => {
    const r = new Raster(20, 10);
    r.fillRect(-2, -2, 4, 4, red);
    expect(at(r, 1, 1)).to.deep.equal([1, 0, 0]);
    expect(at(r, 2, 2)).to.deep.equal([1, 1, 1]);
    r.line(0, 9, 19, 9, [0, 0, 1]);
    for (const x of [0, 10, 19]) expect(at(r, x, 9)).to.deep.equal([0, 0, 1]);
    const t = new Raster(20, 10);
    expect(t.text(1, 1, 'I1', [0, 0, 0])).to.equal(12);
    // 'I' is a vertical bar in its middle column, with serifs on the top and bottom rows.
    for (let y = 1; y <= 7; y++) expect(at(t, 3, y)).to.deep.equal([0, 0, 0]);
    expect(at(t, 1, 4)).to.deep.equal([1, 1, 1]);
    expect(Raster.textWidth('abc', 2)).to.equal(36);
    expect(() => new Raster(0, 5)).to.throw('Raster: width and height must be positive integers, got 0x5');
  });

  it('niceTicks gives round values covering the range', () => {
    expect(niceTicks(0, 1)).to.deep.equal([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(57.3, 94.35)).to.deep.equal([60, 70, 80, 90]);
    expect(niceTicks(0, 7440, 4)).to.deep.equal([0, 2000, 4000, 6000]);
    expect(() => niceTicks(0, Infinity)).to.throw('niceTicks: the range [0, Infinity] is not finite');
  });

  it('writeCharts writes a PNG grid of panels with their series in colour, and refuses bad series', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dinots-figures-'));
    try {
      const path = join(dir, 'curves.png');
      const x = [1, 2, 3, 4];
      writeCharts(path, [
        { title: 'loss', series: [{ label: 'loss', x, y: [4, 3, 2.5, 2], color: PALETTE.blue }] },
        { title: 'k-NN', series: [{ label: 'teacher', x, y: [60, 70, 80, 85], color: PALETTE.red }], references: [{ label: 'raw', y: 94, color: PALETTE.gray }] },
      ], { columns: 1, panelWidth: 300, panelHeight: 200 });
      const png = PNG.sync.read(readFileSync(path));
      expect([png.width, png.height]).to.deep.equal([300, 400]);
      const colours = new Set<string>();
      for (let i = 0; i < png.data.length; i += 4) colours.add(`${png.data[i]},${png.data[i + 1]},${png.data[i + 2]}`);
      const rgb = (c: readonly number[]) => c.map((v) => Math.round(v * 255)).join();
      expect(colours).to.include(rgb(PALETTE.blue)).and.to.include(rgb(PALETTE.red)).and.to.include(rgb(PALETTE.gray));
      expect(() => writeCharts(path, [{ title: 'bad', series: [{ label: 's', x: [1, 2], y: [1], color: red }] }])).to.throw("drawChart: series 's' has 2 x values and 1 y values");
      expect(() => writeCharts(path, [])).to.throw('writeCharts: no panels');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
