// Bad input fails loudly: every message names the op and shows the shapes or values.

import { expect } from 'chai';
import * as T from '../src/index.js';

describe('error messages', () => {
  it('mismatched broadcast shapes', () => {
    expect(() => T.add(T.ones([2, 3]), T.ones([4, 3]))).to.throw('add: shapes [2, 3] and [4, 3] cannot be broadcast together (size 2 vs 4 at dimension -2)');
    expect(() => T.where(T.ones([2]).gt(0), T.ones([3]), 0)).to.throw(/where: shapes \[2\] and \[3\] and \[\] cannot be broadcast/);
  });

  it('linear: weight, input and bias shapes, dtypes', () => {
    expect(() => T.linear(T.ones([2, 3]), T.ones([4, 5]))).to.throw('linear: input [2, 3] does not end in in_features = 5 (weight [4, 5])');
    expect(() => T.linear(T.ones([2, 3]), T.ones([3]))).to.throw('linear: expected a weight of shape [out_features, in_features], got [3]');
    expect(() => T.linear(T.ones([2, 3]), T.ones([4, 3]), T.ones([3]))).to.throw('linear: expected a bias of shape [4] for weight [4, 3], got [3]');
    expect(() => T.linear(T.ones([2, 3]), T.ones([4, 3], { dtype: 'float64' }))).to.throw('linear: weight is float64 but the input is float32');
    expect(() => T.linear(T.ones([2, 3], { dtype: 'int32' }), T.ones([4, 3], { dtype: 'int32' }))).to.throw('linear: expected a floating point input, got int32');
  });

  it('matmul inner-dimension mismatch and 0-d operands', () => {
    expect(() => T.matmul(T.ones([2, 3]), T.ones([4, 5]))).to.throw('matmul: cannot multiply [2, 3] by [4, 5] (inner dimensions 3 and 4 differ)');
    expect(() => T.matmul(T.ones([]), T.ones([2]))).to.throw(/matmul: both arguments need at least 1 dimension/);
    expect(() => T.matmul(T.ones([2, 2], { dtype: 'int32' }), T.ones([2, 2], { dtype: 'int32' }))).to.throw(/matmul: expected floating point tensors/);
  });

  it('bad dims', () => {
    expect(() => T.ones([2, 3]).sum(2)).to.throw('sum: dimension 2 is out of range for a 2-d tensor (expected -2..1)');
    expect(() => T.ones([2, 3]).transpose(0, -3)).to.throw(/transpose: dimension -3 is out of range/);
    expect(() => T.ones([2, 3]).sum([1, -1])).to.throw(/sum: dimension 1 appears more than once/);
    expect(() => T.ones([2]).permute([0, 0])).to.throw(/permute: got 2 dims/);
    expect(() => T.ones([2, 3]).narrow(1, 2, 2)).to.throw(/narrow: start 2 and length 2 are out of range for dim 1 of size 3 \(shape \[2, 3\]\)/);
    expect(() => T.ones([2, 3]).select(0, 2)).to.throw(/select: index 2 is out of range for dim 0 of size 2/);
    expect(() => T.ones([2, 3]).expand([2, 4])).to.throw(/expand: cannot expand shape \[2, 3\] to \[2, 4\]/);
    expect(() => T.cat([T.ones([2, 3]), T.ones([2, 4])], 0)).to.throw(/cat: sizes of tensors must match except in dim 0: tensor 0 has shape \[2, 3\], tensor 1 has \[2, 4\]/);
    expect(() => T.ones([2, 3]).reshape(4, -1)).to.throw(/reshape: shape \[4, -1\] is invalid for input of shape \[2, 3\] \(6 elements\)/);
    expect(() => T.ones([2]).gather(0, T.tensor([5], { dtype: 'int32' }))).to.throw(/gather: index 5 is out of bounds for a dimension of size 2/);
    expect(() => T.layerNorm(T.ones([2, 3]), [4])).to.throw(/layerNorm: input of shape \[2, 3\] does not end with normalizedShape \[4\]/);
    expect(() => T.interpolate(T.ones([2, 3]), { size: 4 })).to.throw(/interpolate: expected a 4-D \[N, C, H, W\] input, got shape \[2, 3\]/);
  });

  it('view on non-viewable strides', () => {
    expect(() => T.ones([3, 4]).T.view([12])).to.throw('view: cannot view a tensor of shape [4, 3] and strides [1, 4] as [12]');
  });

  it('backward on a non-scalar without a gradient', () => {
    const x = T.ones([2], { requiresGrad: true });
    expect(() => x.mul(2).backward()).to.throw(/backward: grad can be implicitly created only for scalar outputs; this output has shape \[2\]/);
    expect(() => T.ones([2]).sum().backward()).to.throw(/backward: this tensor \(shape \[\]\) does not require grad/);
  });

  it('in-place modification of a saved tensor', () => {
    const x = T.ones([2], { dtype: 'float64', requiresGrad: true });
    const y = x.exp(); // saves its output
    const z = y.sum();
    T.noGrad(() => y.detach().mul_(2));
    expect(() => z.backward()).to.throw(/ExpBackward: one of the tensors needed for gradient computation has been modified by an in-place operation: saved tensor 0 of shape \[2\]/);
  });

  it('wrong dtype', () => {
    expect(() => T.ones([2], { dtype: 'int32' }).mean()).to.throw('mean: expected a floating point tensor, got dtype int32');
    expect(() => T.ones([2]).gather(0, T.zeros([1]))).to.throw('gather: index must be an int32 tensor, got dtype float32');
    expect(() => T.ones([2], { dtype: 'int32' }).mul_(0.5)).to.throw(/mul_: result type float32 can't be cast to the desired output type int32/);
    expect(() => T.ones([2]).maskedFill(T.ones([2]), 0)).to.throw(/maskedFill: mask must be a bool tensor, got dtype float32/);
    expect(() => T.tensor([1], { dtype: 'float16' as never })).to.throw(/tensor: argument 'dtype' must be one of 'bool', 'int32', 'float32', 'float64', got 'float16'/);
    expect(() => T.softmax(T.ones([2], { dtype: 'int32' }), 0)).to.throw(/softmax: expected a floating point tensor/);
    expect(() => T.ones([2], { dtype: 'int32' }).pow(-1)).to.throw('pow: integers to negative integer powers are not allowed (dtype int32, exponent -1)');
  });

  it('in-place ops that cannot hold the result, and expanded targets', () => {
    expect(() => T.ones([3]).add_(T.ones([2, 3]))).to.throw(/add_: output with shape \[3\] doesn't match the broadcast shape \[2, 3\]/);
    expect(() => T.ones([1]).expand([3]).fill_(2)).to.throw(/fill_: cannot write into an expanded tensor \(shape \[3\], strides \[0\]\)/);
  });

  it('creation', () => {
    expect(() => T.tensor([[1, 2], [3]])).to.throw(/tensor: ragged nested array/);
    expect(() => T.tensor(new Float32Array(5), { shape: [2, 3] })).to.throw('tensor: shape [2, 3] needs 6 elements but the typed array has 5');
    expect(() => T.zeros([2, -1])).to.throw(/zeros: argument 'size' must be a list of non-negative integer sizes, got \[2, -1\]/);
    expect(() => T.randint(3, 3, [2])).to.throw(/randint: expected low < high, got low=3, high=3/);
    expect(() => T.ones([2, 2]).item()).to.throw(/item: only one-element tensors can be converted to a number, got shape \[2, 2\]/);
  });
});
