// Grad mode: whether ops record the graph for backward (torch.no_grad / enable_grad).
//
// In Node the mode lives in an AsyncLocalStorage, so `noGrad(async () => ...)` covers
// everything its async body does, across `await`, without leaking into concurrent
// tasks. Where AsyncLocalStorage does not exist (browsers) a plain flag is used and
// restored when the function, or the promise it returns, settles.

interface AsyncLocalStorageLike<T> {
  getStore(): T | undefined;
  run<R>(store: T, fn: () => R): R;
}

type NodeProcess = { getBuiltinModule?: (id: string) => { AsyncLocalStorage: new () => AsyncLocalStorageLike<boolean> } };

const nodeProcess = (globalThis as { process?: NodeProcess }).process;
const asyncHooks = nodeProcess?.getBuiltinModule?.('node:async_hooks');
const contextStorage: AsyncLocalStorageLike<boolean> | null = asyncHooks ? new asyncHooks.AsyncLocalStorage() : null;

let fallbackEnabled = true;

export function isGradEnabled(): boolean {
  const scoped = contextStorage?.getStore();
  return scoped === undefined ? fallbackEnabled : scoped;
}

/** Runs `fn` with gradient recording switched to `enabled`; works for sync and async `fn`. */
export function setGradEnabled<R>(enabled: boolean, fn: () => R): R {
  if (contextStorage) return contextStorage.run(enabled, fn);
  const previous = fallbackEnabled;
  fallbackEnabled = enabled;
  let result: R;
  try {
    result = fn();
  } catch (e) {
    fallbackEnabled = previous;
    throw e;
  }
  if (result instanceof Promise) {
    return result.finally(() => {
      fallbackEnabled = previous;
    }) as R;
  }
  fallbackEnabled = previous;
  return result;
}

/** Runs `fn` without recording operations for autograd (torch.no_grad). Async-safe. */
export function noGrad<R>(fn: () => R): R {
  return setGradEnabled(false, fn);
}

/** Runs `fn` with recording on, also inside a noGrad region (torch.enable_grad). Async-safe. */
export function enableGrad<R>(fn: () => R): R {
  return setGradEnabled(true, fn);
}
