// Recording an op into the autograd graph.
//
// An op computes its output with a backend kernel, then calls `record` with its inputs
// and one gradient formula per input. When grad mode is on and some input requires grad,
// the output gets a Node; formulas for inputs that need no gradient are dropped, so they
// never run. `saved` lists the tensors the formulas read, whose versions are checked
// before backward uses them.

import type { Tensor } from '../tensor.js';
import { isGradEnabled } from './grad-mode.js';
import { type GradFormula, Node } from './node.js';

export function record(
  name: string,
  output: Tensor,
  inputs: readonly Tensor[],
  saved: readonly Tensor[],
  formulas: readonly GradFormula[],
  /** For a subset-picking view of inputs[0] (see Node.scatterView). */
  scatterView: ((input: Tensor) => Tensor) | null = null,
): Tensor {
  if (!isGradEnabled()) return output;
  const next = inputs.map((t) => t.gradEdge());
  if (next.every((e) => e === null)) return output;
  const used = formulas.map((f, i) => (next[i] === null ? null : f));
  const node = new Node(name, next, used, saved, inputs.map((t) => t.shape));
  node.scatterView = scatterView;
  output.setGradFn(node);
  return output;
}
