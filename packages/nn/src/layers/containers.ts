// Containers: ModuleList holds modules under the names 0, 1, 2, ... (state-dict keys such as
// `blocks.3.attn.qkv.weight`); Sequential also chains them, forward(x) = m_n(...m_1(x)).

import type { Tensor } from '@dinots/tensor';
import { Module } from '../module.js';

/** A module that maps one tensor to one tensor (what Sequential can chain). */
export type TensorModule = Module & { forward(x: Tensor): Tensor };

export class ModuleList<M extends Module = Module> extends Module implements Iterable<M> {
  readonly #items: M[] = [];

  constructor(modules: Iterable<M> = []) {
    super();
    for (const m of modules) this.append(m);
  }

  append(module: M): this {
    this.#items.push(this.registerModule(String(this.#items.length), module));
    return this;
  }

  get length(): number {
    return this.#items.length;
  }

  /** The i-th module (negative i counts from the end). */
  at(index: number): M {
    const m = this.#items.at(index);
    if (m === undefined) throw new Error(`${this.constructor.name}: index ${index} is out of range for ${this.#items.length} modules`);
    return m;
  }

  [Symbol.iterator](): Iterator<M> {
    return this.#items[Symbol.iterator]();
  }

  /** Like PyTorch's ModuleList, a list has no forward of its own: iterate over its modules. */
  forward(..._args: never[]): unknown {
    throw new Error(`${this.constructor.name} has no forward(); iterate over its modules`);
  }

  protected override get collapsesRepeatedChildren(): boolean {
    return true;
  }
}

export class Sequential extends ModuleList<TensorModule> {
  constructor(...modules: TensorModule[]) {
    super(modules);
  }

  override forward(x: Tensor): Tensor {
    for (const m of this) x = m.forward(x);
    return x;
  }

  protected override get collapsesRepeatedChildren(): boolean {
    return false;
  }
}
