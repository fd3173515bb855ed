// Tensor memory: which storages are alive, and scopes that free them.
//
// GPU textures are not garbage collected: a GPU tensor frees its texture when it is
// disposed (t.dispose(), or `using t = ...`), when a scope it was created in ends, or,
// as a safety net, some time after the garbage collector has dropped it. CPU tensors are
// ordinary garbage-collected memory, but dispose() and scopes free them too: their
// buffers go back to the CPU buffer pool at once, so a loop that runs each step in a
// scope reuses its memory without waiting for the garbage collector (fresh memory costs
// page faults). A disposed tensor, on either device, throws when it is used.
// Without any scope() of the user's, backward() and the nn optimizers still run in their
// own scopes, so a plain training loop recycles the memory of every gradient temporary;
// only forward activations wait for the garbage collector.
// memory() counts both: GPU storages, and CPU storages with their bytes (a CPU storage
// leaves the count when it is disposed, or when the garbage collector has dropped it and
// its finalizer has run, which happens between event-loop tasks).
//
// scope(fn) disposes every storage allocated while fn runs, except those behind
// the tensors fn returns (which move to the enclosing scope) or passes to keep() (which no
// scope frees). Unlike tfjs's tidy, fn may be async: in
// Node the scope follows fn's own async context (AsyncLocalStorage), so awaiting inside
// it, or running two scopes concurrently, attributes each allocation to the right scope.
// Browsers lack AsyncLocalStorage. Their equivalent is the TC39 AsyncContext proposal
// (https://github.com/tc39/proposal-async-context), used where a browser ships
// AsyncContext.Variable; until then a scope there is the innermost one still open,
// which is right for sequential code (each `await scope(...)` in turn, as in a training
// loop) and ambiguous for scopes that run concurrently and interleave.

import type { Storage } from './storage.js';
import { Tensor } from './tensor.js';

class Scope {
  readonly storages = new Set<Storage>();
  constructor(readonly parent: Scope | null) {}
}

interface ScopeTracker {
  current(): Scope | null;
  run<T>(scope: Scope, fn: () => T): T;
}

/** The part of AsyncLocalStorage and of AsyncContext.Variable that scopes use. */
interface AsyncVariable<T> {
  run<R>(value: T, fn: () => R): R;
}

function makeTracker(): ScopeTracker {
  const AsyncContext = (globalThis as { AsyncContext?: { Variable: new () => AsyncVariable<Scope> & { get(): Scope | undefined } } }).AsyncContext;
  if (AsyncContext !== undefined) {
    const variable = new AsyncContext.Variable();
    return { current: () => variable.get() ?? null, run: (scope, fn) => variable.run(scope, fn) };
  }
  const getBuiltin = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule;
  const hooks = getBuiltin?.('node:async_hooks') as typeof import('node:async_hooks') | undefined;
  if (hooks !== undefined) {
    const als = new hooks.AsyncLocalStorage<Scope>();
    return { current: () => als.getStore() ?? null, run: (scope, fn) => als.run(scope, fn) };
  }
  const stack: Scope[] = [];
  return {
    current: () => stack.at(-1) ?? null,
    run: (scope, fn) => {
      stack.push(scope);
      const pop = () => stack.splice(stack.lastIndexOf(scope), 1);
      try {
        const result = fn();
        if (result instanceof Promise) {
          result.then(pop, pop);
          return result;
        }
        pop();
        return result;
      } catch (e) {
        pop();
        throw e;
      }
    },
  };
}

const tracker = makeTracker();
// Counts only: holding the storages themselves would keep them from being collected.
const counts = { storages: 0, elements: 0, allocated: 0, disposed: 0, collected: 0 };

/** Called by a device storage when it is created: counts it and adds it to the open scope. */
export function trackAllocation(storage: Storage): void {
  counts.storages++;
  counts.elements += storage.length;
  counts.allocated++;
  trackScoped(storage);
}

/** Called by trackAllocation and trackCpuAllocation: adds the storage to the open scope. */
export function trackScoped(storage: Storage): void {
  tracker.current()?.storages.add(storage);
}

