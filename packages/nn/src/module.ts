// Module: the base class of every layer (PyTorch's nn.Module).
//
// A module owns named parameters (trainable tensors), buffers (state that is saved but not
// trained) and child modules, each registered under the name PyTorch uses. Dotted paths
// through the tree give state-dict keys such as `blocks.0.attn.qkv.weight`; a module lists
// its own tensors before its children's, in registration order, as PyTorch does.
//
// Parameters are looked up by name on every access (`this.parameter('weight')`), so that
// `to()`/`double()`/`float()` can swap in converted tensors; an optimizer built before
// such a conversion still holds the old tensors, so convert first.

import { type Device, type DType, type Tensor, formatShape, noGrad } from '@dinots/tensor';

export type StateDict = Record<string, Tensor>;

export interface LoadStateDictOptions {
  /** Refuse missing and unexpected keys (shape mismatches are always refused). Default true. */
  strict?: boolean;
}

export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

export abstract class Module {
  /** Training mode (dropout and drop path active); toggled by train()/eval(). */
  training = true;
  readonly #parameters = new Map<string, Tensor | null>();
  readonly #buffers = new Map<string, { tensor: Tensor | null; persistent: boolean }>();
  readonly #modules = new Map<string, Module>();

  /** The module's computation; its arguments and result depend on the layer. */
  abstract forward(...args: never[]): unknown;

  // ------------------------------------------------------------------ registration

  /**
   * Registers a parameter: a leaf tensor, set to require grad unless `requiresGrad` is false
   * (as nn.Parameter(data, requires_grad)); null registers the name with no tensor (a disabled bias).
   */
  registerParameter(name: string, value: Tensor | null, requiresGrad = true): void {
    this.#checkName('registerParameter', name);
    if (value !== null) {
      if (!value.isLeaf) throw new Error(`registerParameter: '${name}' (shape ${formatShape(value.shape)}) is the result of an op, not a leaf; register value.detach()`);
      value.requiresGrad_(requiresGrad);
    }
    this.#parameters.set(name, value);
  }

  /** Registers state that is not trained; `persistent` buffers are part of the state dict. */
  registerBuffer(name: string, value: Tensor | null, persistent = true): void {
    this.#checkName('registerBuffer', name);
    this.#buffers.set(name, { tensor: value, persistent });
  }

  /** Registers a child module; returns it so that a field can be set in the same line. */
  registerModule<M extends Module>(name: string, module: M): M {
    this.#checkName('registerModule', name);
    this.#modules.set(name, module);
    return module;
  }

