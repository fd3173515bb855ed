// A node of the autograd graph: how one op sends its output's gradient back.
//
// Every op output that requires grad points to the Node that made it (`gradFn`).
// The node keeps one edge per input (the input's own Node, or null when that input
// needs no gradient) and one gradient formula per input, written with differentiable
// tensor ops so that backward can itself be differentiated (createGraph).
// Leaves that require grad get an AccumulateGrad node, which adds into `.grad`.

import type { Tensor } from '../tensor.js';
import { formatShape } from '../shape.js';

/** d(loss)/d(input) from d(loss)/d(output): one entry of PyTorch's derivatives.yaml. */
export type GradFormula = (grad: Tensor) => Tensor;

interface SavedTensor {
  readonly tensor: Tensor;
  readonly version: number;
}

export class Node {
  /** Set when the graph was freed by a backward pass without retainGraph. */
  released = false;
  /** A non-leaf tensor whose `.grad` should be kept (retainGrad). */
  retained: Tensor | null = null;
  /**
   * For a view that picks a subset of its input's elements (select, slice, narrow, split,
   * unbind): the same view of a tensor of the input's shape. The input's gradient is the
   * output's gradient written into zeros through it, so the engine, when it already holds
   * a gradient of its own making for the input, adds into this view of it instead.
   */
  scatterView: ((input: Tensor) => Tensor) | null = null;
  private saved: SavedTensor[];

  constructor(
    readonly name: string,
    readonly next: readonly (Node | null)[],
    private formulas: readonly (GradFormula | null)[],
    saved: readonly Tensor[],
    /** Shapes of the inputs, used to check every formula's result. */
    readonly inputShapes: readonly (readonly number[])[],
  ) {
    this.saved = saved.map((tensor) => ({ tensor, version: tensor.storage.version }));
  }

  /** Computes the gradient for input `i` (the engine only asks for inputs that need one). */
  gradientFor(i: number, grad: Tensor): Tensor {
    const formula = this.formulas[i];
    if (formula === null) throw new Error(`${this.name}: input ${i} has no gradient formula`);
    const g = formula(grad);
    const expected = this.inputShapes[i];
    if (g.shape.length !== expected.length || g.shape.some((d, k) => d !== expected[k])) {
      throw new Error(`${this.name}: gradient for input ${i} has shape ${formatShape(g.shape)}, expected ${formatShape(expected)}`);
    }
    return g;
  }

  /** Throws if the graph was freed or a saved tensor was modified in place since it was saved. */
  checkUsable(): void {
    if (this.released) {
      throw new Error(
        `${this.name}: trying to backward through the graph a second time (or directly access saved tensors after ` +
          `they have already been freed). Pass {retainGraph: true} to the first backward() if you need to call it twice.`,
      );
    }
    for (const [k, s] of this.saved.entries()) {
      if (s.tensor.storage.version !== s.version) {
        throw new Error(
          `${this.name}: one of the tensors needed for gradient computation has been modified by an in-place operation: ` +
            `saved tensor ${k} of shape ${formatShape(s.tensor.shape)} is at version ${s.tensor.storage.version}; ` +
            `expected version ${s.version}. Use an out-of-place op, or clone() the tensor before modifying it.`,
        );
      }
    }
  }

  /** Frees the formulas and saved tensors (what a backward without retainGraph does). */
  release(): void {
    this.released = true;
    this.formulas = [];
    this.saved = [];
  }
}

/** The node of a leaf that requires grad: the gradient arriving here is added into `variable.grad`. */
export class AccumulateGrad extends Node {
  constructor(readonly variable: Tensor) {
    super('AccumulateGrad', [], [], [], []);
  }

  override checkUsable(): void {}
  override release(): void {}
}
