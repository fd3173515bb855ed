// Rebasing autograd history after an in-place op (PyTorch's rebase_history and CopySlices).
//
// An in-place op on `self` computes its out-of-place result r = f(self_old, ...) with the
// usual gradient formulas, writes r into self's memory, and then moves the history:
//   - self owns its layout (not a view): self's gradFn becomes r's.
//   - self is a view of `base`: base_new = base_old with the view's region replaced by r.
//     base gets a CopySlices node with two inputs:
//       d base_new / d base_old = g with the region zeroed    (the part that was kept)
//       d base_new / d r        = view(g)                     (the part that was written)
//     and every view of base (self included) rebuilds its gradFn by replaying its view ops
//     on base's new history (Tensor.history).
// See PyTorch's "In-place correctness checks" and "Views" in
// https://pytorch.org/docs/stable/notes/autograd.html and torch/csrc/autograd/VariableTypeUtils.h.

import { Tensor } from '../tensor.js';
import { getBackend } from '../backends/backend.js';
import { zeros } from '../creation.js';
import { contiguous } from '../ops/copy.js';
import { where } from '../ops/compare.js';
import { noGrad } from './grad-mode.js';
import { record } from './record.js';

/** A tensor with t's values carrying t's current history, but no view relation (an in-place op's "self before"). */
export function historyAlias(t: Tensor): Tensor {
  const a = t.detach();
  a.setGradFn(t.gradFn);
  return a;
}

/** Makes `result` (already written into self's memory) the history of self, as described above. */
export function rebaseHistory(self: Tensor, result: Tensor): void {
  const view = self.viewOf;
  if (view === null) {
    self.setGradFn(result.gradFn);
    return;
  }
  const base = view.base;
  const baseOld = historyAlias(base);
  // which elements of base the view covers: a bool mask built on demand in backward
  const region = (): Tensor => {
    const mask = inBaseLayout(zeros(base.shape, { dtype: 'bool', device: base.device }), base);
    noGrad(() => view.replay(mask).fill_(1));
    return mask;
  };
  record('CopySlices', base, [baseOld, result], [], [(g) => where(region(), 0, g), (g) => view.replay(inBaseLayout(g, base))]);
  self.invalidateGradFn();
}

/**
 * t (shaped like base) laid out in memory as base is, so that base's view ops (view()
 * included, which depends on the strides) replay on it. Differentiable.
 */
function inBaseLayout(t: Tensor, base: Tensor): Tensor {
  if (base.isContiguous()) return contiguous(t);
  const backend = getBackend(t.device);
  const out = new Tensor(backend.allocate(t.dtype, base.storage.length, false), base.shape, base.strides, base.offset);
  backend.unary('copy', t, out);
  return record('CloneBackward', out, [t], [], [(g) => g]);
}
