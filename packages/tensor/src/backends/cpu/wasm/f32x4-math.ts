// exp and erf on four float32 lanes, as WebAssembly SIMD128 instruction sequences that
// the kernels (rows-kernel.ts, elementwise-kernel.ts) splice into their loops. Each reads
// its argument from a v128 local, uses the scratch locals it is given, and leaves the
// result on the stack.
//
// exp(x), for x <= 88 (softmax and the Gaussian only need x <= 0), as XNNPACK's "rr2-p5":
//   n = round(x log2 e),  r = x - n ln 2  (ln 2 in two parts, C1 + C2, so that n C1 is exact),
//   exp(r) = 1 + r P(r)  on |r| <= ln2 / 2  (P a degree-4 minimax polynomial),
//   exp(x) = 2^n + (2^n r) P(r), with 2^n built from its bits: (n + 127) << 23.
// Its error is below 1.9e-7 relative (2 float32 ulps; measured on 2 10^6 points of [-86, 0]).
// n is rounded by adding 1.5 * 2^23 (the float32 whose ulp is 1): the low bits of the sum are
// then n itself, so shifting the sum's bits left by 23 leaves n << 23, and no float-to-int
// conversion is needed. Below x = -87.5 (where 2^n would leave the normal range) the result
// is 0, so exp(-Infinity) = 0 exactly; NaN stays NaN.
//
// erf(x), after fdlibm's s_erf.c (and musl's erff), with its float64 coefficients
// (math/erf.ts) rounded to float32:
//   |x| < 0.84375:          x + x P(x^2) / Q(x^2)
//   0.84375 <= |x| < 1.25:  erx + P(|x| - 1) / Q(|x| - 1)
//   1.25 <= |x| < 4:        1 - exp(-x^2 - 0.5625 + R(1/x^2) / S(1/x^2)) / |x|   (two sets of R, S,
//                           split at |x| = 1/0.35)
//   |x| >= 4:               1 (erf(4) = 1 - 1.5e-8 rounds to 1 in float32),
// with x's sign. The first range is computed for all four lanes; each other one only when
// some lane falls in it (v128.any_true), and blended in by mask. In a float32 emulation,
// against the float64 erf on 10^6 points of [0, 10], the error stays below 1 ulp of 1 (6e-8).

import { op } from './assembler.js';

export type Code = (readonly number[])[];

/**
 * The vector constants of a module, loaded from a table at the start of its memory (the
 * module's data segment): V8 builds a v128.const out of immediates in several
 * instructions, where a load from the table is one (GELU ran 1.5x faster).
 */
export class Constants {
  private readonly words: number[] = [];

  /** The table's size in bytes; kernels' data go after it. */
  get byteLength(): number {
    return this.words.length * 4;
  }

  /** The table, for assembleModule's `data`. */
  bytes(): Uint8Array {
    return new Uint8Array(Int32Array.from(this.words).buffer);
  }

  /** Appends `words` (int32 bit patterns, a multiple of 4) to the table as they are; returns their byte address. */
  block(words: readonly number[]): number {
    const at = this.byteLength;
    this.words.push(...words.map((w) => w | 0));
    return at;
  }

  /** Code that pushes four copies of float32 `value`. */
  f32(value: number): Code {
    return this.vector(new Int32Array(Float32Array.of(value).buffer)[0]);
  }

  /** Code that pushes four copies of int32 `bits`. */
  i32(bits: number): Code {
    return this.vector(bits | 0);
  }

  private vector(bits: number): Code {
    let at = this.words.findIndex((w, i) => i % 4 === 0 && w === bits);
    if (at < 0) {
      at = this.words.length;
      this.words.push(bits, bits, bits, bits);
    }
    return [op.i32Const(0), op.v128Load(at * 4)];
  }
}

/** c[0] + v (c[1] + v (c[2] + ...)), with v in local `v`. */
export function horner(k: Constants, coefficients: readonly number[], v: number): Code {
  const last = coefficients.length - 1;
  const code: Code = [...k.f32(coefficients[last])];
  for (let i = last - 1; i >= 0; i--) code.push(op.localGet(v), op.f32x4Mul, ...k.f32(coefficients[i]), op.f32x4Add);
  return code;
}

const EXP_MIN = -87.5;
const ROUNDER = 1.5 * 2 ** 23;
const LN2_HI = 0.693359375;
const LN2_LO = -2.12194440e-4;
/** exp(r) = 1 + r (EXP_P[0] + r EXP_P[1] + ...): XNNPACK's coefficients, 0x1.FFFFF6p-1 ... 0x1.0F9F9Cp-7 */
const EXP_P = [0x1fffff6 * 2 ** -25, 0x1fffdc6 * 2 ** -26, 0x1555a80 * 2 ** -27, 0x1573a1a * 2 ** -29, 0x10f9f9c * 2 ** -31];

/** exp of local `x` (unchanged); `scratch`: three v128 locals. */
export function expF32x4(k: Constants, x: number, scratch: readonly [number, number, number]): Code {
  const [r, t, n] = scratch;
  const fconst = (v: number) => k.f32(v);
  return [
    op.localGet(x), ...fconst(EXP_MIN), op.f32x4Pmax, op.localSet(r), // NaN in x is kept
    op.localGet(r), ...fconst(Math.LOG2E), op.f32x4Mul, ...fconst(ROUNDER), op.f32x4Add, op.localSet(t),
    op.localGet(t), ...fconst(ROUNDER), op.f32x4Sub, op.localSet(n),
    op.localGet(r), op.localGet(n), ...fconst(LN2_HI), op.f32x4Mul, op.f32x4Sub,
    op.localGet(n), ...fconst(LN2_LO), op.f32x4Mul, op.f32x4Sub, op.localSet(r),
    // t = 2^n, then 2^n + (2^n r) P(r)
    op.localGet(t), op.i32Const(23), op.i32x4Shl, ...k.i32(127 << 23), op.i32x4Add, op.localTee(t),
    op.localGet(r), op.f32x4Mul, ...horner(k, EXP_P, r), op.f32x4Mul, op.localGet(t), op.f32x4Add,
    op.localGet(x), ...fconst(EXP_MIN), op.f32x4Lt, op.v128AndNot,
  ];
}