const cpuCounts = { storages: 0, bytes: 0 };
const cpuFinalizer = new FinalizationRegistry<number>((bytes) => {
  cpuCounts.storages--;
  cpuCounts.bytes -= bytes;
});

/**
 * Called by a CPU storage when it is created, with `token`, an empty object that only the
 * storage references: counts the storage's bytes until trackCpuRelease or the token's
 * collection, and adds it to the open scope. The token, not the storage, is registered:
 * V8's minor collections keep registered objects alive, and a registered storage would
 * keep its array out of their reach (doubling a plain training loop's peak memory).
 */
export function trackCpuAllocation(storage: Storage, token: object, bytes: number): void {
  cpuCounts.storages++;
  cpuCounts.bytes += bytes;
  cpuFinalizer.register(token, bytes, token);
  trackScoped(storage);
}

/** Called once by a CPU storage's dispose(). */
export function trackCpuRelease(token: object, bytes: number): void {
  if (!cpuFinalizer.unregister(token)) return;
  cpuCounts.storages--;
  cpuCounts.bytes -= bytes;
}

/** Called exactly once per tracked storage, when its device memory is freed by dispose() or by the garbage collector. */
export function trackRelease(length: number, how: 'disposed' | 'collected'): void {
  counts.storages--;
  counts.elements -= length;
  counts[how]++;
}

export interface MemoryInfo {
  /** CPU storages alive (neither disposed nor collected yet) and the bytes they hold. */
  cpu: { storages: number; bytes: number };
  /** Device storages (GPU textures) currently alive. */
  storages: number;
  /** Elements they hold (4 bytes each on the GPU). */
  elements: number;
  /** Storages ever allocated, ever disposed explicitly (dispose, using, scope), and ever freed by the garbage collector. */
  allocated: number;
  disposed: number;
  collected: number;
}

/**
 * How much memory tensors hold right now: `cpu` for CPU tensors, the other fields for GPU
 * storages. Counts drop when the garbage collector frees a forgotten tensor, at moments
 * nobody controls; on the GPU `allocated - disposed` counts only explicit frees, which
 * makes it the deterministic leak detector for tests.
 */
export function memory(): MemoryInfo {
  return { cpu: { ...cpuCounts }, ...counts };
}

/** The storages of every tensor in `value` (a tensor, or arrays and objects holding tensors). */
function collect(value: unknown, into: Set<Storage>, seen = new Set<unknown>()): void {
  // typed arrays hold numbers only: walking their elements would cost O(length)
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value) || seen.has(value)) return;
  seen.add(value);
  if (value instanceof Tensor) {
    into.add(value.storage);
    return;
  }
  for (const v of Array.isArray(value) ? value : Object.values(value)) collect(v, into, seen);
}

function finish<T>(scope: Scope, result: T): T {
  const kept = new Set<Storage>();
  collect(result, kept);
  for (const storage of scope.storages) {
    if (kept.has(storage)) scope.parent?.storages.add(storage);
    else storage.dispose();
  }
  scope.storages.clear();
  return result;
}

/**
 * Runs fn and then disposes every device storage allocated inside it, except those of
 * the tensors in fn's result (a tensor, or arrays/objects of tensors), which move to the
 * enclosing scope. Works for async fn: the scope ends when its promise settles.
 */
export function scope<T>(fn: () => T): T {
  const s = new Scope(tracker.current());
  let result: T;
  try {
    result = tracker.run(s, fn);
  } catch (e) {
    finish(s, undefined);
    throw e;
  }
  if (result instanceof Promise) {
    return result.then(
      (value) => finish(s, value),
      (e) => {
        finish(s, undefined);
        throw e;
      },
    ) as T;
  }
  return finish(s, result);
}

/**
 * Keeps these tensors' storages from being freed by any scope (tfjs's keep): they leave the
 * scope they were allocated or returned into, and no enclosing scope takes them over, so
 * they live until dispose() or the garbage collector. Nested scopes (a training step in a
 * scope inside a caller's scope) therefore cannot free state such as optimizer moments.
 */
export function keep<T>(value: T): T {
  const current = tracker.current();
  if (current === null) return value;
  const kept = new Set<Storage>();
  collect(value, kept);
  for (const storage of kept) current.storages.delete(storage);
  return value;
}
