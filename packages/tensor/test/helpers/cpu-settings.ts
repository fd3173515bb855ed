// Running a test body under other CPU backend settings, restoring the defaults afterwards.

import * as T from '../../src/index.js';

/** Runs f with the CPU kernels on n threads. */
export function withThreads<R>(n: number, f: () => R): R {
  const before = T.getNumThreads();
  T.setNumThreads(n);
  try {
    return f();
  } finally {
    T.setNumThreads(before);
  }
}

/** Runs f on a CPU backend with (true) or without (false) the WebAssembly SIMD kernels. */
export function withSimd<R>(simd: boolean, f: () => R): R {
  T.registerBackend('cpu', () => new T.CpuBackend({ simd }));
  try {
    return f();
  } finally {
    T.registerBackend('cpu', () => new T.CpuBackend());
  }
}
