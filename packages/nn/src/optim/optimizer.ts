// Optimizer: the parameter groups and per-parameter state shared by SGD and AdamW
// (torch.optim.Optimizer). Each group carries its own hyperparameters (lr, weightDecay, ...),
// which a training loop may change between steps (DINO sets lr and weight decay from
// schedules every iteration). step() updates, outside autograd, every parameter of every
// group whose grad is not null; parameters without a gradient are skipped entirely.
// Each parameter's update runs in a memory scope(): its temporaries go back to the buffer
// pool at once (even in a training loop without scopes), and the state it writes is kept.
// An optimizer with a fused kernel for a whole group (AdamW's) updates the group in one call
// instead (updateGroup).

import { type Tensor, formatShape, keep, noGrad, recordFunction, scope } from '@dinots/tensor';

/** Hyperparameters every optimizer has. */
export interface BaseHyper {
  lr: number;
  weightDecay: number;
}

export type ParamGroup<H> = H & { params: Tensor[] };

/** A group as the user passes it: its parameters and any hyperparameters that differ from the defaults. */
export type ParamGroupInput<H> = Partial<H> & { params: Iterable<Tensor> };

export type OptimizerStateValue = Tensor | number;

/** A parameter with a gradient, and its state, as one step updates them. */
export interface ParamUpdate<S> {
  readonly p: Tensor;
  readonly grad: Tensor;
  readonly state: S;
}

/** Serialisable optimizer state; parameters are referred to by their index across all groups, in order. */
export interface OptimizerStateDict<H> {
  state: Record<number, Record<string, OptimizerStateValue>>;
  paramGroups: (H & { params: number[] })[];
}

export abstract class Optimizer<H extends BaseHyper, S extends object> {
  readonly paramGroups: ParamGroup<H>[] = [];
  protected readonly state = new Map<Tensor, S>();

  constructor(params: Iterable<Tensor> | Iterable<ParamGroupInput<H>>, readonly defaults: H) {
    this.checkHyper(defaults);
    const items = [...params] as (Tensor | ParamGroupInput<H>)[];
    if (items.length === 0) throw new Error(`${this.constructor.name}: got an empty parameter list`);
    const groups = items.every(isParamGroupInput<H>) ? items : [Object.assign({} as Partial<H>, { params: items as Tensor[] })];
    for (const g of groups) this.addParamGroup(g);
  }

  /** Adds a group; hyperparameters it does not set come from the defaults. */
  addParamGroup(group: ParamGroupInput<H>): void {
    const { params: given, ...hyper } = group;
    this.checkHyper(hyper as unknown as Partial<H>);
    const params = [...given];
    const seen = new Set(this.paramGroups.flatMap((g) => g.params));
    for (const p of params) {
      if (seen.has(p)) throw new Error(`${this.constructor.name}: some parameters appear in more than one parameter group`);
      if (!p.isLeaf) throw new Error(`${this.constructor.name}: can't optimize a non-leaf tensor (shape ${formatShape(p.shape)})`);
      seen.add(p);
    }
    this.paramGroups.push({ ...this.defaults, ...group, params });
  }

  /** Drops every gradient (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const g of this.paramGroups) for (const p of g.params) p.grad = null;
  }

  /** One update of every parameter that has a gradient. */
  step(): void {
    recordFunction('optimizer', () => noGrad(() => {
      for (const group of this.paramGroups) {
        const updates: ParamUpdate<S>[] = [];
        for (const p of group.params) {
          if (p.grad === null) continue;
          let state = this.state.get(p);
          if (state === undefined) {
            // The state outlives the step: keep() saves GPU tensors from an enclosing scope().
            state = keep(this.initState(p));
            this.state.set(p, state);
          }
          updates.push({ p, grad: p.grad, state });
        }
        if (updates.length > 0 && !this.updateGroup(group, updates)) {
          for (const { p, grad, state } of updates) {
            // the update's temporaries are freed as soon as it is done; its state is kept
            scope(() => {
              this.update(p, grad, group, state);
              keep(state);
            });
          }
        }
      }
    }));
  }

  /**
   * Updates every parameter of a group at once, where an optimizer has a fused kernel for the
   * whole list (PyTorch's foreach and fused implementations); returns false, having changed
   * nothing, to have step() call update() parameter by parameter instead.
   */
  protected updateGroup(_group: ParamGroup<H>, _updates: readonly ParamUpdate<S>[]): boolean {
    return false;
  }

  /** Throws unless every hyperparameter in `hyper` is known and valid (PyTorch's constructor checks). */
  protected abstract checkHyper(hyper: Partial<H>): void;

  /** The state of a parameter before its first update. */
  protected abstract initState(p: Tensor): S;

  /** Updates p in place (called inside noGrad). */
  protected abstract update(p: Tensor, grad: Tensor, group: ParamGroup<H>, state: S): void;

  /** The state and hyperparameters, with parameters replaced by their index (tensors are shared, not copied). */
  stateDict(): OptimizerStateDict<H> {
    const index = new Map<Tensor, number>();
    const paramGroups = this.paramGroups.map(({ params, ...hyper }) => ({
      ...(hyper as unknown as H),
      params: params.map((p) => {
        index.set(p, index.size);
        return index.size - 1;
      }),
    }));
    const state: OptimizerStateDict<H>['state'] = {};
    for (const [p, s] of this.state) state[index.get(p)!] = { ...s } as Record<string, OptimizerStateValue>;
    return { state, paramGroups };
  }

  /** Restores a stateDict() of an optimizer over parameters of the same shapes, group by group (tensors are copied). */
  loadStateDict(dict: OptimizerStateDict<H>): void {
    const name = this.constructor.name;
    if (dict.paramGroups.length !== this.paramGroups.length) {
      throw new Error(`${name}.loadStateDict: the state dict has ${dict.paramGroups.length} parameter groups, this optimizer has ${this.paramGroups.length}`);
    }
    dict.paramGroups.forEach((g, i) => {
      if (g.params.length !== this.paramGroups[i].params.length) {
        throw new Error(`${name}.loadStateDict: group ${i} has ${g.params.length} parameters in the state dict but ${this.paramGroups[i].params.length} here`);
      }
    });
    const byIndex = new Map<number, Tensor>();
    dict.paramGroups.forEach((g, i) => g.params.forEach((index, j) => byIndex.set(index, this.paramGroups[i].params[j])));
    const restored = new Map<Tensor, S>();
    for (const [key, s] of Object.entries(dict.state)) {
      const p = byIndex.get(Number(key));
      if (p === undefined) throw new Error(`${name}.loadStateDict: state for parameter ${key}, which no group lists`);
      const copy: Record<string, OptimizerStateValue> = {};
      for (const [k, v] of Object.entries(s)) {
        if (typeof v !== 'number' && (v.ndim !== p.ndim || v.shape.some((d, i) => d !== p.shape[i]))) {
          throw new Error(`${name}.loadStateDict: state '${k}' of parameter ${key} has shape ${formatShape(v.shape)}, the parameter has ${formatShape(p.shape)}`);
        }
        copy[k] = typeof v === 'number' ? v : v.to({ dtype: p.dtype, device: p.device }).clone();
      }
      restored.set(p, copy as unknown as S);
    }
    this.state.clear();
    for (const [p, s] of restored) this.state.set(p, s);
    dict.paramGroups.forEach((g, i) => Object.assign(this.paramGroups[i], { ...g, params: this.paramGroups[i].params }));
  }
}

function isParamGroupInput<H>(x: unknown): x is ParamGroupInput<H> {
  return typeof x === 'object' && x !== null && 'params' in x;
}
