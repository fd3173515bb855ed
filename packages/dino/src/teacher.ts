// The momentum teacher and the optimisation details around it (Caron et al. 2021,
// section 3.1; the official main_dino.py `train_one_epoch`, utils.py `get_params_groups` and
// `cancel_gradients_last_layer`).
//   EMA (after each optimizer step):  theta_t <- m theta_t + (1 - m) theta_s
// over every parameter pair, including the frozen weight_g; m follows a per-iteration
// cosine from 0.996 to 1. The teacher starts as an exact copy of the student and never
// gets gradients.

import { type Tensor, formatShape, fusedEmaForeach_, fusedEma_, noGrad, recordFunction } from '@dinots/tensor';
import type { Module } from '@dinots/nn';

function pairedParameters(op: string, teacher: Module, student: Module): [string, Tensor, Tensor][] {
  const t = [...teacher.namedParameters()];
  const s = [...student.namedParameters()];
  if (t.length !== s.length) throw new Error(`${op}: the teacher has ${t.length} parameters, the student ${s.length}`);
  return t.map(([name, pt], i) => {
    const [sName, ps] = s[i];
    if (name !== sName || pt.shape.join() !== ps.shape.join()) {
      throw new Error(`${op}: parameter ${i} is ${name} ${formatShape(pt.shape)} in the teacher but ${sName} ${formatShape(ps.shape)} in the student`);
    }
    return [name, pt, ps];
  });
}

/** Makes `teacher` an exact copy of `student` that never requires gradients. */
export function initTeacher<M extends Module>(teacher: M, student: Module): M {
  pairedParameters('initTeacher', teacher, student);
  teacher.loadStateDict(student.stateDict());
  teacher.requiresGrad_(false);
  return teacher;
}

/** One EMA step of the teacher towards the student with momentum m. */
export function updateTeacher(teacher: Module, student: Module, momentum: number): void {
  if (!(momentum >= 0 && momentum <= 1)) throw new Error(`updateTeacher: momentum must be in [0, 1], got ${momentum}`);
  recordFunction('EMA', () => noGrad(() => {
    const pairs = pairedParameters('updateTeacher', teacher, student);
    // one backend call for every pair where the backend has the kernel, else one per pair
    // (PyTorch's foreach and single-tensor paths); the same bits every way
    if (fusedEmaForeach_(pairs.map(([, pt]) => pt), pairs.map(([, , ps]) => ps), momentum)) return;
    for (const [, pt, ps] of pairs) {
      if (!fusedEma_(pt, ps, momentum)) pt.mul_(momentum).add_(ps.detach(), 1 - momentum);
    }
  }));
}

/**
 * utils.get_params_groups: trainable parameters split into those with weight decay (group 0)
 * and those without (group 1: names ending in `.bias` and 1-D tensors such as LayerNorm
 * weights). cls_token, pos_embed and every weight matrix are decayed. Frozen parameters
 * (requiresGrad false) are left out.
 */
export function getParamsGroups(model: Module): [{ params: Tensor[] }, { params: Tensor[]; weightDecay: 0 }] {
  const regularized: Tensor[] = [];
  const notRegularized: Tensor[] = [];
  for (const [name, p] of model.namedParameters()) {
    if (!p.requiresGrad) continue;
    if (name.endsWith('.bias') || p.ndim === 1) notRegularized.push(p);
    else regularized.push(p);
  }
  return [{ params: regularized }, { params: notRegularized, weightDecay: 0 }];
}

/** utils.cancel_gradients_last_layer: drops the last layer's gradients while epoch < freezeLastLayer. */
export function cancelGradientsLastLayer(epoch: number, model: Module, freezeLastLayer: number): void {
  if (epoch >= freezeLastLayer) return;
  for (const [name, p] of model.namedParameters()) if (name.includes('last_layer')) p.grad = null;
}
