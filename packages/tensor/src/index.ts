// @dinots/tensor: strided tensors, broadcasting, reverse-mode autodiff and backends.

import { registerBackend } from './backends/backend.js';
import { CpuBackend } from './backends/cpu/cpu-backend.js';

registerBackend('cpu', () => new CpuBackend());

export { Tensor, type TensorLike, type NestedArray } from './tensor.js';
export { type DType, type TypedArray, promoteTypes, isFloatingPoint } from './dtype.js';
export { formatShape } from './shape.js';
export { Storage, CpuStorage, type Device } from './storage.js';
export { Generator, type GeneratorState, defaultGenerator, manualSeed } from './random.js';
export {
  tensor,
  full,
  zeros,
  ones,
  fullLike,
  zerosLike,
  onesLike,
  arange,
  linspace,
  eye,
  rand,
  randn,
  randint,
  randperm,
  truncNormal,
  type CreationOptions,
  type RandomOptions,
  type TensorOptions,
  type TruncNormalOptions,
} from './creation.js';

export { neg, reciprocal, exp, log, log1p, sqrt, rsqrt, abs, sign, square, sin, cos, tanh, sigmoid, relu, erf, gelu, clamp, type GeluOptions } from './ops/unary.js';
export { add, sub, mul, div, pow, maximum, minimum } from './ops/binary.js';
export { eq, ne, lt, le, gt, ge, logicalAnd, logicalOr, logicalNot, where, allclose } from './ops/compare.js';
export { sum, mean, variance, variance as var, std, norm, amax, amin, max, min, argmax, argmin, logsumexp, sumTo, type ValuesIndices } from './ops/reduce.js';
export { view, reshape, transpose, permute, narrow, slice, select, expand, broadcastTo, squeeze, unsqueeze, flatten, unflatten } from './ops/movement.js';
export { cat, stack, split, chunk, unbind } from './ops/join.js';
export { gather, scatterAdd, indexSelect, indexAdd, maskedFill, flip } from './ops/indexing.js';
export { linear } from './ops/linear.js';
export { matmul } from './ops/matmul.js';
export { selfAttention } from './ops/self-attention.js';
export { softmax, logSoftmax } from './ops/softmax.js';
export { layerNorm } from './ops/layer-norm.js';
export { pad, type PadOptions } from './ops/pad.js';
export { interpolate, type InterpolateOptions } from './ops/interpolate.js';
export { clone, contiguous } from './ops/copy.js';
export { fusedAdamW_, fusedAdamWForeach_ } from './ops/fused-adamw.js';
export { fusedEma_, fusedEmaForeach_ } from './ops/fused-ema.js';
export { foreachNorm } from './ops/foreach-norm.js';

export { noGrad, enableGrad, isGradEnabled, setGradEnabled } from './autograd/grad-mode.js';
export { grad, backward, type GradOptions } from './autograd/grad.js';
export { gradcheck, gradgradcheck, type GradcheckOptions } from './autograd/gradcheck.js';
export { Node, type GradFormula } from './autograd/node.js';
export { record } from './autograd/record.js';

export { type Backend, type UnaryOp, type BinaryOp, type ReduceOp, type AdamWStepHyper, type AdamWStepItem, registerBackend, getBackend } from './backends/backend.js';
export { CpuBackend, type CpuBackendOptions } from './backends/cpu/cpu-backend.js';
export { relaxedSimdAvailable } from './backends/cpu/matmul/gemm-wasm.js';
export { getNumThreads, setNumThreads } from './backends/cpu/threads/pool.js';
export { cpuEmptyCache, cpuMemoryStats } from './backends/cpu/buffer-pool.js';

export { configureGpu, backendInfo, gpuReady } from './backends/gpu/register.js';
export { GpuBackend } from './backends/gpu/gpu-backend.js';
export { GpuStorage } from './backends/gpu/gpu-storage.js';
export { GpuContext, type GpuOptions } from './backends/gpu/context.js';
export { type GpuBackendInfo, type GpuMode, type ModeProbe, type WebGpuAdapterInfo, GPU_MODES } from './backends/gpu/mode.js';
export { memory, scope, keep, type MemoryInfo } from './memory.js';
export { profile, recordFunction, classifyKernel, FORWARD_PHASE, type ProfileReport, type ProfileRow, type ProfileRange } from './profiler.js';
export {
  describe,
  checkNumber,
  checkInteger,
  checkBoolean,
  checkString,
  checkChoice,
  checkDType,
  checkDevice,
  checkShape,
  checkOptions,
  checkTensor,
  checkGenerator,
  type NumberRange,
} from './validate.js';
