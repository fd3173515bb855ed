// Vision Transformer (Dosovitskiy et al. 2021) exactly as DINO's vision_transformer.py builds
// it (Caron et al. 2021; vision_transformer.py `VisionTransformer`):
//   tokens = [cls_token; PatchEmbed(x)] + pos_embed (resampled when the grid differs)
//   tokens -> depth pre-norm Blocks -> LayerNorm;  forward returns the CLS token [B, D]
// Parameter names are the official state-dict keys (cls_token, pos_embed, patch_embed.proj.*,
// blocks.i.*, norm.*), so converted official checkpoints load unchanged.

import {
  type DType,
  type Generator,
  type Tensor,
  cat,
  checkBoolean,
  checkDType,
  checkGenerator,
  checkInteger,
  checkNumber,
  checkOptions,
  formatShape,
  interpolate,
  linspace,
  zeros,
} from '@dinots/tensor';
import { constant_, truncNormal_ } from './init.js';
import { Block } from './layers/block.js';
import { ModuleList } from './layers/containers.js';
import { Dropout } from './layers/dropout.js';
import { LayerNorm } from './layers/layer-norm.js';
import { Linear } from './layers/linear.js';
import { PatchEmbed } from './layers/patch-embed.js';
import { Module } from './module.js';

/** Constructor options in timm's names (camelCase); defaults are those of the bare class. */
export interface VisionTransformerOptions {
  imgSize?: number;
  patchSize?: number;
  inChans?: number;
  embedDim?: number;
  depth?: number;
  numHeads?: number;
  mlpRatio?: number;
  qkvBias?: boolean;
  qkScale?: number;
  dropRate?: number;
  attnDropRate?: number;
  /** Stochastic depth: block i drops its branches with rate linspace(0, dropPathRate, depth)[i]. */
  dropPathRate?: number;
  layerNormEps?: number;
  dtype?: DType;
  /** Random source for the initialisation and for dropout/drop path. */
  generator?: Generator;
}

const VIT_KEYS = [
  'imgSize', 'patchSize', 'inChans', 'embedDim', 'depth', 'numHeads', 'mlpRatio', 'qkvBias', 'qkScale',
  'dropRate', 'attnDropRate', 'dropPathRate', 'layerNormEps', 'dtype', 'generator',
] as const;

/** Checks every VisionTransformer option; `op` names the constructor or factory in messages. */
function checkVitOptions(op: string, options: VisionTransformerOptions, keys: readonly string[]): void {
  const o = checkOptions(op, options, keys);
  const positive = { min: 1 };
  const rate = { min: 0, max: 1 };
  if (o.imgSize !== undefined) checkInteger(op, 'imgSize', o.imgSize, positive);
  if (o.patchSize !== undefined) checkInteger(op, 'patchSize', o.patchSize, positive);
  if (o.inChans !== undefined) checkInteger(op, 'inChans', o.inChans, positive);
  if (o.embedDim !== undefined) checkInteger(op, 'embedDim', o.embedDim, positive);
  if (o.depth !== undefined) checkInteger(op, 'depth', o.depth, { min: 0 });
  if (o.numHeads !== undefined) checkInteger(op, 'numHeads', o.numHeads, positive);
  if (o.mlpRatio !== undefined) checkNumber(op, 'mlpRatio', o.mlpRatio, { min: 0, minExclusive: true, max: Infinity, maxExclusive: true });
  if (o.qkvBias !== undefined) checkBoolean(op, 'qkvBias', o.qkvBias);
  if (o.qkScale !== undefined) checkNumber(op, 'qkScale', o.qkScale, { min: 0, minExclusive: true });
  if (o.dropRate !== undefined) checkNumber(op, 'dropRate', o.dropRate, rate);
  if (o.attnDropRate !== undefined) checkNumber(op, 'attnDropRate', o.attnDropRate, rate);
  if (o.dropPathRate !== undefined) checkNumber(op, 'dropPathRate', o.dropPathRate, { min: 0, max: 1, maxExclusive: true });
  if (o.layerNormEps !== undefined) checkNumber(op, 'layerNormEps', o.layerNormEps, { min: 0 });
  if (o.dtype !== undefined) checkDType(op, o.dtype);
  checkGenerator(op, o.generator);
}

