// The functional autograd API: torch.autograd.grad and torch.autograd.backward.

import { onesLike } from '../creation.js';
import { formatShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { runBackward } from './engine.js';

export interface GradOptions {
  /** d(loss)/d(output) for each output ("vector" of the vector-Jacobian product); default ones for scalars. */
  gradOutputs?: Tensor | readonly (Tensor | null)[];
  /** Keep the graph for another backward (default: createGraph). */
  retainGraph?: boolean;
  /** Record the backward pass so the result can be differentiated again. */
  createGraph?: boolean;
  /** Return null for inputs that the outputs do not depend on instead of throwing. */
  allowUnused?: boolean;
}

function asList(t: Tensor | readonly Tensor[]): readonly Tensor[] {
  return Array.isArray(t) ? t : [t as Tensor];
}

function defaultGrads(outputs: readonly Tensor[], given: GradOptions['gradOutputs']): Tensor[] {
  const list: readonly (Tensor | null)[] = given === undefined ? [] : Array.isArray(given) ? given : [given as Tensor];
  return outputs.map((o, i) => {
    const g = list[i] ?? null;
    if (g !== null) {
      if (g.shape.length !== o.shape.length || g.shape.some((d, k) => d !== o.shape[k])) {
        throw new Error(`grad: gradOutputs[${i}] has shape ${formatShape(g.shape)} but output ${i} has shape ${formatShape(o.shape)}`);
      }
      return g;
    }
    if (o.numel !== 1) {
      throw new Error(`grad: output ${i} has shape ${formatShape(o.shape)}; grad can be implicitly created only for scalar outputs`);
    }
    return onesLike(o);
  });
}

/**
 * Gradients of `outputs` with respect to `inputs`, returned rather than accumulated
 * into `.grad` (torch.autograd.grad). With createGraph they are differentiable.
 */
export function grad(outputs: Tensor | readonly Tensor[], inputs: Tensor | readonly Tensor[], options: GradOptions = {}): (Tensor | null)[] {
  const outs = asList(outputs);
  return runBackward(outs, defaultGrads(outs, options.gradOutputs), { ...options, inputs: asList(inputs) });
}

/** Accumulates d(outputs)/d(leaf) into every leaf's `.grad` (torch.autograd.backward). */
export function backward(outputs: Tensor | readonly Tensor[], options: Omit<GradOptions, 'allowUnused'> = {}): void {
  const outs = asList(outputs);
  runBackward(outs, defaultGrads(outs, options.gradOutputs), options);
}
