// Synchronous compilation of a small module, where WebAssembly exists (browsers allow
// synchronous compilation on the main thread only below 4 KB; the kernels here are
// under 1 KB), so that kernels stay synchronous calls. The TypeScript
// library this project targets (es2023, no DOM) does not declare the WebAssembly
// JavaScript API, so the part used here is declared below.

declare const WebAssembly: {
  validate(bytes: Uint8Array<ArrayBuffer>): boolean;
  Module: new (bytes: Uint8Array<ArrayBuffer>) => object;
  Instance: new (module: object) => { readonly exports: Record<string, unknown> };
};

/** Memory as exported by a module: a buffer that `grow` replaces. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** The module's exports, or null where WebAssembly (or an instruction the module uses, e.g. SIMD) is unsupported. */
export function instantiate(bytes: Uint8Array<ArrayBuffer>): Record<string, unknown> | null {
  if (typeof WebAssembly === 'undefined' || !WebAssembly.validate(bytes)) return null;
  return new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports;
}

/**
 * A kernel module, instantiated on first use and kept: `lazyModule(bytes, wrap)()` returns
 * wrap(exports, memory) for the module `bytes()` builds, the same object on every call, or
 * null where the module does not run here. Each thread of the pool loads the drivers
 * itself, so each gets its own instance and memory.
 */
export function lazyModule<T>(bytes: () => Uint8Array<ArrayBuffer>, wrap: (exports: Record<string, unknown>, memory: WasmMemory) => T): () => T | null {
  let module: T | null | undefined;
  return () => {
    if (module === undefined) {
      const exports = instantiate(bytes());
      module = exports === null ? null : wrap(exports, exports.memory as WasmMemory);
    }
    return module;
  };
}

const PAGE = 65536;

/** Grows `memory` (in 64 KiB pages) until it holds at least `bytes`. */
export function ensureBytes(memory: WasmMemory, bytes: number): void {
  const have = memory.buffer.byteLength;
  if (have < bytes) memory.grow(Math.ceil((bytes - have) / PAGE));
}
