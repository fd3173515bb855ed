// Line charts of training curves (loss, teacher entropy, k-NN accuracy against iterations)
// drawn on a Raster: one panel per chart, axes with "nice" tick values (1, 2 or 5 times a
// power of ten), a title, a legend, and optional horizontal reference lines (dashed), such as
// log K for the entropy or the raw-pixel baseline for the k-NN accuracy.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { encodePng } from '../data/image-codec.js';
import { Raster, type Rgb } from './raster.js';

export interface Series {
  label: string;
  x: readonly number[];
  y: readonly number[];
  color: Rgb;
}

export interface ReferenceLine {
  label: string;
  y: number;
  color: Rgb;
}

export interface ChartPanel {
  title: string;
  series: readonly Series[];
  references?: readonly ReferenceLine[];
  xLabel?: string;
}

export const PALETTE: Record<'blue' | 'orange' | 'green' | 'red' | 'gray' | 'purple', Rgb> = {
  blue: [0.12, 0.47, 0.71],
  orange: [1, 0.5, 0.05],
  green: [0.17, 0.63, 0.17],
  red: [0.84, 0.15, 0.16],
  gray: [0.5, 0.5, 0.5],
  purple: [0.58, 0.4, 0.74],
};

/** About `count` round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(Number.isFinite(lo) && Number.isFinite(hi))) throw new Error(`niceTicks: the range [${lo}, ${hi}] is not finite`);
  if (hi <= lo) return [lo];
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

const formatTick = (v: number): string => (Math.abs(v) >= 1000 ? `${v / 1000}K` : String(Number(v.toPrecision(4))));
const BLACK: Rgb = [0, 0, 0];
const LIGHT: Rgb = [0.9, 0.9, 0.9];

/** Draws one chart panel into the rectangle (x, y, w, h) of `raster`. */
export function drawChart(raster: Raster, x: number, y: number, w: number, h: number, panel: ChartPanel): void {
  const all = panel.series.flatMap((s) => {
    if (s.x.length !== s.y.length) throw new Error(`drawChart: series '${s.label}' has ${s.x.length} x values and ${s.y.length} y values`);
    return s.x.map((xv, i) => [xv, s.y[i]] as const);
  }).filter(([, v]) => Number.isFinite(v));
  if (all.length === 0) throw new Error(`drawChart: panel '${panel.title}' has no finite points`);
  const ys = [...all.map(([, v]) => v), ...(panel.references ?? []).map((r) => r.y)];
  let [yLo, yHi] = [Math.min(...ys), Math.max(...ys)];
  if (yHi === yLo) [yLo, yHi] = [yLo - 1, yHi + 1];
  const pad = (yHi - yLo) * 0.05;
  [yLo, yHi] = [yLo - pad, yHi + pad];
  const [xLo, xHi] = [Math.min(...all.map(([v]) => v)), Math.max(...all.map(([v]) => v))];
  const scale = 2;
  const left = x + 52;
  const top = y + 30;
  const right = x + w - 10;
  const bottom = y + h - 40;
  const px = (v: number) => left + ((v - xLo) / (xHi - xLo || 1)) * (right - left);
  const py = (v: number) => bottom - ((v - yLo) / (yHi - yLo)) * (bottom - top);
  raster.text(x + (w - Raster.textWidth(panel.title, scale)) / 2, y + 6, panel.title, BLACK, scale);
  for (const t of niceTicks(yLo, yHi)) {
    raster.line(left, py(t), right, py(t), LIGHT);
    const label = formatTick(t);
    raster.text(left - 6 - Raster.textWidth(label), py(t) - 3, label, BLACK);
  }
  for (const t of niceTicks(xLo, xHi, 4)) {
    raster.line(px(t), bottom, px(t), bottom + 4, BLACK);
    const label = formatTick(t);
    raster.text(px(t) - Raster.textWidth(label) / 2, bottom + 8, label, BLACK);
  }
  raster.line(left, top, left, bottom, BLACK);
  raster.line(left, bottom, right, bottom, BLACK);
  if (panel.xLabel !== undefined) raster.text(x + (w - Raster.textWidth(panel.xLabel)) / 2, bottom + 22, panel.xLabel, BLACK);
  for (const r of panel.references ?? []) raster.line(left, py(r.y), right, py(r.y), r.color, 1, 4);
  for (const s of panel.series) {
    for (let i = 1; i < s.x.length; i++) {
      if (Number.isFinite(s.y[i - 1]) && Number.isFinite(s.y[i])) raster.line(px(s.x[i - 1]), py(s.y[i - 1]), px(s.x[i]), py(s.y[i]), s.color, 2);
    }
    if (s.x.length === 1) raster.fillRect(px(s.x[0]) - 2, py(s.y[0]) - 2, 5, 5, s.color);
  }
  // Legend, top right inside the plot area.
  const entries = [...panel.series.map((s) => ({ label: s.label, color: s.color, dashed: false })), ...(panel.references ?? []).map((r) => ({ label: r.label, color: r.color, dashed: true }))];
  let ly = top + 4;
  for (const e of entries) {
    const lw = Raster.textWidth(e.label);
    const lx = right - lw - 26;
    raster.fillRect(lx - 3, ly - 2, lw + 29, 11, [1, 1, 1]);
    raster.line(lx, ly + 3, lx + 16, ly + 3, e.color, 2, e.dashed ? 3 : 0);
    raster.text(lx + 22, ly, e.label, BLACK);
    ly += 12;
  }
}

/** Panels in a grid of `columns` (row by row), each panelWidth x panelHeight, written as a PNG to `path`. */
export function writeCharts(path: string, panels: readonly ChartPanel[], options: { columns?: number; panelWidth?: number; panelHeight?: number } = {}): void {
  if (panels.length === 0) throw new Error('writeCharts: no panels');
  const { columns = Math.min(3, panels.length), panelWidth = 420, panelHeight = 300 } = options;
  const raster = new Raster(columns * panelWidth, Math.ceil(panels.length / columns) * panelHeight);
  panels.forEach((p, i) => drawChart(raster, (i % columns) * panelWidth, Math.floor(i / columns) * panelHeight, panelWidth, panelHeight, p));
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, encodePng(raster.toImage()));
}
