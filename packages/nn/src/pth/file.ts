// loadPth and savePth: the file-path entry points of the .pth reader and writer, the only
// part that uses Node's APIs (node:fs, and node:zlib to inflate deflated zip entries),
// reached at call time so that browser bundles load this file (pass bytes there).

import { nodeBuiltin } from '../node-builtin.js';
import { parsePth } from './parse.js';
import { serializePth } from './serialize.js';
import type { PthValue } from './values.js';

/**
 * Reads a file written by torch.save (PyTorch >= 1.6) like torch.load(path, weights_only=True):
 * tensors become dinots Tensors, dicts plain objects (or Maps when a key is not a string),
 * lists and tuples arrays, argparse.Namespace a Namespace. See values.ts and storage-types.ts.
 */
export function loadPth(pathOrBytes: string | Uint8Array): PthValue {
  const bytes = typeof pathOrBytes === 'string' ? nodeBuiltin<typeof import('node:fs')>('loadPth', 'node:fs').readFileSync(pathOrBytes) : pathOrBytes;
  const inflateRaw = (compressed: Uint8Array, size: number) =>
    nodeBuiltin<typeof import('node:zlib')>('loadPth (a deflated entry)', 'node:zlib').inflateRawSync(compressed, { maxOutputLength: Math.max(size, 1) });
  return parsePth(bytes, { inflateRaw });
}

/** Writes `value` (tensors, plain objects, Maps, arrays, Namespaces, primitives) as torch.save does. */
export function savePth(path: string, value: unknown): void {
  nodeBuiltin<typeof import('node:fs')>('savePth', 'node:fs').writeFileSync(path, serializePth(value));
}