export class VisionTransformer extends Module {
  readonly embedDim: number;
  readonly numHeads: number;
  readonly patchEmbed: PatchEmbed;
  readonly posDrop: Dropout;
  readonly blocks: ModuleList<Block>;
  readonly norm: LayerNorm;

  constructor(options: VisionTransformerOptions = {}) {
    super();
    checkVitOptions('VisionTransformer', options, VIT_KEYS);
    const {
      imgSize = 224, patchSize = 16, inChans = 3, embedDim = 768, depth = 12, numHeads = 12, mlpRatio = 4, qkvBias = false,
      qkScale, dropRate = 0, attnDropRate = 0, dropPathRate = 0, layerNormEps = 1e-5, dtype = 'float32', generator,
    } = options;
    if (embedDim % numHeads !== 0) throw new RangeError(`VisionTransformer: embedDim ${embedDim} is not divisible by numHeads ${numHeads}`);
    if (patchSize > imgSize) throw new RangeError(`VisionTransformer: patchSize ${patchSize} is larger than imgSize ${imgSize}`);
    this.embedDim = embedDim;
    this.numHeads = numHeads;
    this.patchEmbed = this.registerModule('patch_embed', new PatchEmbed({ imgSize, patchSize, inChans, embedDim, dtype, generator }));
    this.registerParameter('cls_token', zeros([1, 1, embedDim], { dtype }));
    this.registerParameter('pos_embed', zeros([1, this.patchEmbed.numPatches + 1, embedDim], { dtype }));
    this.posDrop = this.registerModule('pos_drop', new Dropout(dropRate, generator));
    // torch.linspace in float32, then .item(): the rates are float32 values.
    const rates = linspace(0, dropPathRate, depth).toArray() as number[];
    this.blocks = this.registerModule(
      'blocks',
      new ModuleList(rates.map((dropPath) =>
        new Block(embedDim, { numHeads, mlpRatio, qkvBias, qkScale, drop: dropRate, attnDrop: attnDropRate, dropPath, layerNormEps, dtype, generator }),
      )),
    );
    this.norm = this.registerModule('norm', new LayerNorm(embedDim, { eps: layerNormEps, dtype }));

    truncNormal_(this.posEmbed, { std: 0.02, generator });
    truncNormal_(this.clsToken, { std: 0.02, generator });
    this.apply((m) => {
      if (m instanceof Linear) {
        truncNormal_(m.weight, { std: 0.02, generator });
        if (m.bias !== null) constant_(m.bias, 0);
      } else if (m instanceof LayerNorm && m.weight !== null && m.bias !== null) {
        constant_(m.bias, 0);
        constant_(m.weight, 1);
      }
    });
  }

  get clsToken(): Tensor {
    return this.parameter('cls_token');
  }

  get posEmbed(): Tensor {
    return this.parameter('pos_embed');
  }

  get patchSize(): number {
    return this.patchEmbed.patchSize;
  }

  /**
   * The positional embedding for tokens x [B, 1 + gh*gw, D] of an H x W image. When the
   * grid differs from the learned S x S one (or H != W), the patch entries are resampled
   * with bicubic interpolation at scale factor ((gh + 0.1)/S, (gw + 0.1)/S), exactly as the
   * official vision_transformer.py `interpolate_pos_encoding` (the +0.1 also shifts the sample
   * positions). CLS's entry is kept.
   */
  interpolatePosEncoding(x: Tensor, height: number, width: number): Tensor {
    const npatch = x.shape[1] - 1;
    const N = this.posEmbed.shape[1] - 1;
    if (npatch === N && height === width) return this.posEmbed;
    const S = Math.round(Math.sqrt(N));
    if (S * S !== N) throw new Error(`interpolatePosEncoding: pos_embed has ${N} patch entries, not a square grid`);
    const D = x.shape[2];
    const gh = Math.floor(height / this.patchSize) + 0.1;
    const gw = Math.floor(width / this.patchSize) + 0.1;
    const grid = this.posEmbed.narrow(1, 1, N).reshape(1, S, S, D).permute(0, 3, 1, 2);
    const resampled = interpolate(grid, { scaleFactor: [gh / S, gw / S], mode: 'bicubic' });
    if (resampled.shape[2] !== Math.trunc(gh) || resampled.shape[3] !== Math.trunc(gw)) {
      throw new Error(`interpolatePosEncoding: resampled grid ${formatShape(resampled.shape)} is not ${Math.trunc(gh)} x ${Math.trunc(gw)}`);
    }
    const patchPos = resampled.permute(0, 2, 3, 1).reshape(1, -1, D);
    return cat([this.posEmbed.narrow(1, 0, 1), patchPos], 1);
  }

