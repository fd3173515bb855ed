// The backward pass: reverse-mode differentiation over the recorded graph.
//
// 1. Walk the graph from the roots (iteratively: a 10,000-op chain must not overflow
//    the stack) and count, for every node, how many nodes send gradients into it.
// 2. Visit nodes in topological order (Kahn's algorithm): a node runs once every
//    node that feeds it has run, so its incoming gradient is complete. Gradients that
//    reach a node along several paths are summed; a select's or slice's gradient is
//    added into that view of a sum this pass made, in place (sendGradient below).
// 3. A node's formulas turn its gradient into gradients for its inputs. Leaves add
//    theirs into `.grad` (backward) or hand them back (grad()).
// Formulas run with grad mode = createGraph, so with createGraph the gradients are
// themselves differentiable. Without retainGraph each node is freed after it runs.
// Without createGraph the pass runs in a memory scope(): every intermediate gradient is
// freed the moment backward returns (back to the CPU buffer pool, or the GPU texture
// freed), and only the gradients it hands out (`.grad`, grad()'s results) survive, so
// a training loop needs no scope() of its own to recycle the backward pass's memory.

import type { Tensor } from '../tensor.js';
import { formatShape } from '../shape.js';
import { scope } from '../memory.js';
import { recordFunction } from '../profiler.js';
import { setGradEnabled } from './grad-mode.js';
import { AccumulateGrad, type Node } from './node.js';

export interface BackwardOptions {
  retainGraph?: boolean;
  createGraph?: boolean;
}

interface RunOptions extends BackwardOptions {
  /** When given, gradients w.r.t. these are returned and no `.grad` is touched. */
  inputs?: readonly Tensor[];
  allowUnused?: boolean;
}

/** The backward pass from `roots`, as one 'backward' range for profile(). */
export function runBackward(roots: readonly Tensor[], rootGrads: readonly Tensor[], options: RunOptions): (Tensor | null)[] {
  return recordFunction('backward', () => backwardPass(roots, rootGrads, options));
}

