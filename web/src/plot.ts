// A small line plot on a canvas: one series against the iteration, its range on the
// left, redrawn whole on every update (a few hundred points).

export function plotSeries(canvas: HTMLCanvasElement, values: readonly number[], label: string, colour: string, reference?: { value: number; label: string }): void {
  const context = canvas.getContext('2d')!;
  const { width, height } = canvas;
  const pad = { left: 44, right: 8, top: 18, bottom: 16 };
  context.clearRect(0, 0, width, height);
  context.fillStyle = '#fff';
  context.fillRect(0, 0, width, height);
  context.font = '12px system-ui, sans-serif';
  context.fillStyle = '#222';
  context.fillText(values.length === 0 ? `${label}: -` : `${label}: ${values[values.length - 1].toFixed(3)}`, pad.left, 13);
  if (values.length === 0) return;
  const all = reference === undefined ? values : [...values, reference.value];
  let lo = Math.min(...all);
  let hi = Math.max(...all);
  if (hi - lo < 1e-6) [lo, hi] = [lo - 0.5, hi + 0.5];
  const x = (i: number) => pad.left + ((width - pad.left - pad.right) * i) / Math.max(values.length - 1, 1);
  const y = (v: number) => pad.top + ((height - pad.top - pad.bottom) * (hi - v)) / (hi - lo);
  context.fillStyle = '#666';
  context.fillText(hi.toFixed(2), 2, pad.top + 4);
  context.fillText(lo.toFixed(2), 2, height - pad.bottom);
  context.fillText(`iteration ${values.length}`, width - 100, height - 3);
  if (reference !== undefined) {
    context.strokeStyle = '#bbb';
    context.setLineDash([4, 4]);
    context.beginPath();
    context.moveTo(pad.left, y(reference.value));
    context.lineTo(width - pad.right, y(reference.value));
    context.stroke();
    context.setLineDash([]);
    context.fillText(reference.label, width - pad.right - 60, y(reference.value) - 3);
  }
  context.strokeStyle = colour;
  context.lineWidth = 1.5;
  context.beginPath();
  values.forEach((v, i) => (i === 0 ? context.moveTo(x(i), y(v)) : context.lineTo(x(i), y(v))));
  context.stroke();
}
