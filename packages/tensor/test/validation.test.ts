// Argument validation at the public entry points: a wrong argument is an error that names
// the op and the argument and says what was expected, never a silent default, a NaN or a
// TypeError from inside a kernel.

import { expect } from 'chai';
import * as T from '../src/index.js';

const x = T.tensor([[1, 2], [3, 4]]);
const bad = <V>(v: unknown) => v as V;

/** [call, error class, message pattern] */
const cases: [string, () => unknown, ErrorConstructor, RegExp][] = [
  ["gelu(x, {approx: 'tanh'})", () => T.gelu(x, bad({ approx: 'tanh' })), TypeError, /^gelu: unknown option 'approx' \(expected one of approximate\)$/],
  ["gelu(x, {approximate: 'fast'})", () => T.gelu(x, bad({ approximate: 'fast' })), RangeError, /^gelu: argument 'approximate' must be one of 'none', 'tanh', got 'fast' \(a string\)$/],
  ["x.gelu('erf')", () => x.gelu(bad('erf')), RangeError, /^gelu: argument 'approximate' must be one of 'none', 'tanh', got 'erf'/],
  ["variance(x, 0, 'false')", () => T.variance(x, 0, bad('false')), TypeError, /^var: argument 'unbiased' must be a boolean \(true or false\), got 'false' \(a string\)$/],
  ["x.std(0, true, 1)", () => x.std(0, true, bad(1)), TypeError, /^var: argument 'keepdim' must be a boolean/],
  ["sum(x, '1')", () => T.sum(x, bad('1')), TypeError, /^sum: argument 'dim' must be an integer or a list of integers, got '1' \(a string\)$/],
  ['sum(x, 2)', () => T.sum(x, 2), RangeError, /^sum: dimension 2 is out of range for a 2-d tensor \(expected -2\.\.1\)$/],
  ['mean(x, [0.5])', () => T.mean(x, [0.5]), TypeError, /^mean: argument 'dim' must be an integer or a list of integers, got \[0\.5\]/],
  ["softmax(x, '1')", () => T.softmax(x, bad('1')), TypeError, /^softmax: argument 'dim' must be an integer, got '1' \(a string\)$/],
  ['x.amax(0, null)', () => x.amax(0, bad(null)), TypeError, /^amax: argument 'keepdim' must be a boolean/],
  ["norm(x, 'nuc')", () => T.norm(x, bad('nuc')), TypeError, /^norm: argument 'p' must be a number, got 'nuc'/],
  ['norm(x, -1)', () => T.norm(x, -1), RangeError, /^norm: argument 'p' must be a number > 0, got -1/],
  ["x.to('float16')", () => x.to(bad('float16')), TypeError, /^to: 'float16' is neither a dtype \(bool, int32, float32, float64\) nor a device \(cpu, gpu\)$/],
  ["x.to('cuda')", () => x.to(bad('cuda')), TypeError, /^to: 'cuda' is neither a dtype .* nor a device \(cpu, gpu\)$/],
  ["x.to({device: 'cuda'})", () => x.to(bad({ device: 'cuda' })), RangeError, /^to: argument 'device' must be one of 'cpu', 'gpu', got 'cuda'/],
  ["x.to({dtyp: 'float64'})", () => x.to(bad({ dtyp: 'float64' })), TypeError, /^to: unknown option 'dtyp' \(expected one of device, dtype\)$/],
  ["ones([2], {dtype: 'f32'})", () => T.ones([2], bad({ dtype: 'f32' })), RangeError, /^ones: argument 'dtype' must be one of 'bool', 'int32', 'float32', 'float64', got 'f32' \(a string\)$/],
  ['zeros([2], {requiresGrad: 1})', () => T.zeros([2], bad({ requiresGrad: 1 })), TypeError, /^zeros: argument 'requiresGrad' must be a boolean/],
  ['zeros([2], {device: "cuda"})', () => T.zeros([2], bad({ device: 'cuda' })), RangeError, /^zeros: argument 'device' must be one of 'cpu', 'gpu'/],
  ['zeros(3)', () => T.zeros(bad(3)), TypeError, /^zeros: argument 'size' must be a list of non-negative integer sizes, got 3 \(a number\)$/],
  ['rand([2], {seed: 1})', () => T.rand([2], bad({ seed: 1 })), TypeError, /^rand: unknown option 'seed' \(expected one of dtype, device, requiresGrad, generator\)$/],
  ['randn([2], {generator: 1})', () => T.randn([2], bad({ generator: 1 })), TypeError, /^randn: argument 'generator' must be a Generator, got 1/],
  ["tensor([3e9], {dtype: 'int32'})", () => T.tensor([3e9], { dtype: 'int32' }), RangeError, /^tensor: value 3000000000 at element 0 cannot be converted to int32 without overflow/],
  ["tensor([1, NaN], {dtype: 'int32'})", () => T.tensor([1, NaN], { dtype: 'int32' }), RangeError, /^tensor: value NaN at element 1 cannot be converted to int32/],
  ["full([1], 2 ** 31, {dtype: 'int32'})", () => T.full([1], 2 ** 31, { dtype: 'int32' }), RangeError, /^full: value 2147483648 cannot be converted to int32 without overflow/],
  ["tensor(['a'])", () => T.tensor(bad(['a'])), TypeError, /^tensor: expected numbers or booleans, got 'a' \(a string\) at element 0$/],
  ['tensor([[1], [null]])', () => T.tensor(bad([[1], [null]])), TypeError, /^tensor: expected numbers or booleans, got null at element 1$/],
  ['tensor(new DataView(...))', () => T.tensor(bad(new DataView(new ArrayBuffer(4)))), TypeError, /^tensor: a typed array must be a Float32Array, Float64Array, Int32Array or Uint8Array, got a DataView$/],
  ["arange('5')", () => T.arange(bad('5')), TypeError, /^arange: argument 'start' must be a number, got '5'/],
  ['arange(0, Infinity)', () => T.arange(0, Infinity), RangeError, /^arange: start and end must be finite/],
  ['linspace(0, 1, 2.5)', () => T.linspace(0, 1, 2.5), TypeError, /^linspace: argument 'steps' must be an integer, got 2\.5/],
  ["add(x, 'a')", () => T.add(x, bad('a')), TypeError, /^add: argument 'other' must be a Tensor, a number or a boolean, got 'a' \(a string\)$/],
  ['x.mul(undefined)', () => x.mul(bad(undefined)), TypeError, /^mul: argument 'other' must be a Tensor, a number or a boolean, got undefined$/],
  ["clamp(x, '0')", () => T.clamp(x, bad('0')), TypeError, /^clamp: argument 'min' must be a number, got '0'/],
  ["transpose(x, 0, '1')", () => T.transpose(x, 0, bad('1')), TypeError, /^transpose: argument 'dim' must be an integer, got '1'/],
];

describe('argument validation', () => {
  for (const [call, run, type, pattern] of cases) {
    it(call, () => {
      expect(run).to.throw(type, pattern);
    });
  }

  it('what the checks let through still works: gelu shorthand, arange with options, int32 bounds', () => {
    expect(T.allclose(x.gelu('tanh'), T.gelu(x, { approximate: 'tanh' }), 0, 0)).to.equal(true);
    expect(T.allclose(x.gelu('tanh'), x.gelu(), 1e-6, 0)).to.equal(false);
    const a = T.arange(6, { dtype: 'float64' });
    expect([a.dtype, a.shape]).to.deep.equal(['float64', [6]]);
    expect(T.arange(1, 4, { dtype: 'float32' }).toArray()).to.deep.equal([1, 2, 3]);
    expect(T.tensor([-(2 ** 31), 2 ** 31 - 1, 2.7], { dtype: 'int32' }).toArray()).to.deep.equal([-(2 ** 31), 2 ** 31 - 1, 2]);
    expect(T.zerosLike(x, { dtype: 'int32' }).dtype).to.equal('int32');
  });
});
