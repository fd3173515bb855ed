// Node's built-in modules (fs, zlib), reached at call time through process.getBuiltinModule,
// so that a browser bundle of @dinots/nn loads: there, the entry points that take a file
// path say to pass bytes instead, and everything else works.

/** Node's built-in module `id`, or an error naming `op` where there is none (a browser). */
export function nodeBuiltin<M>(op: string, id: 'node:fs' | 'node:zlib'): M {
  const getBuiltin = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule;
  if (typeof getBuiltin !== 'function') {
    throw new Error(`${op}: file paths need Node's ${id.slice(5)}; here pass the file's bytes instead`);
  }
  return getBuiltin(id) as M;
}
