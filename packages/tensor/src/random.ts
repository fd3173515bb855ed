// Seeded random numbers, reproducible bit for bit across runs and machines.
//
// A Generator runs xoshiro128** (Blackman & Vigna): 128 bits of state, period
// 2^128 - 1, good statistical quality, and only 32-bit integer arithmetic, which
// JavaScript does exactly (Math.imul, >>>). Seeds are expanded with splitmix32.
// Doubles take 53 random bits; normals use the Box-Muller transform in pairs.
// `getState()`/`setState()` make a training run resumable to the same bits.

export interface GeneratorState {
  readonly s: readonly [number, number, number, number];
}

function splitmix32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x9e3779b9) >>> 0;
    let z = a;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class Generator {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  constructor(seed = 0) {
    this.manualSeed(seed);
  }

  /** Re-seeds this generator. Any integer (up to 2^53) is a valid seed. */
  manualSeed(seed: number): this {
    if (!Number.isSafeInteger(seed)) throw new TypeError(`manualSeed: seed must be a safe integer, got ${seed}`);
    const hi = Math.floor(Math.abs(seed) / 2 ** 32);
    const next = splitmix32((seed >>> 0) ^ Math.imul(hi + (seed < 0 ? 0x5bd1e995 : 0), 0x27d4eb2f));
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
    return this;
  }

  getState(): GeneratorState {
    return { s: [this.s0, this.s1, this.s2, this.s3] };
  }

  setState(state: GeneratorState): this {
    const [a, b, c, d] = state.s;
    this.s0 = a >>> 0;
    this.s1 = b >>> 0;
    this.s2 = c >>> 0;
    this.s3 = d >>> 0;
    return this;
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const s1 = this.s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A uniform double in [0, 1) with 53 random bits. */
  random(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A uniform integer in [low, high). */
  randint(low: number, high: number): number {
    return low + Math.floor(this.random() * (high - low));
  }

  /** Fills `out` with N(mean, std^2) draws (Box-Muller, both values of each pair used). */
  fillNormal(out: { length: number; [i: number]: number }, mean = 0, std = 1): void {
    for (let i = 0; i < out.length; i += 2) {
      const u1 = 1 - this.random(); // (0, 1]: log(u1) is finite
      const u2 = this.random();
      const r = Math.sqrt(-2 * Math.log(u1));
      out[i] = mean + std * r * Math.cos(2 * Math.PI * u2);
      if (i + 1 < out.length) out[i + 1] = mean + std * r * Math.sin(2 * Math.PI * u2);
    }
  }

  /** One N(0, 1) draw. */
  normal(): number {
    const pair = [0];
    this.fillNormal(pair);
    return pair[0];
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** The generator that random functions use when none is passed. */
export const defaultGenerator = new Generator(0);

/** Seeds the default generator (torch.manual_seed). */
export function manualSeed(seed: number): Generator {
  return defaultGenerator.manualSeed(seed);
}
