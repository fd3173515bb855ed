// DINOHead (Caron et al. 2021, section 3.1 and appendix; the official vision_transformer.py `DINOHead`): the projection
// head on top of the backbone's CLS feature.
//   h = MLP(x)                 nlayers Linear layers with GELU between them (none after the last);
//                              with useBn a BatchNorm1d follows each hidden Linear, before its GELU
//   z = h / max(||h||_2, 1e-12)  L2-normalised bottleneck
//   logits = z W^T,   W[k,:] = g[k] v[k,:] / ||v[k,:]||_2   (weight-normalised, no bias)
// With normLastLayer (the default) g is fixed at 1, so every logit is a cosine in [-1, 1].
// Parameter names are the official keys: mlp.0.weight ... mlp.4.bias, last_layer.weight_g,
// last_layer.weight_v (nlayers 1: mlp.weight, mlp.bias). With useBn the BatchNorm1d layers
// take their places in the Sequential (mlp.1, mlp.4), so the last Linear is mlp.6.

import { type DType, type Generator, type Tensor, formatShape, ones, zeros } from '@dinots/tensor';
import { BatchNorm1d, GELU, Linear, Module, Sequential, type TensorModule, init } from '@dinots/nn';

/**
 * A Linear without bias under the old-style weight normalisation (torch.nn.utils.weight_norm,
 * dim 0): the weight is g * v / ||v|| with one norm per output row.
 */
export class WeightNormLinear extends Module {
  constructor(readonly inFeatures: number, readonly outFeatures: number, options: { dtype?: DType; generator?: Generator } = {}) {
    super();
    const { dtype = 'float32', generator } = options;
    // PyTorch registers weight_g before weight_v; state-dict order follows.
    this.registerParameter('weight_g', ones([outFeatures, 1], { dtype }));
    this.registerParameter('weight_v', zeros([outFeatures, inFeatures], { dtype }));
    // weight_v keeps nn.Linear's default init: kaiming-uniform(a = sqrt 5) = U(+-1/sqrt(in)).
    init.kaimingUniform_(this.weightV, { a: Math.sqrt(5), generator });
  }

  get weightG(): Tensor {
    return this.parameter('weight_g');
  }

  get weightV(): Tensor {
    return this.parameter('weight_v');
  }

  /** The effective weight g * v / ||v||_row, [out, in]. */
  weight(): Tensor {
    const v = this.weightV;
    return v.mul(this.weightG.div(v.norm(2, 1, true)));
  }

  forward(x: Tensor): Tensor {
    if (x.ndim === 0 || x.shape[x.ndim - 1] !== this.inFeatures) {
      throw new Error(`WeightNormLinear(${this.inFeatures}, ${this.outFeatures}): expected input [..., ${this.inFeatures}], got ${formatShape(x.shape)}`);
    }
    return x.matmul(this.weight().mT);
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=False`;
  }
}

export interface DINOHeadOptions {
  inDim: number;
  /** K, the number of outputs (65536 in the paper). */
  outDim: number;
  /** BatchNorm1d after each hidden Linear (the official use_bn_in_head; default false). */
  useBn?: boolean;
  /** Freeze g = 1 in the weight-normalised last layer (default true). */
  normLastLayer?: boolean;
  nlayers?: number;
  hiddenDim?: number;
  bottleneckDim?: number;
  dtype?: DType;
  generator?: Generator;
}

export class DINOHead extends Module {
  readonly mlp: TensorModule;
  readonly lastLayer: WeightNormLinear;

  constructor(options: DINOHeadOptions) {
    super();
    const { inDim, outDim, useBn = false, normLastLayer = true, hiddenDim = 2048, bottleneckDim = 256, dtype = 'float32', generator } = options;
    const nlayers = Math.max(options.nlayers ?? 3, 1);
    for (const [name, value] of Object.entries({ inDim, outDim, hiddenDim, bottleneckDim, nlayers })) {
      if (!Number.isInteger(value) || value < 1) throw new Error(`DINOHead: ${name} must be a positive integer, got ${value}`);
    }
    const linear = (i: number, o: number) => new Linear(i, o, { dtype, generator });
    let mlp: TensorModule;
    if (nlayers === 1) {
      mlp = linear(inDim, bottleneckDim);
    } else {
      const hidden = (i: number): TensorModule[] => [linear(i, hiddenDim), ...(useBn ? [new BatchNorm1d(hiddenDim, { dtype })] : []), new GELU()];
      const layers: TensorModule[] = hidden(inDim);
      for (let i = 0; i < nlayers - 2; i++) layers.push(...hidden(hiddenDim));
      layers.push(linear(hiddenDim, bottleneckDim));
      mlp = new Sequential(...layers);
    }
    this.mlp = this.registerModule('mlp', mlp);
    // The official _init_weights runs before last_layer exists: only the MLP is re-initialised.
    this.apply((m) => {
      if (m instanceof Linear) {
        init.truncNormal_(m.weight, { std: 0.02, generator });
        if (m.bias !== null) init.zeros_(m.bias);
      }
    });
    this.lastLayer = this.registerModule('last_layer', new WeightNormLinear(bottleneckDim, outDim, { dtype, generator }));
    if (normLastLayer) this.lastLayer.weightG.requiresGrad_(false);
  }

  forward(x: Tensor): Tensor {
    const h = this.mlp.forward(x);
    const z = h.div(h.norm(2, -1, true).clamp(1e-12));
    return this.lastLayer.forward(z);
  }
}