  /** [B, C, H, W] -> tokens [B, 1 + (H/p)(W/p), D]: CLS first, positions added. */
  prepareTokens(x: Tensor): Tensor {
    if (x.ndim !== 4) throw new Error(`VisionTransformer: expected images [B, C, H, W], got ${formatShape(x.shape)}`);
    const [B, , H, W] = x.shape;
    const patches = this.patchEmbed.forward(x);
    const tokens = cat([this.clsToken.expand(B, 1, this.embedDim), patches], 1);
    return this.posDrop.forward(tokens.add(this.interpolatePosEncoding(tokens, H, W)));
  }

  /** The CLS feature after the final LayerNorm, [B, D]. */
  forward(x: Tensor): Tensor {
    let tokens = this.prepareTokens(x);
    for (const block of this.blocks) tokens = block.forward(tokens);
    // LayerNorm acts on each token alone, so normalising only the CLS token gives the same values.
    return this.norm.forward(tokens.select(1, 0));
  }

  /** The last block's attention probabilities [B, heads, N+1, N+1] (query x key; no final norm). */
  getLastSelfAttention(x: Tensor): Tensor {
    let tokens = this.prepareTokens(x);
    const last = this.blocks.length - 1;
    for (let i = 0; i < last; i++) tokens = this.blocks.at(i).forward(tokens);
    return this.blocks.at(last).selfAttention(tokens);
  }

  /** The outputs [B, N+1, D] of the last n blocks, each through the final norm. */
  getIntermediateLayers(x: Tensor, n = 1): Tensor[] {
    let tokens = this.prepareTokens(x);
    const out: Tensor[] = [];
    let i = 0;
    for (const block of this.blocks) {
      tokens = block.forward(tokens);
      if (this.blocks.length - i <= n) out.push(this.norm.forward(tokens));
      i++;
    }
    return out;
  }
}

export type VitFactoryOptions = Omit<VisionTransformerOptions, 'embedDim' | 'depth' | 'numHeads' | 'mlpRatio' | 'qkvBias' | 'layerNormEps'>;

const FACTORY_KEYS = VIT_KEYS.filter((k) => !['embedDim', 'depth', 'numHeads', 'mlpRatio', 'qkvBias', 'layerNormEps'].includes(k));

function dinoVit(name: string, embedDim: number, numHeads: number, options: VitFactoryOptions): VisionTransformer {
  checkVitOptions(name, options, FACTORY_KEYS);
  return new VisionTransformer({ patchSize: 16, ...options, embedDim, depth: 12, numHeads, mlpRatio: 4, qkvBias: true, layerNormEps: 1e-6 });
}

/** ViT-Tiny (D 192, 3 heads, depth 12), as DINO's vit_tiny: 5,524,416 parameters at patch 16. */
export function vitTiny(options: VitFactoryOptions = {}): VisionTransformer {
  return dinoVit('vitTiny', 192, 3, options);
}

/** ViT-Small (D 384, 6 heads, depth 12), as DINO's vit_small: 21,665,664 parameters at patch 16. */
export function vitSmall(options: VitFactoryOptions = {}): VisionTransformer {
  return dinoVit('vitSmall', 384, 6, options);
}

/** ViT-Base (D 768, 12 heads, depth 12), as DINO's vit_base: 85,798,656 parameters at patch 16. */
export function vitBase(options: VitFactoryOptions = {}): VisionTransformer {
  return dinoVit('vitBase', 768, 12, options);
}
