import { expect } from 'chai';
import { ones, tensor, zeros } from '@dinots/tensor';
import { Dropout, GELU, LayerNorm, Linear, Module, ModuleList, Sequential, VisionTransformer, init, vitBase, vitSmall, vitTiny } from '../src/index.js';

/** A module with its own parameter and a buffer around children, to test names and order. */
class Toy extends Module {
  readonly inner: Linear;
  readonly stack: Sequential;
  constructor() {
    super();
    this.inner = this.registerModule('inner', new Linear(3, 2));
    this.registerParameter('scale', ones([2]));
    this.registerBuffer('running', zeros([2]));
    this.registerBuffer('scratch', zeros([1]), false);
    this.stack = this.registerModule('stack', new Sequential(new Linear(2, 2, { bias: false }), new GELU()));
  }
  forward(x: ReturnType<typeof ones>) {
    return this.stack.forward(this.inner.forward(x)).mul(this.parameter('scale')).add(this.buffer('running'));
  }
}

const tiny = (options = {}) =>
  new VisionTransformer({ imgSize: 32, patchSize: 8, embedDim: 32, depth: 2, numHeads: 4, qkvBias: true, layerNormEps: 1e-6, ...options });

describe('Module', () => {
  it('names parameters with dotted paths, own tensors before children', () => {
    expect([...new Toy().namedParameters()].map(([n]) => n)).to.deep.equal(['scale', 'inner.weight', 'inner.bias', 'stack.0.weight']);
  });

  it('puts parameters and persistent buffers in the state dict, sharing memory', () => {
    const toy = new Toy();
    const sd = toy.stateDict();
    expect(Object.keys(sd)).to.deep.equal(['scale', 'running', 'inner.weight', 'inner.bias', 'stack.0.weight']);
    expect(sd['inner.weight'].storage).to.equal(toy.inner.weight.storage);
    expect([...toy.namedBuffers()].map(([n]) => n)).to.deep.equal(['running', 'scratch']);
  });

  it('lists the 150 vit_tiny keys in the official order (as vision_transformer.py registers them)', () => {
    const keys = Object.keys(init.skipInit(() => vitTiny()).stateDict());
    const block = ['norm1.weight', 'norm1.bias', 'attn.qkv.weight', 'attn.qkv.bias', 'attn.proj.weight', 'attn.proj.bias', 'norm2.weight', 'norm2.bias', 'mlp.fc1.weight', 'mlp.fc1.bias', 'mlp.fc2.weight', 'mlp.fc2.bias'];
    const expected = ['cls_token', 'pos_embed', 'patch_embed.proj.weight', 'patch_embed.proj.bias'];
    for (let i = 0; i < 12; i++) expected.push(...block.map((k) => `blocks.${i}.${k}`));
    expected.push('norm.weight', 'norm.bias');
    expect(keys).to.deep.equal(expected);
    expect(keys).to.have.length(150);
  });

  it('counts the parameters of the DINO ViTs as the official checkpoints hold them', () => {
    // skipInit: the count does not depend on the values, and a ViT-B's random init takes seconds.
    expect(init.skipInit(() => vitTiny()).numParameters()).to.equal(5_524_416);
    expect(init.skipInit(() => vitTiny({ patchSize: 8 })).numParameters()).to.equal(5_526_720);
    expect(init.skipInit(() => vitSmall()).numParameters()).to.equal(21_665_664);
    expect(init.skipInit(() => vitSmall({ patchSize: 8 })).numParameters()).to.equal(21_670_272);
    expect(init.skipInit(() => vitBase()).numParameters()).to.equal(85_798_656);
    expect(init.skipInit(() => vitBase({ patchSize: 8 })).numParameters()).to.equal(85_807_872);
  });

  it('loads a state dict in place and reports every problem at once', () => {
    const a = new Toy();
    const b = new Toy();
    b.loadStateDict(a.stateDict());
    expect(b.inner.weight.toArray()).to.deep.equal(a.inner.weight.toArray());
    const bad = { ...a.stateDict(), extra: zeros([1]), 'inner.weight': zeros([4, 4]) };
    delete (bad as Record<string, unknown>).scale;
    let message = '';
    try {
      b.loadStateDict(bad);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).to.contain('Missing key(s): scale [2]');
    expect(message).to.contain('Unexpected key(s): extra [1]');
    expect(message).to.contain('size mismatch for inner.weight: copying a param with shape [4, 4], the shape in the current model is [2, 3]');
  });

  it('casts loaded values to each parameter dtype', () => {
    const source = new Linear(3, 2, { dtype: 'float64' });
    const target = new Linear(3, 2);
    target.loadStateDict(source.stateDict());
    expect(target.weight.dtype).to.equal('float32');
    expect(Array.from(target.weight.dataSync())).to.deep.equal(Array.from(source.weight.dataSync(), Math.fround));
  });

  it('with strict false, loads what matches and returns missing and unexpected keys', () => {
    const toy = new Toy();
    const result = toy.loadStateDict({ scale: tensor([5, 6]), other: zeros([1]) }, { strict: false });
    expect(result.missingKeys).to.deep.equal(['running', 'inner.weight', 'inner.bias', 'stack.0.weight']);
    expect(result.unexpectedKeys).to.deep.equal(['other']);
    expect(toy.stateDict().scale.toArray()).to.deep.equal([5, 6]);
    expect(() => toy.loadStateDict({ scale: zeros([3]) }, { strict: false })).to.throw(/size mismatch for scale/);
  });

  it('switches train/eval recursively and applies functions children first', () => {
    const toy = new Toy().eval();
    expect([...toy.modules()].every((m) => !m.training)).to.equal(true);
    const order: string[] = [];
    toy.apply((m) => order.push(m.constructor.name));
    expect(order).to.deep.equal(['Linear', 'Linear', 'GELU', 'Sequential', 'Toy']);
  });

  it('converts dtypes with double()/float(), keeping requiresGrad and gradients', () => {
    const toy = new Toy();
    toy.inner.weight.grad = ones([2, 3]);
    toy.stack.at(0).requiresGrad_(false);
    toy.double();
    expect([...toy.parameters()].map((p) => p.dtype)).to.deep.equal(['float64', 'float64', 'float64', 'float64']);
    expect(toy.inner.weight.grad?.dtype).to.equal('float64');
    expect(toy.inner.weight.requiresGrad).to.equal(true);
    expect((toy.stack.at(0) as Linear).weight.requiresGrad).to.equal(false);
    expect([...toy.buffers()].map((b) => b.dtype)).to.deep.equal(['float64', 'float64']);
    expect(toy.forward(ones([1, 3], { dtype: 'float64' })).dtype).to.equal('float64');
    toy.float();
    expect(toy.inner.bias?.dtype).to.equal('float32');
  });

  it('zeroGrad drops gradients; numParameters can count trainable ones only', () => {
    const toy = new Toy();
    toy.forward(ones([4, 3])).sum().backward();
    expect(toy.inner.weight.grad).to.not.equal(null);
    toy.zeroGrad();
    expect([...toy.parameters()].every((p) => p.grad === null)).to.equal(true);
    expect(toy.numParameters()).to.equal(2 + 6 + 2 + 4);
    toy.inner.requiresGrad_(false);
    expect(toy.numParameters(true)).to.equal(2 + 4);
  });

  it('registers parameters as leaves that require grad unless asked otherwise', () => {
    const toy = new Toy();
    toy.registerParameter('frozen', ones([1]), false);
    expect(toy.stateDict()).to.have.property('frozen');
    expect(toy.numParameters(true)).to.equal(toy.numParameters() - 1);
    const computed = ones([2], { requiresGrad: true }).mul(2);
    expect(() => toy.registerParameter('computed', computed)).to.throw("registerParameter: 'computed' (shape [2]) is the result of an op, not a leaf; register value.detach()");
  });

  it('lists a shared module or tensor once in namedParameters but under every path in stateDict', () => {
    const shared = new Linear(2, 2);
    const seq = new Sequential(shared, new GELU(), shared);
    expect([...seq.namedParameters()].map(([n]) => n)).to.deep.equal(['0.weight', '0.bias']);
    expect([...seq.namedModules()].map(([n]) => n)).to.deep.equal(['', '0', '1']);
    expect(Object.keys(seq.stateDict())).to.deep.equal(['0.weight', '0.bias', '2.weight', '2.bias']);
  });

  it('refuses duplicate and dotted names', () => {
    const toy = new Toy();
    expect(() => toy.registerBuffer('scale', zeros([1]))).to.throw(/already has a member named 'scale'/);
    expect(() => toy.registerModule('a.b', new GELU())).to.throw(/invalid name 'a.b'/);
  });

  it('prints like PyTorch, collapsing repeated blocks of a ModuleList', () => {
    expect(new Linear(3, 4).toString()).to.equal('Linear(in_features=3, out_features=4, bias=True)');
    expect(new LayerNorm(8, { eps: 1e-6 }).toString()).to.equal('LayerNorm((8,), eps=1e-06, elementwise_affine=True)');
    expect(new LayerNorm(8).toString()).to.equal('LayerNorm((8,), eps=1e-05, elementwise_affine=True)');
    expect(new Dropout(0).toString()).to.equal('Dropout(p=0.0, inplace=False)');
    expect(new ModuleList([new GELU(), new GELU()]).toString()).to.equal("ModuleList(\n  (0-1): 2 x GELU(approximate='none')\n)");
    const text = tiny().toString().split('\n');
    expect(text.slice(0, 5)).to.deep.equal([
      'VisionTransformer(',
      '  (patch_embed): PatchEmbed(',
      '    (proj): Conv2d(3, 32, kernel_size=(8, 8), stride=(8, 8))',
      '  )',
      '  (pos_drop): Dropout(p=0.0, inplace=False)',
    ]);
    expect(text).to.include('    (0-1): 2 x Block(');
    expect(text).to.include('        (qkv): Linear(in_features=32, out_features=96, bias=True)');
  });
});
