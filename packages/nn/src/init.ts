// Parameter initialisers (torch.nn.init): each fills a tensor in place, outside autograd.
//
// fan_in of a weight [out, in, k...] is in * prod(k), fan_out is out * prod(k).
// kaimingUniform_: U(-bound, bound) with bound = gain * sqrt(3 / fan), gain = sqrt(2 / (1 + a^2))
// (leaky ReLU). PyTorch's default for Linear and Conv2d weights is a = sqrt(5), which gives
// bound = 1 / sqrt(fan_in); their biases are U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

import { type Generator, type Tensor, formatShape, noGrad, truncNormal } from '@dinots/tensor';

export interface InitOptions {
  generator?: Generator;
}

export interface TruncNormalInitOptions extends InitOptions {
  mean?: number;
  std?: number;
  /** Absolute lower bound (not in units of std), default -2 as in PyTorch. */
  a?: number;
  /** Absolute upper bound, default 2. */
  b?: number;
}

/** Normal draws truncated to [a, b], sampled exactly as PyTorch's trunc_normal_ (inverse CDF, then clamp). */
export function truncNormal_(t: Tensor, options: TruncNormalInitOptions = {}): Tensor {
  return noGrad(() => t.copy_(truncNormal(t.shape, { ...options, dtype: t.dtype })));
}

/** U(low, high) draws. */
export function uniform_(t: Tensor, low = 0, high = 1, options: InitOptions = {}): Tensor {
  return noGrad(() => t.uniform_(low, high, options.generator));
}

export function constant_(t: Tensor, value: number): Tensor {
  return noGrad(() => t.fill_(value));
}

export function zeros_(t: Tensor): Tensor {
  return constant_(t, 0);
}

export function ones_(t: Tensor): Tensor {
  return constant_(t, 1);
}

/** [fanIn, fanOut] of a weight of shape [out, in, ...kernel]. */
export function calculateFanInAndFanOut(t: Tensor): [number, number] {
  if (t.ndim < 2) throw new Error(`calculateFanInAndFanOut: fan in and fan out need at least 2 dimensions, got shape ${formatShape(t.shape)}`);
  const receptive = t.shape.slice(2).reduce((a, b) => a * b, 1);
  return [t.shape[1] * receptive, t.shape[0] * receptive];
}

export interface KaimingOptions extends InitOptions {
  /** Negative slope of the leaky ReLU that follows (PyTorch's layers use sqrt(5)). */
  a?: number;
  mode?: 'fanIn' | 'fanOut';
}

/** He et al. (2015) uniform init for a leaky-ReLU with negative slope `a`. */
export function kaimingUniform_(t: Tensor, options: KaimingOptions = {}): Tensor {
  const { a = 0, mode = 'fanIn' } = options;
  const [fanIn, fanOut] = calculateFanInAndFanOut(t);
  const gain = Math.sqrt(2 / (1 + a * a));
  const std = gain / Math.sqrt(mode === 'fanIn' ? fanIn : fanOut);
  const bound = Math.sqrt(3) * std;
  return uniform_(t, -bound, bound, options);
}

/** PyTorch's reset_parameters() for Linear and Conv2d: kaiming-uniform(a = sqrt 5) weight, U(+-1/sqrt(fan_in)) bias. */
export function defaultLinearInit_(weight: Tensor, bias: Tensor | null, options: InitOptions = {}): void {
  kaimingUniform_(weight, { a: Math.sqrt(5), generator: options.generator });
  if (bias !== null) {
    const [fanIn] = calculateFanInAndFanOut(weight);
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    uniform_(bias, -bound, bound, options);
  }
}