const f32 = (c: readonly number[]) => c.map((v) => Math.fround(v));
// fdlibm's coefficients, constant term first (the denominators' leading 1 included).
const ERX = 8.45062911510467529297e-1;
const PP = f32([1.28379167095512558561e-1, -3.25042107247001499370e-1, -2.84817495755985104766e-2, -5.77027029648944159157e-3, -2.37630166566501626084e-5]);
const QQ = f32([1, 3.97917223959155352819e-1, 6.50222499887672944485e-2, 5.08130628187576562776e-3, 1.32494738004321644526e-4, -3.96022827877536812320e-6]);
const PA = f32([-2.36211856075265944077e-3, 4.14856118683748331666e-1, -3.72207876035701323847e-1, 3.18346619901161753674e-1, -1.10894694282396677476e-1, 3.54783043256182359371e-2, -2.16637559486879084300e-3]);
const QA = f32([1, 1.06420880400844228286e-1, 5.40397917702171048937e-1, 7.18286544141962662868e-2, 1.26171219808761642112e-1, 1.36370839120290507362e-2, 1.19844998467991074170e-2]);
const RA = f32([-9.86494403484714822705e-3, -6.93858572707181764372e-1, -1.05586262253232909814e1, -6.23753324503260060396e1, -1.62396669462573470355e2, -1.84605092906711035994e2, -8.12874355063065934246e1, -9.81432934416914548592]);
const SA = f32([1, 1.96512716674392571292e1, 1.37657754143519042600e2, 4.34565877475229228821e2, 6.45387271733267880336e2, 4.29008140027567833386e2, 1.08635005541779435134e2, 6.57024977031928170135, -6.04244152148580987438e-2]);
const RB = f32([-9.86494292470009928597e-3, -7.99283237680523006574e-1, -1.77579549177547519889e1, -1.60636384855821916062e2, -6.37566443368389627722e2, -1.02509513161107724954e3, -4.83519191608651397019e2]);
const SB = f32([1, 3.03380607434824582924e1, 3.25792512996573918826e2, 1.53672958608443695994e3, 3.19985821950859553908e3, 2.55305040643316442583e3, 4.74528541206955367215e2, -2.24409524465858183362e1]);

/** erf of local `x` (unchanged); `scratch`: nine v128 locals. */
export function erfF32x4(k: Constants, x: number, scratch: readonly number[]): Code {
  const fconst = (v: number) => k.f32(v);
  const [ax, z, y, mask, s, b, arg, ...expScratch] = scratch;
  return [
    op.localGet(x), op.f32x4Abs, op.localSet(ax),
    op.localGet(x), op.localGet(x), op.f32x4Mul, op.localSet(z),
    // |x| < 0.84375
    ...horner(k, PP, z), ...horner(k, QQ, z), op.f32x4Div, op.localGet(x), op.f32x4Mul, op.localGet(x), op.f32x4Add, op.localSet(y),
    op.localGet(ax), ...fconst(0.84375), op.f32x4Ge, op.localTee(mask), op.v128AnyTrue,
    op.if,
    // 0.84375 <= |x| < 1.25
    op.localGet(ax), ...fconst(1), op.f32x4Sub, op.localSet(s),
    ...horner(k, PA, s), ...horner(k, QA, s), op.f32x4Div, ...fconst(ERX), op.f32x4Add, op.localSet(b),
    op.localGet(ax), ...fconst(1.25), op.f32x4Ge, op.v128AnyTrue,
    op.if,
    // 1.25 <= |x|
    ...fconst(1), op.localGet(z), op.f32x4Div, op.localSet(s),
    ...horner(k, RA, s), ...horner(k, SA, s), op.f32x4Div, op.localSet(arg),
    op.localGet(ax), ...fconst(1 / 0.35), op.f32x4Ge, op.v128AnyTrue,
    op.if,
    ...horner(k, RB, s), ...horner(k, SB, s), op.f32x4Div, op.localGet(arg),
    op.localGet(ax), ...fconst(1 / 0.35), op.f32x4Ge, op.v128Bitselect, op.localSet(arg),
    op.end,
    op.localGet(arg), ...fconst(-0.5625), op.f32x4Add, op.localGet(z), op.f32x4Sub, op.localSet(arg),
    ...fconst(1), ...expF32x4(k, arg, expScratch as [number, number, number]), op.localGet(ax), op.f32x4Div, op.f32x4Sub,
    op.localGet(b), op.localGet(ax), ...fconst(1.25), op.f32x4Ge, op.v128Bitselect, op.localSet(b),
    ...fconst(1), op.localGet(b), op.localGet(ax), ...fconst(4), op.f32x4Ge, op.v128Bitselect, op.localSet(b),
    op.end,
    // erf(|x|) with x's sign, where |x| >= 0.84375
    op.localGet(b), op.localGet(x), ...k.i32(0x80000000), op.v128And, op.v128Or,
    op.localGet(y), op.localGet(mask), op.v128Bitselect, op.localSet(y),
    op.end,
    op.localGet(y),
  ];
}
