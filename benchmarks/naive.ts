// The naive JavaScript loops: what one writes without thinking about caches or SIMD.

/** C = A B for row-major A [M, K], B [K, N]: for every (i, j), a dot product down B's column. */
export function naiveMatmul(a: Float32Array, b: Float32Array, M: number, K: number, N: number, c = new Float32Array(M * N)): Float32Array {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let sum = 0;
      for (let k = 0; k < K; k++) sum += a[i * K + k] * b[k * N + j];
      c[i * N + j] = sum;
    }
  }
  return c;
}

/** Softmax of each length-n row. */
export function naiveSoftmax(x: Float32Array, n: number, out = new Float32Array(x.length)): Float32Array {
  for (let r = 0; r < x.length; r += n) {
    let max = -Infinity;
    for (let j = 0; j < n; j++) max = Math.max(max, x[r + j]);
    let sum = 0;
    for (let j = 0; j < n; j++) sum += Math.exp(x[r + j] - max);
    for (let j = 0; j < n; j++) out[r + j] = Math.exp(x[r + j] - max) / sum;
  }
  return out;
}

/** LayerNorm of each length-n row, with weight and bias. */
export function naiveLayerNorm(x: Float32Array, n: number, w: Float32Array, b: Float32Array, eps: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < x.length; r += n) {
    let mean = 0;
    for (let j = 0; j < n; j++) mean += x[r + j] / n;
    let variance = 0;
    for (let j = 0; j < n; j++) variance += (x[r + j] - mean) ** 2 / n;
    for (let j = 0; j < n; j++) out[r + j] = ((x[r + j] - mean) / Math.sqrt(variance + eps)) * w[j] + b[j];
  }
  return out;
}

/** erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), as a JS user would paste it. */
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x < 0 ? -y : y;
}

export function naiveGelu(x: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = 0.5 * x[i] * (1 + erf(x[i] * Math.SQRT1_2));
  return out;
}

/** softmax(q k^T * scale) v for q, k, v [heads, T, d] flattened. */
export function naiveAttention(q: Float32Array, k: Float32Array, v: Float32Array, heads: number, T: number, d: number): Float32Array {
  const out = new Float32Array(heads * T * d);
  const scores = new Float32Array(T);
  const scale = 1 / Math.sqrt(d);
  for (let h = 0; h < heads; h++) {
    const base = h * T * d;
    for (let i = 0; i < T; i++) {
      let max = -Infinity;
      for (let j = 0; j < T; j++) {
        let s = 0;
        for (let c = 0; c < d; c++) s += q[base + i * d + c] * k[base + j * d + c];
        scores[j] = s * scale;
        max = Math.max(max, scores[j]);
      }
      let sum = 0;
      for (let j = 0; j < T; j++) sum += scores[j] = Math.exp(scores[j] - max);
      for (let j = 0; j < T; j++) {
        const p = scores[j] / sum;
        for (let c = 0; c < d; c++) out[base + i * d + c] += p * v[base + j * d + c];
      }
    }
  }
  return out;
}
