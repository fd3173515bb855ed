// Float32 math functions that GLSL lacks or gets wrong, written once in the subset of
// JavaScript that gpu.js compiles. The GPU backend adds their source text to every
// kernel (gpu.addFunction); the tests call the same functions on the CPU and compare
// them with the float64 reference (math/erf.ts, Math.tanh, ...).

/**
 * erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt, as the rational approximation
 * x * P(x^2) / Q(x^2) on [-4, 4] used by Eigen and XLA for float32 (beyond 4, erf is
 * +-1 in float32). Absolute error about 1e-7 against the float64 erf.
 */
export function erf32(x: number): number {
  const c = Math.min(Math.max(x, -4), 4);
  const z = c * c;
  let p = z * -2.72614225801306e-10 + 2.77068142495902e-8;
  p = z * p + -2.10102402082508e-6;
  p = z * p + -5.69250639462346e-5;
  p = z * p + -7.34990630326855e-4;
  p = z * p + -2.95459980854025e-3;
  p = z * p + -1.60960333262415e-2;
  let q = z * -1.45660718464996e-5 + -2.13374055278905e-4;
  q = z * q + -1.68282697438203e-3;
  q = z * q + -7.37332916720468e-3;
  q = z * q + -1.42647390514189e-2;
  return (c * p) / q;
}

/** tanh(x) = 1 - 2 / (exp(2x) + 1): exp overflowing to Infinity still gives 1, unlike (e - 1)/(e + 1). */
export function tanh32(x: number): number {
  if (Math.abs(x) < 0.0004) return x;
  return 1 - 2 / (Math.exp(2 * x) + 1);
}

/**
 * log(1 + x), accurate for small x. Goldberg's log(u) * x / (u - 1) trick is no use in a
 * shader, whose compiler may fold (1 + x) - 1 into x; instead |x| < 0.1 uses the series
 * x - x^2/2 + ... - x^8/8 (truncation error below 5e-9 relative,
 * far under float32's 6e-8), and larger x log(1 + x).
 */
export function log1p32(x: number): number {
  if (Math.abs(x) >= 0.1) return Math.log(1 + x);
  let s = -0.125;
  s = s * x + 0.14285714285714285;
  s = s * x - 0.16666666666666666;
  s = s * x + 0.2;
  s = s * x - 0.25;
  s = s * x + 0.3333333333333333;
  s = s * x - 0.5;
  s = s * x + 1;
  return s * x;
}

/**
 * x^y with C's rules for negative bases and zero, which GLSL's and WGSL's pow leave
 * undefined. Infinity and NaN come from runtime divisions (1 / |x| at x = 0, and
 * (x - x) / (x - x)): WGSL rejects the constant 1.0 / 0.0 and 0.0 / 0.0.
 */
export function pow32(x: number, y: number): number {
  if (y === 0) return 1;
  if (x === 0) return y > 0 ? 0 : 1 / Math.abs(x);
  if (x > 0) return Math.pow(x, y);
  if (Math.floor(y) !== y) return (x - x) / (x - x);
  const odd = y - 2 * Math.floor(y / 2);
  const m = Math.pow(-x, y);
  return odd > 0.5 ? -m : m;
}

/**
 * sin(x + shift * pi/2) (shift 0: sin, 1: cos), since GPU drivers may use fast
 * approximations (SwiftShader's sin and cos are off by up to 2e-4 on [-6, 6]). Cephes's
 * sinf/cosf: x = j * pi/2 + r with |r| <= pi/4, where j * pi/2 is subtracted in three
 * parts whose leading ones are exact in float32 (Cody-Waite), then a minimax polynomial
 * for sin(r) or cos(r) picked, with its sign, by the quadrant (j + shift) mod 4. Absolute
 * error about 1e-7 for |x| up to a few thousand.
 */
export function sinShift32(x: number, shift: number): number {
  const j = Math.floor(x * 0.6366197723675814 + 0.5);
  const r = x - j * 1.5703125 - j * 4.837512969970703e-4 - j * 7.549789954891882e-8;
  const z = r * r;
  const q = j + shift - 4 * Math.floor((j + shift) / 4);
  const s = r + r * z * (-1.6666654611e-1 + z * (8.3321608736e-3 + z * -1.9515295891e-4));
  const c = 1 - 0.5 * z + z * z * (4.166664568298827e-2 + z * (-1.388731625493765e-3 + z * 2.443315711809948e-5));
  if (q < 0.5) return s;
  if (q < 1.5) return c;
  if (q < 2.5) return -s;
  return -c;
}

export const SIN_SHIFT32_SOURCE = sinShift32.toString();
export const ERF32_SOURCE = erf32.toString();
export const TANH32_SOURCE = tanh32.toString();
export const LOG1P32_SOURCE = log1p32.toString();
export const POW32_SOURCE = pow32.toString();
