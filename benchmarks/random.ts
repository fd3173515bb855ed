// Seeded inputs, identical for every implementation (mulberry32).

/** n values uniform in [-scale, scale), from `seed`. */
export function randomArray(n: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = scale * ((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * 2 - 1);
  }
  return out;
}
