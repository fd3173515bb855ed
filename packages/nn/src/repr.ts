// How numbers print inside module reprs: as Python's repr(float) writes them, so that
// toString() matches PyTorch's print (0.0, 0.1, 1e-06, 1.5e-05).

export function pythonFloat(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf';
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-4 || a >= 1e16)) {
    return x.toExponential().replace(/e([+-])(\d+)$/, (_, sign: string, digits: string) => `e${sign}${digits.padStart(2, '0')}`);
  }
  return Number.isInteger(x) ? x.toFixed(1) : String(x);
}
