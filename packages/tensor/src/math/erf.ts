// erf and erfinv in float64.
//
// erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt.
// This follows the classic Sun fdlibm s_erf.c scheme (also used by glibc and musl,
// hence by PyTorch's CPU erf): a rational approximation on |x| < 0.84375, one
// around erf(1) on [0.84375, 1.25), and erfc = exp(-x^2 - 0.5625 + R/S) / x on
// [1.25, 6). The error is below 1 ulp, which the float64 golden DINO values need
// (GELU uses erf; a 1e-7 approximation such as Abramowitz-Stegun 7.1.26 is not enough).
// The polynomials are written out in Horner form, c0 + z (c1 + z (c2 + ...)), rather than
// looped over coefficient arrays: erf runs once per element in GELU, and V8 does not unroll
// such loops (this made GELU about 2x faster; the arithmetic, hence every bit, is unchanged).

const ERX = 8.45062911510467529297e-1;
const EFX8 = 1.02703333676410069053;
const [PP0, PP1, PP2, PP3, PP4] = [1.28379167095512558561e-1, -3.25042107247001499370e-1, -2.84817495755985104766e-2, -5.77027029648944159157e-3, -2.37630166566501626084e-5];
const [QQ0, QQ1, QQ2, QQ3, QQ4] = [3.97917223959155352819e-1, 6.50222499887672944485e-2, 5.08130628187576562776e-3, 1.32494738004321644526e-4, -3.96022827877536812320e-6];
const [PA0, PA1, PA2, PA3, PA4, PA5, PA6] = [-2.36211856075265944077e-3, 4.14856118683748331666e-1, -3.72207876035701323847e-1, 3.18346619901161753674e-1, -1.10894694282396677476e-1, 3.54783043256182359371e-2, -2.16637559486879084300e-3];
const [QA0, QA1, QA2, QA3, QA4, QA5] = [1.06420880400844228286e-1, 5.40397917702171048937e-1, 7.18286544141962662868e-2, 1.26171219808761642112e-1, 1.36370839120290507362e-2, 1.19844998467991074170e-2];
const [RA0, RA1, RA2, RA3, RA4, RA5, RA6, RA7] = [-9.86494403484714822705e-3, -6.93858572707181764372e-1, -1.05586262253232909814e1, -6.23753324503260060396e1, -1.62396669462573470355e2, -1.84605092906711035994e2, -8.12874355063065934246e1, -9.81432934416914548592];
const [SA0, SA1, SA2, SA3, SA4, SA5, SA6, SA7] = [1.96512716674392571292e1, 1.37657754143519042600e2, 4.34565877475229228821e2, 6.45387271733267880336e2, 4.29008140027567833386e2, 1.08635005541779435134e2, 6.57024977031928170135, -6.04244152148580987438e-2];
const [RB0, RB1, RB2, RB3, RB4, RB5, RB6] = [-9.86494292470009928597e-3, -7.99283237680523006574e-1, -1.77579549177547519889e1, -1.60636384855821916062e2, -6.37566443368389627722e2, -1.02509513161107724954e3, -4.83519191608651397019e2];
const [SB0, SB1, SB2, SB3, SB4, SB5, SB6] = [3.03380607434824582924e1, 3.25792512996573918826e2, 1.53672958608443695994e3, 3.19985821950859553908e3, 2.55305040643316442583e3, 4.74528541206955367215e2, -2.24409524465858183362e1];

const words = new Float64Array(1);
const halves = new Uint32Array(words.buffer);

/** x with the low 32 bits of its mantissa cleared, so that z*z is exact. */
function truncLow(x: number): number {
  words[0] = x;
  halves[0] = 0; // little-endian: word 0 holds the low bits
  return words[0];
}

/** erfc(|x|) for 1.25 <= |x| < 28. */
function erfcTail(ax: number): number {
  const s = 1 / (ax * ax);
  const rs = ax < 1 / 0.35
    ? (RA0 + s * (RA1 + s * (RA2 + s * (RA3 + s * (RA4 + s * (RA5 + s * (RA6 + s * RA7))))))) / (1 + s * (SA0 + s * (SA1 + s * (SA2 + s * (SA3 + s * (SA4 + s * (SA5 + s * (SA6 + s * SA7))))))))
    : (RB0 + s * (RB1 + s * (RB2 + s * (RB3 + s * (RB4 + s * (RB5 + s * RB6)))))) / (1 + s * (SB0 + s * (SB1 + s * (SB2 + s * (SB3 + s * (SB4 + s * (SB5 + s * SB6)))))));
  const z = truncLow(ax);
  return (Math.exp(-z * z - 0.5625) * Math.exp((z - ax) * (z + ax) + rs)) / ax;
}

export function erf(x: number): number {
  // The common case |x| < 0.84375 (GELU's x / sqrt 2 lies there for |x| < 1.19) is kept
  // small enough for V8 to inline erf into an elementwise loop; the rest is a call.
  const ax = Math.abs(x);
  if (ax < 0.84375 && ax >= 2 ** -28) {
    const z = x * x;
    return x + x * ((PP0 + z * (PP1 + z * (PP2 + z * (PP3 + z * PP4)))) / (1 + z * (QQ0 + z * (QQ1 + z * (QQ2 + z * (QQ3 + z * QQ4))))));
  }
  return erfOutside(x);
}

/** erf for NaN, tiny |x| and |x| >= 0.84375. */
function erfOutside(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax < 2 ** -28) return (8 * x + EFX8 * x) / 8;
  let y: number;
  if (ax < 1.25) {
    const s = ax - 1;
    y = ERX + (PA0 + s * (PA1 + s * (PA2 + s * (PA3 + s * (PA4 + s * (PA5 + s * PA6)))))) / (1 + s * (QA0 + s * (QA1 + s * (QA2 + s * (QA3 + s * (QA4 + s * QA5))))));
  } else if (ax < 6) {
    y = 1 - erfcTail(ax);
  } else {
    y = 1;
  }
  return x < 0 ? -y : y;
}

/**
 * Inverse of erf on (-1, 1): Giles' single-precision approximation ("Approximating
 * the erfinv function", 2010) refined by two Newton steps on erf(y) - x, which bring
 * it to float64 accuracy. erfinv(+-1) = +-Infinity.
 */
export function erfinv(x: number): number {
  if (Number.isNaN(x) || x < -1 || x > 1) return NaN;
  if (x === 1) return Infinity;
  if (x === -1) return -Infinity;
  let w = -Math.log((1 - x) * (1 + x));
  let p: number;
  if (w < 5) {
    w -= 2.5;
    p = 2.81022636e-8;
    p = 3.43273939e-7 + p * w;
    p = -3.5233877e-6 + p * w;
    p = -4.39150654e-6 + p * w;
    p = 0.00021858087 + p * w;
    p = -0.00125372503 + p * w;
    p = -0.00417768164 + p * w;
    p = 0.246640727 + p * w;
    p = 1.50140941 + p * w;
  } else {
    w = Math.sqrt(w) - 3;
    p = -0.000200214257;
    p = 0.000100950558 + p * w;
    p = 0.00134934322 + p * w;
    p = -0.00367342844 + p * w;
    p = 0.00573950773 + p * w;
    p = -0.0076224613 + p * w;
    p = 0.00943887047 + p * w;
    p = 1.00167406 + p * w;
    p = 2.83297682 + p * w;
  }
  let y = p * x;
  const twoOverSqrtPi = 2 / Math.sqrt(Math.PI);
  for (let i = 0; i < 2; i++) {
    const err = erf(y) - x;
    y -= err / (twoOverSqrtPi * Math.exp(-y * y));
  }
  return y;
}
