// torch.nn.functional.linear: y = x W^T + b, x [..., in], W [out, in], b [out] (optional).
//
// The leading dims of x are flattened into rows, so that the product is one GEMM, [rows, in]
// x [in, out] with W^T read through its strides (no copy). On a backend that sets
// Backend.matmulBias (the CPU backend) the bias is added to each row of the product as
// its tile leaves the GEMM kernel, instead of in a second pass over y; elsewhere it is an
// add. Either way each element is the product rounded to x's dtype plus the bias, rounded
// once more, so y, and its gradients (those of matmul and add: dx = g W, dW = g^T x, db =
// the sum of g over the rows), have the same bits.

import { isFloatingPoint } from '../dtype.js';
import { formatShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { backendOf } from './allocate.js';
import { add } from './binary.js';
import { matmul, matmulAddBias } from './matmul.js';
import { reshape, transpose } from './movement.js';

export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  const [outFeatures, inFeatures] = weight.shape;
  if (weight.ndim !== 2) throw new Error(`linear: expected a weight of shape [out_features, in_features], got ${formatShape(weight.shape)}`);
  if (x.ndim === 0 || x.shape[x.ndim - 1] !== inFeatures) {
    throw new Error(`linear: input ${formatShape(x.shape)} does not end in in_features = ${inFeatures} (weight ${formatShape(weight.shape)})`);
  }
  if (bias !== null && (bias.ndim !== 1 || bias.shape[0] !== outFeatures)) {
    throw new Error(`linear: expected a bias of shape [${outFeatures}] for weight ${formatShape(weight.shape)}, got ${formatShape(bias.shape)}`);
  }
  if (!isFloatingPoint(x.dtype)) throw new TypeError(`linear: expected a floating point input, got ${x.dtype}`);
  for (const [name, t] of [['weight', weight], ['bias', bias]] as const) {
    if (t === null) continue;
    if (t.dtype !== x.dtype) throw new TypeError(`linear: ${name} is ${t.dtype} but the input is ${x.dtype}; convert one with .to()`);
    if (t.device !== x.device) throw new Error(`linear: ${name} is on '${t.device}' but the input is on '${x.device}'`);
  }
  // the batch dims' product, not -1: with in_features 0 a -1 would not be determined
  const rows = reshape(x, [x.shape.slice(0, -1).reduce((n, d) => n * d, 1), inFeatures]);
  const weightT = transpose(weight, 0, 1);
  const y = bias === null ? matmul(rows, weightT) : backendOf(x).matmulBias ? matmulAddBias(rows, weightT, bias) : add(matmul(rows, weightT), bias);
  return reshape(y, [...x.shape.slice(0, -1), outFeatures]);
}
