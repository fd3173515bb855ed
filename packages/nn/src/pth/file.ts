// loadPth and savePth: the file-path entry points of the .pth reader and writer, the only
// part that uses Node's APIs (node:fs, and node:zlib to inflate deflated zip entries).

import { readFileSync, writeFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import { parsePth } from './parse.js';
import { serializePth } from './serialize.js';
import type { PthValue } from './values.js';

/**
 * Reads a file written by torch.save (PyTorch >= 1.6) like torch.load(path, weights_only=True):
 * tensors become dinots Tensors, dicts plain objects (or Maps when a key is not a string),
 * lists and tuples arrays, argparse.Namespace a Namespace. See values.ts and storage-types.ts.
 */
export function loadPth(pathOrBytes: string | Uint8Array): PthValue {
  const bytes = typeof pathOrBytes === 'string' ? readFileSync(pathOrBytes) : pathOrBytes;
  return parsePth(bytes, { inflateRaw: (compressed, size) => inflateRawSync(compressed, { maxOutputLength: Math.max(size, 1) }) });
}

/** Writes `value` (tensors, plain objects, Maps, arrays, Namespaces, primitives) as torch.save does. */
export function savePth(path: string, value: unknown): void {
  writeFileSync(path, serializePth(value));
}
