// Matrix product with PyTorch's matmul semantics.
//
//   1-D x 1-D: dot product; 2-D x 2-D: matrix product; a 1-D operand is treated as a
//   row (left) or column (right) vector and that dim is removed from the result;
//   N-D: batched over the leading dims, which broadcast.
// For C = A B: dA = dC B^T, dB = A^T dC, each summed over broadcast batch dims.

import type { GradFormula } from '../autograd/node.js';
import { record } from '../autograd/record.js';
import { isFloatingPoint } from '../dtype.js';
import { broadcastShapes, formatShape, numel, viewStrides } from '../shape.js';
import { Tensor } from '../tensor.js';
import { backendOf, emptyTensor } from './allocate.js';
import { expand, reshape, transpose, unsqueeze } from './movement.js';
import { sumTo } from './reduce.js';

export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.ndim === 0 || b.ndim === 0) {
    throw new Error(`matmul: both arguments need at least 1 dimension, got shapes ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  }
  if (a.device !== b.device) throw new Error(`matmul: expected both tensors on the same device, got '${a.device}' and '${b.device}'`);
  // no type promotion here, as in PyTorch ("expected scalar type Float but found Int")
  if (a.dtype !== b.dtype) {
    throw new TypeError(`matmul: expected both operands to have the same dtype, got ${a.dtype} and ${b.dtype}; convert one with .to()`);
  }
  if (!isFloatingPoint(a.dtype)) throw new TypeError(`matmul: expected floating point tensors, got ${a.dtype} and ${b.dtype}`);
  const x = a;
  const y = b;
  const k1 = x.shape[x.ndim - 1];
  const k2 = y.shape[y.ndim === 1 ? 0 : y.ndim - 2];
  if (k1 !== k2) {
    throw new Error(`matmul: cannot multiply ${formatShape(a.shape)} by ${formatShape(b.shape)} (inner dimensions ${k1} and ${k2} differ)`);
  }
  const x2 = x.ndim === 1 ? unsqueeze(x, 0) : x;
  const y2 = y.ndim === 1 ? unsqueeze(y, 1) : y;
  const out = batchedMatmul(x2, y2);
  if (x.ndim > 1 && y.ndim > 1) return out;
  // drop the row dim of a 1-D left operand and the column dim of a 1-D right operand
  const shape = out.shape.filter((_, i) => !(x.ndim === 1 && i === out.ndim - 2) && !(y.ndim === 1 && i === out.ndim - 1));
  return reshape(out, shape);
}

/** [..., M, K] x [..., K, N] -> [..., M, N], batch dims broadcast (both at least 2-D). */
function batchedMatmul(a: Tensor, b: Tensor): Tensor {
  const M = a.shape[a.ndim - 2];
  const N = b.shape[b.ndim - 1];
  const batch = broadcastShapes('matmul', a.shape.slice(0, -2), b.shape.slice(0, -2));
  const out = emptyTensor([...batch, M, N], a.dtype, a.device, false); // the kernel writes every element
  if (out.numel > 0) runKernel(a.detach(), b.detach(), out, batch);
  return record('MmBackward', out, [a, b], [a, b], matmulGradients(a, b));
}

/**
 * a [M, K] x b [K, N] + bias [N] in one kernel call, the bias added to each row of the
 * product as it leaves the kernel, for a backend that sets matmulBias (ops/linear.ts).
 * Its gradients are those of the product and of the add it saves.
 */
export function matmulAddBias(a: Tensor, b: Tensor, bias: Tensor): Tensor {
  const out = emptyTensor([a.shape[0], b.shape[1]], a.dtype, a.device, false); // the kernel writes every element
  if (out.numel > 0) runKernel(a.detach(), b.detach(), out, [], bias.detach());
  return record('AddmmBackward', out, [a, b, bias], [a, b], [...matmulGradients(a, b), (g) => sumTo(g, bias.shape)]);
}

/**
 * a [...batch, M, K] x b [...batch, K, N] written into `out` [...batch, M, N], a strided view
 * (unit stride along N), the same batch dims on all three, by a backend that sets
 * matmulBatchViews. Not recorded: a fused backward pass's kernel (ops/self-attention.ts).
 */
export function matmulInto(a: Tensor, b: Tensor, out: Tensor): void {
  const backend = backendOf(a);
  const [M, K] = a.shape.slice(-2);
  const N = b.shape[b.ndim - 1];
  const batch = a.shape.slice(0, -2);
  const fits = b.ndim === a.ndim && out.ndim === a.ndim && b.shape.slice(0, -1).every((d, i) => d === [...batch, K][i]) &&
    out.shape.every((d, i) => d === [...batch, M, N][i]) && (out.strides[out.ndim - 1] === 1 || N <= 1);
  if (!backend.matmulBatchViews || !fits) {
    throw new Error(`matmulInto: cannot write ${formatShape(a.shape)} x ${formatShape(b.shape)} into ${formatShape(out.shape)} (strides ${formatShape(out.strides)}) on '${a.device}'`);
  }
  if (out.numel > 0) backend.matmul(a.detach(), b.detach(), out);
}

/** dA = dC B^T and dB = A^T dC for C = A B (batched, broadcast), each in its operand's layout. */
function matmulGradients(a: Tensor, b: Tensor): [GradFormula, GradFormula] {
  return [
    (g) => sumTo(productInLayoutOf(a, g, transpose(b, -1, -2)), a.shape),
    // b shared by every batch item (a Linear weight): sum_i A_i^T G_i is one product
    // over the stacked rows, A_rows^T G_rows, instead of one per item and a sum.
    (g) => b.ndim === 2 && a.ndim > 2
      ? productInLayoutOf(b, transpose(reshape(a, [-1, a.shape[a.ndim - 1]]), 0, 1), reshape(g, [-1, g.shape[g.ndim - 1]]))
      : sumTo(productInLayoutOf(b, transpose(a, -1, -2), g), b.shape),
  ];
}

/**
 * x y, laid out as `like` when `like` is a column-major matrix: then as (y^T x^T)^T, a
 * transposed view of a row-major product. A Linear layer multiplies by W^T, a column-major
 * view of its row-major weight W, so its gradient comes out in W's own layout and reaches
 * W.grad without a transposing copy (PyTorch's mm_mat2_backward does the same). Each
 * element is the same sum of the same products either way.
 */
function productInLayoutOf(like: Tensor, x: Tensor, y: Tensor): Tensor {
  const columnMajor = like.ndim === 2 && like.strides[0] === 1 && like.strides[1] !== 1 && x.ndim === 2 && y.ndim === 2;
  return columnMajor ? transpose(batchedMatmul(transpose(y, 0, 1), transpose(x, 0, 1)), 0, 1) : batchedMatmul(x, y);
}

/** Calls the backend's kernel, folding batch dims into rows where that is free; a bias only with a shared b. */
function runKernel(a: Tensor, b: Tensor, out: Tensor, batch: readonly number[], bias: Tensor | null = null): void {
  const backend = backendOf(a);
  const [M, K] = a.shape.slice(-2);
  const N = b.shape[b.ndim - 1];
  const B = numel(batch);
  // b shared by every batch item (e.g. a Linear weight): one [B*M, K] x [K, N] product.
  const bShared = b.ndim === 2 || b.shape.slice(0, -2).every((d) => d === 1);
  if (bShared) {
    const rows = expand(a, [...batch, M, K]);
    const flat = viewStrides(rows.shape, rows.strides, [B * M, K]);
    if (flat !== null) {
      const a3 = new Tensor(a.storage, [1, B * M, K], [0, ...flat], a.offset);
      const b2 = reshape(b, [K, N]);
      const b3 = new Tensor(b2.storage, [1, K, N], [0, ...b2.strides], b2.offset);
      backend.matmul(a3, b3, new Tensor(out.storage, [1, B * M, N], [0, N, 1], 0), bias);
      return;
    }
  }
  if (bias !== null) throw new Error(`matmul: a bias needs one b for every batch item, got a ${formatShape(a.shape)} and b ${formatShape(b.shape)}`);
  const aItems = expand(a, [...batch, M, K]);
  const bItems = expand(b, [...batch, K, N]);
  // batch dims that do not merge into one (attention's [batch, heads] sliced out of the qkv
  // projection): multiplied where they lie by a backend that takes them, else copied
  const a3 = as3d(aItems, B);
  const b3 = as3d(bItems, B);
  if (backend.matmulBatchViews && (a3 === null || b3 === null)) {
    backend.matmul(aItems, bItems, out);
    return;
  }
  const merged = (t: Tensor, t3: Tensor | null, R: number, C: number) => t3 ?? reshape(t.contiguous(), [B, R, C]);
  backend.matmul(merged(aItems, a3, M, K), merged(bItems, b3, K, N), new Tensor(out.storage, [B, M, N], [M * N, N, 1], 0));
}

/** [..batch, R, C] as a [B, R, C] view when the batch dims merge into one; else null. */
function as3d(t: Tensor, B: number): Tensor | null {
  const [R, C] = t.shape.slice(-2);
  const strides = viewStrides(t.shape, t.strides, [B, R, C]);
  return strides === null ? null : new Tensor(t.storage, [B, R, C], strides, t.offset);
}