function backwardPass(roots: readonly Tensor[], rootGrads: readonly Tensor[], options: RunOptions): (Tensor | null)[] {
  const createGraph = options.createGraph ?? false;
  const retainGraph = options.retainGraph ?? createGraph;

  const rootNodes = roots.map((t, i) => {
    const edge = t.gradEdge();
    if (edge === null) {
      throw new Error(`backward: output ${i} (shape ${formatShape(t.shape)}) does not require grad and has no gradFn`);
    }
    return edge;
  });

  // 1. Dependency counts over every node reachable from the roots.
  const dependents = new Map<Node, number>();
  const stack: Node[] = [];
  for (const n of rootNodes) {
    if (!dependents.has(n)) {
      dependents.set(n, 0);
      stack.push(n);
    }
  }
  while (stack.length > 0) {
    const node = stack.pop()!;
    for (const child of node.next) {
      if (child === null) continue;
      const seen = dependents.get(child);
      dependents.set(child, (seen ?? 0) + 1);
      if (seen === undefined) stack.push(child);
    }
  }

  // With explicit inputs, only nodes on a path to one of them need to run.
  const targets = options.inputs?.map((t, i) => {
    const edge = t.gradEdge();
    if (edge === null) throw new Error(`grad: input ${i} (shape ${formatShape(t.shape)}) does not require grad`);
    return edge;
  });
  const order = topologicalOrder(rootNodes, dependents);
  const needed = targets ? nodesLeadingTo(order, new Set(targets)) : null;

  // 2-3. Run the nodes in order, accumulating gradients.
  const grads = new Map<Node, Tensor>();
  /**
   * Gradients in `grads` that this pass made itself (sums, and views' gradients scattered
   * into zeros) and no one else holds: without createGraph they may be added into in place.
   */
  const own = new Set<Tensor>();
  const accumulate = (node: Node, g: Tensor, made: boolean) => {
    const prev = grads.get(node);
    const sum = prev === undefined ? g : prev.add(g);
    grads.set(node, sum);
    if (!createGraph && (made || prev !== undefined)) own.add(sum);
  };
  /**
   * Input i's gradient from `node`'s gradient g. A subset-picking view (select, slice:
   * Node.scatterView) whose input already has a gradient of this pass's own adds g into
   * that view of it, in place, instead of scattering g into a zero tensor of the input's
   * shape and adding all of it (attention's q, k and v, selected from one qkv tensor: one
   * buffer instead of three and two full-size sums). The elements outside the view are
   * left as they are, where adding the scattered zeros would have turned a -0 into +0.
   */
  const sendGradient = (node: Node, i: number, child: Node, g: Tensor) => {
    const prev = grads.get(child);
    if (node.scatterView !== null && i === 0 && prev !== undefined && own.has(prev)) {
      node.scatterView(prev).add_(g);
      return;
    }
    accumulate(child, node.gradientFor(i, g), !createGraph && node.scatterView !== null);
  };
  rootNodes.forEach((n, i) => accumulate(n, rootGrads[i], false));
  const captured = new Map<Node, Tensor>();
  /** Every .grad written: with `captured`, what outlives the pass. */
  const written: Tensor[] = [];

  const pass = () => {
    for (const node of order) {
      const g = grads.get(node);
      grads.delete(node);
      if (g !== undefined) own.delete(g); // from here on formulas may hand g (or views of it) on
      if (g === undefined) continue;
      if (targets?.includes(node)) captured.set(node, g);
      if (node instanceof AccumulateGrad) {
        if (!targets) written.push(accumulateIntoLeaf(node.variable, g, createGraph));
        continue;
      }
      if (needed && !needed.has(node)) continue;
      node.checkUsable();
      if (node.retained && !targets) written.push(accumulateIntoLeaf(node.retained, g, createGraph));
      node.next.forEach((child, i) => {
        if (child === null || (needed && !needed.has(child))) return;
        sendGradient(node, i, child, g);
      });
      if (!retainGraph) node.release();
    }
    return [written, [...captured.values()]];
  };
  // with createGraph the gradients' own graph holds intermediate tensors: nothing may be freed
  setGradEnabled(createGraph, () => (createGraph ? pass() : scope(pass)));

  if (!targets) return [];
  return targets.map((node, i) => {
    const g = captured.get(node) ?? null;
    if (g === null && !options.allowUnused) {
      throw new Error(`grad: input ${i} was not used to compute the outputs; pass {allowUnused: true} to get null for it`);
    }
    return g;
  });
}

/** Adds g into t.grad; returns the new t.grad. */
function accumulateIntoLeaf(t: Tensor, g: Tensor, createGraph: boolean): Tensor {
  // A fresh copy, so that later in-place updates of .grad (clipping, zeroing) cannot
  // reach a tensor that another .grad or the caller still holds.
  const own = createGraph ? g : g.detach().clone();
  t.grad = t.grad === null ? own : createGraph ? t.grad.add(own) : t.grad.detach().add(own);
  return t.grad;
}

/** Kahn's algorithm: nodes in an order where each runs after all nodes that feed it. */
function topologicalOrder(roots: readonly Node[], dependents: Map<Node, number>): Node[] {
  const remaining = new Map(dependents);
  const ready = [...new Set(roots)].filter((n) => remaining.get(n) === 0);
  const order: Node[] = [];
  while (ready.length > 0) {
    const node = ready.pop()!;
    order.push(node);
    for (const child of node.next) {
      if (child === null) continue;
      const left = remaining.get(child)! - 1;
      remaining.set(child, left);
      if (left === 0) ready.push(child);
    }
  }
  return order;
}

/** The nodes from which some target can be reached (targets included). */
function nodesLeadingTo(order: readonly Node[], targets: Set<Node>): Set<Node> {
  const needed = new Set<Node>();
  for (let i = order.length - 1; i >= 0; i--) {
    const node = order[i];
    if (targets.has(node) || node.next.some((c) => c !== null && needed.has(c))) needed.add(node);
  }
  return needed;
}