  #checkName(op: string, name: string): void {
    if (name === '' || name.includes('.')) throw new Error(`${op}: invalid name '${name}' (names are non-empty and contain no '.')`);
    const taken = this.#parameters.has(name) || this.#buffers.has(name) || this.#modules.has(name);
    if (taken) throw new Error(`${op}: ${this.constructor.name} already has a member named '${name}'`);
  }

  /** This module's own parameter `name` (throws if there is none). */
  protected parameter(name: string): Tensor {
    const p = this.#parameters.get(name);
    if (p === undefined || p === null) throw new Error(`${this.constructor.name} has no parameter '${name}'`);
    return p;
  }

  /** This module's own parameter `name`, or null when it was registered as null. */
  protected optionalParameter(name: string): Tensor | null {
    return this.#parameters.get(name) ?? null;
  }

  /** This module's own buffer `name` (throws if there is none). */
  protected buffer(name: string): Tensor {
    const b = this.#buffers.get(name)?.tensor;
    if (b === undefined || b === null) throw new Error(`${this.constructor.name} has no buffer '${name}'`);
    return b;
  }

  /** This module's own buffer `name`, or null when it was registered as null. */
  protected optionalBuffer(name: string): Tensor | null {
    return this.#buffers.get(name)?.tensor ?? null;
  }

  // ------------------------------------------------------------------ traversal

  /** Direct children with their names. */
  *namedChildren(): Generator<[string, Module]> {
    yield* this.#modules;
  }

  *children(): Generator<Module> {
    for (const [, m] of this.#modules) yield m;
  }

  /**
   * This module and all descendants, pre-order, with dotted names ('' for this one). A module
   * reachable twice (shared) is listed once, under its first name, as in PyTorch.
   */
  *namedModules(prefix = ''): Generator<[string, Module]> {
    const seen = new Set<Module>();
    const walk = function* (m: Module, path: string): Generator<[string, Module]> {
      if (seen.has(m)) return;
      seen.add(m);
      yield [path, m];
      for (const [name, child] of m.#modules) yield* walk(child, path === '' ? name : `${path}.${name}`);
    };
    yield* walk(this, prefix);
  }

  *modules(): Generator<Module> {
    for (const [, m] of this.namedModules()) yield m;
  }

  /** Every parameter with its dotted name: each module's own first, then its children's; a shared tensor once. */
  *namedParameters(prefix = ''): Generator<[string, Tensor]> {
    const seen = new Set<Tensor>();
    for (const [path, m] of this.namedModules(prefix)) {
      for (const [name, p] of m.#parameters) {
        if (p === null || seen.has(p)) continue;
        seen.add(p);
        yield [path === '' ? name : `${path}.${name}`, p];
      }
    }
  }

  *parameters(): Generator<Tensor> {
    for (const [, p] of this.namedParameters()) yield p;
  }

  *namedBuffers(prefix = ''): Generator<[string, Tensor]> {
    for (const [path, m] of this.namedModules(prefix)) {
      for (const [name, b] of m.#buffers) if (b.tensor !== null) yield [path === '' ? name : `${path}.${name}`, b.tensor];
    }
  }

  *buffers(): Generator<Tensor> {
    for (const [, b] of this.namedBuffers()) yield b;
  }

  /** The number of parameter elements (only those that require grad when `trainableOnly`). */
  numParameters(trainableOnly = false): number {
    let n = 0;
    for (const p of this.parameters()) if (!trainableOnly || p.requiresGrad) n += p.numel;
    return n;
  }

  // ------------------------------------------------------------------ state dict

  /**
   * Parameters and persistent buffers by dotted name, sharing memory with the module
   * (detached, as PyTorch's state_dict()). Per module: parameters, then buffers, then children.
   */
  stateDict(): StateDict {
    const out: StateDict = {};
    // Unlike namedParameters, every path is listed, shared modules and tensors included (as PyTorch).
    const walk = (m: Module, path: string) => {
      const key = (name: string) => (path === '' ? name : `${path}.${name}`);
      for (const [name, p] of m.#parameters) if (p !== null) out[key(name)] = p.detach();
      for (const [name, b] of m.#buffers) if (b.persistent && b.tensor !== null) out[key(name)] = b.tensor.detach();
      for (const [name, child] of m.#modules) walk(child, key(name));
    };
    walk(this, '');
    return out;
  }

  /**
   * Copies `dict` into this module's parameters and persistent buffers (in place, so
   * optimizers keep working). Every problem is reported at once: missing and unexpected
   * keys (errors only when strict) and shape mismatches (always errors). Values are cast
   * to each parameter's dtype.
   */
  loadStateDict(dict: StateDict, options: LoadStateDictOptions = {}): LoadStateDictResult {
    const { strict = true } = options;
    const own = this.stateDict();
    const missingKeys = Object.keys(own).filter((k) => !Object.hasOwn(dict, k));
    const unexpectedKeys = Object.keys(dict).filter((k) => !Object.hasOwn(own, k));
    const mismatches = Object.entries(own)
      .filter(([key, target]) => Object.hasOwn(dict, key) && !sameShape(dict[key].shape, target.shape))
      .map(([key, target]) => `size mismatch for ${key}: copying a param with shape ${formatShape(dict[key].shape)}, the shape in the current model is ${formatShape(target.shape)}`);
    const problems = [
      ...(strict && missingKeys.length > 0 ? [`Missing key(s): ${missingKeys.map((k) => `${k} ${formatShape(own[k].shape)}`).join(', ')}`] : []),
      ...(strict && unexpectedKeys.length > 0 ? [`Unexpected key(s): ${unexpectedKeys.map((k) => `${k} ${formatShape(dict[k].shape)}`).join(', ')}`] : []),
      ...mismatches,
    ];
    if (problems.length > 0) throw new Error(`Error(s) in loading state dict for ${this.constructor.name}:\n  ${problems.join('\n  ')}`);
    noGrad(() => {
      for (const [key, target] of Object.entries(own)) if (Object.hasOwn(dict, key)) target.copy_(dict[key]);
    });
    return { missingKeys, unexpectedKeys };
  }

  // ------------------------------------------------------------------ modes and conversions

  /** Sets training mode on this module and every descendant. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** Evaluation mode (dropout and drop path become the identity). */
  eval(): this {
    return this.train(false);
  }

  /** Calls fn on every descendant (children first) and then on this module, as PyTorch. */
  apply(fn: (m: Module) => void): this {
    for (const m of this.#modules.values()) m.apply(fn);
    fn(this);
    return this;
  }

  /** Sets requiresGrad on every parameter (false freezes the module). */
  requiresGrad_(flag = true): this {
    for (const p of this.parameters()) p.requiresGrad_(flag);
    return this;
  }

  /** Drops every parameter's gradient (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /**
   * Moves/casts floating point parameters, their gradients, and floating point buffers.
   * Parameters become new leaf tensors with the same requiresGrad; integer and bool
   * buffers change device only (a dtype applies to floating point tensors, as in PyTorch).
   */
  to(target: Device | DType | { device?: Device; dtype?: DType }): this {
    const t = typeof target === 'string' ? (target === 'cpu' || target === 'gpu' ? { device: target } : { dtype: target }) : target;
    const convert = (x: Tensor): Tensor =>
      x.to({ device: t.device, dtype: x.dtype === 'float32' || x.dtype === 'float64' ? t.dtype : undefined });
    noGrad(() => {
      for (const m of this.modules()) {
        for (const [name, p] of m.#parameters) {
          if (p === null) continue;
          const q = convert(p);
          if (q === p) continue;
          const leaf = q.detach().requiresGrad_(p.requiresGrad);
          leaf.grad = p.grad === null ? null : convert(p.grad);
          m.#parameters.set(name, leaf);
        }
        for (const b of m.#buffers.values()) if (b.tensor !== null) b.tensor = convert(b.tensor);
      }
    });
    return this;
  }

  double(): this {
    return this.to('float64');
  }

  float(): this {
    return this.to('float32');
  }

  // ------------------------------------------------------------------ printing

  /** The text inside the parentheses of this module's line, e.g. `in_features=3, out_features=4, bias=True`. */
  extraRepr(): string {
    return '';
  }

  /** Whether consecutive identical children print as one `(0-11): 12 x Block(...)` entry (ModuleList does). */
  protected get collapsesRepeatedChildren(): boolean {
    return false;
  }

  /** A tree print in PyTorch's format. */
  toString(): string {
    const lines: string[] = [];
    const extra = this.extraRepr();
    if (extra !== '') lines.push(...extra.split('\n'));
    const children = [...this.#modules].map(([name, m]) => [name, m.toString()] as const);
    for (let i = 0; i < children.length; ) {
      let j = i + 1;
      while (this.collapsesRepeatedChildren && j < children.length && children[j][1] === children[i][1]) j++;
      const label = j - i > 1 ? `(${children[i][0]}-${children[j - 1][0]}): ${j - i} x ` : `(${children[i][0]}): `;
      lines.push(label + indent(children[i][1]));
      i = j;
    }
    const name = this.constructor.name;
    if (lines.length === 0) return `${name}()`;
    if (children.length === 0 && lines.length === 1) return `${name}(${lines[0]})`;
    return `${name}(\n  ${lines.join('\n  ')}\n)`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

function indent(text: string): string {
  return text.split('\n').join('\n  ');
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
