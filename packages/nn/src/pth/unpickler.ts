// A weights-only unpickler: Python's pickle virtual machine (Lib/pickle.py, _Unpickler;
// opcodes documented in Lib/pickletools.py) for the binary opcodes of protocols 2 to 5,
// restricted like torch.load(weights_only=True) (torch/_weights_only_unpickler.py):
//
// - GLOBAL / STACK_GLOBAL resolve `module.name` through an allow-list the caller passes;
//   any other name (os.system, builtins.eval, ...) is refused on the spot, naming it.
// - REDUCE, NEWOBJ and BUILD only apply what an allowed global declares (call/construct);
//   nothing else is ever called, imported or evaluated.
// - BINPERSID hands the persistent id to the caller (torch uses it for tensor storages).
//
// Every length is checked against the bytes left, so a pickle allocates at most about its
// own size; a bad pickle gives an Error naming the byte offset and the opcode.

import { PyDict, type PyGlobal, PyInstance, type PyKey, PyTuple, type PyValue } from './values.js';

export interface UnpicklerHooks {
  /** The allowed global `module.name`, or undefined to refuse it. */
  findGlobal(module: string, name: string): PyGlobal | undefined;
  /** The object for a persistent id (BINPERSID). */
  persistentLoad(pid: PyValue): PyValue;
}

/** A mark on the stack (MARK ... TUPLE/LIST/DICT/APPENDS/SETITEMS/ADDITEMS/POP_MARK). */
const MARK = Symbol('mark');
type StackItem = PyValue | typeof MARK;

/** LONG4 ints longer than this are refused (no checkpoint holds a 32768-bit int). */
const MAX_LONG_BYTES = 4096;

const OPCODE_NAMES: Record<number, string> = {
  0x80: 'PROTO', 0x95: 'FRAME', 0x2e: 'STOP', 0x28: 'MARK', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP',
  0x4e: 'NONE', 0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x4a: 'BININT', 0x4b: 'BININT1', 0x4d: 'BININT2',
  0x8a: 'LONG1', 0x8b: 'LONG4', 0x47: 'BINFLOAT', 0x58: 'BINUNICODE', 0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8',
  0x55: 'SHORT_BINSTRING', 0x54: 'BINSTRING', 0x42: 'BINBYTES', 0x43: 'SHORT_BINBYTES', 0x8e: 'BINBYTES8', 0x96: 'BYTEARRAY8',
  0x29: 'EMPTY_TUPLE', 0x74: 'TUPLE', 0x85: 'TUPLE1', 0x86: 'TUPLE2', 0x87: 'TUPLE3', 0x5d: 'EMPTY_LIST', 0x61: 'APPEND',
  0x65: 'APPENDS', 0x6c: 'LIST', 0x7d: 'EMPTY_DICT', 0x64: 'DICT', 0x73: 'SETITEM', 0x75: 'SETITEMS', 0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS', 0x91: 'FROZENSET', 0x63: 'GLOBAL', 0x93: 'STACK_GLOBAL', 0x52: 'REDUCE', 0x81: 'NEWOBJ', 0x92: 'NEWOBJ_EX',
  0x62: 'BUILD', 0x51: 'BINPERSID', 0x68: 'BINGET', 0x6a: 'LONG_BINGET', 0x71: 'BINPUT', 0x72: 'LONG_BINPUT', 0x94: 'MEMOIZE',
};

function isKey(v: PyValue): v is PyKey {
  return v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean';
}

/** Runs the pickle in `bytes` and returns the object STOP leaves on the stack. */
export function unpickle(bytes: Uint8Array, hooks: UnpicklerHooks): PyValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const memo = new Map<number, PyValue>();
  let stack: StackItem[] = [];
  const metastack: StackItem[][] = [];
  let pos = 0;
  let opStart = 0;
  let op = 0;

  const fail = (message: string): never => {
    throw new Error(`pickle: ${message} (opcode ${OPCODE_NAMES[op] ?? `0x${op.toString(16).padStart(2, '0')}`} at byte ${opStart})`);
  };
  const take = (n: number): number => {
    if (n > bytes.byteLength - pos) fail(`needs ${n} more bytes but only ${bytes.byteLength - pos} are left (truncated)`);
    const at = pos;
    pos += n;
    return at;
  };
  const u8 = () => bytes[take(1)];
  const u32 = () => view.getUint32(take(4), true);
  const u64 = () => {
    const v = view.getBigUint64(take(8), true);
    if (v > BigInt(bytes.byteLength - pos)) fail(`length ${v} exceeds the ${bytes.byteLength - pos} bytes left`);
    return Number(v);
  };
  const slice = (n: number) => bytes.subarray(take(n), pos);
  const text = (n: number) => {
    const b = slice(n);
    try {
      return utf8.decode(b);
    } catch {
      return fail('string is not valid UTF-8');
    }
  };
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('line has no terminating newline');
    return text(end - pos + 1).slice(0, -1);
  };
  const pop = (): PyValue => {
    if (stack.length === 0) fail('pops an empty stack');
    const v = stack.pop()!;
    if (v === MARK) fail('pops a MARK as a value');
    return v as PyValue;
  };
  const top = (): PyValue => {
    const v = pop();
    stack.push(v);
    return v;
  };
  const popMark = (): PyValue[] => {
    const items = stack;
    if (metastack.length === 0) fail('no MARK to pop to');
    stack = metastack.pop()!;
    return items as PyValue[];
  };
  const long = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const global = (module: string, name: string): PyGlobal =>
    hooks.findGlobal(module, name) ?? fail(`global '${module}.${name}' is not allowed: weights-only loading resolves only tensor, storage and plain-data classes, and never runs code`);
  const asGlobal = (v: PyValue, what: string): PyGlobal => {
    if (typeof v === 'object' && v !== null && 'kind' in v && v.kind === 'global') return v;
    return fail(`${what} is applied to something that is not an allowed global`);
  };
  const args = (v: PyValue): readonly PyValue[] => (v instanceof PyTuple ? v.items : fail('arguments are not a tuple'));
  const list = (v: PyValue): PyValue[] => (Array.isArray(v) ? v : fail('target is not a list'));
  const setItem = (d: PyValue, k: PyValue, v: PyValue) => {
    if (!(d instanceof PyDict)) fail('target is not a dict');
    if (!isKey(k)) fail('dict key is not a str, int, float, bool or None');
    (d as PyDict).entries.set(k as PyKey, v);
  };
  const addTo = (s: PyValue, items: PyValue[]) => {
    if (!(s instanceof Set)) fail('target is not a set');
    for (const item of items) (s as Set<PyKey>).add(isKey(item) ? item : fail('set item is not a str, int, float, bool or None'));
  };
  const memoGet = (i: number) => (memo.has(i) ? memo.get(i)! : fail(`memo key ${i} was never stored`));

  if (bytes.byteLength === 0) fail('empty pickle');
  for (;;) {
    if (pos >= bytes.byteLength) fail('ends without STOP (truncated)');
    opStart = pos;
    op = bytes[pos++];
    switch (op) {
      case 0x80: { const protocol = u8(); if (protocol > 5) fail(`protocol ${protocol} is newer than 5`); break; }
      case 0x95: u64(); break; // FRAME: a length hint; the frame's opcodes follow inline
      case 0x2e: { const v = pop(); if (stack.length > 0 || metastack.length > 0) fail('leaves items on the stack'); return v; }
      case 0x28: metastack.push(stack); stack = []; break;
      case 0x30: if (stack.length === 0) fail('pops an empty stack'); stack.pop(); break;
      case 0x31: popMark(); break;
      case 0x32: stack.push(top()); break;
      case 0x4e: stack.push(null); break;
      case 0x88: stack.push(true); break;
      case 0x89: stack.push(false); break;
      case 0x4a: stack.push(view.getInt32(take(4), true)); break;
      case 0x4b: stack.push(u8()); break;
      case 0x4d: stack.push(view.getUint16(take(2), true)); break;
      case 0x8a: stack.push(long(slice(u8()))); break;
      case 0x8b: { const n = view.getInt32(take(4), true); if (n < 0 || n > MAX_LONG_BYTES) fail(`LONG4 of ${n} bytes`); stack.push(long(slice(n))); break; }
      case 0x47: stack.push(view.getFloat64(take(8), false)); break;
      case 0x58: stack.push(text(u32())); break;
      case 0x8c: stack.push(text(u8())); break;
      case 0x8d: stack.push(text(u64())); break;
      case 0x55: stack.push(new TextDecoder('latin1').decode(slice(u8()))); break;
      case 0x54: { const n = view.getInt32(take(4), true); if (n < 0) fail(`negative length ${n}`); stack.push(new TextDecoder('latin1').decode(slice(n))); break; }
      case 0x42: stack.push(slice(u32()).slice()); break;
      case 0x43: stack.push(slice(u8()).slice()); break;
      case 0x8e: case 0x96: stack.push(slice(u64()).slice()); break;
      case 0x29: stack.push(new PyTuple([])); break;
      case 0x74: { const items = popMark(); stack.push(new PyTuple(items)); break; } // popMark() swaps `stack`: pop first
      case 0x85: case 0x86: case 0x87: { const n = op - 0x84; const items: PyValue[] = []; for (let i = 0; i < n; i++) items.unshift(pop()); stack.push(new PyTuple(items)); break; }
      case 0x5d: stack.push([]); break;
      case 0x61: { const v = pop(); list(top()).push(v); break; }
      case 0x65: { const items = popMark(); const target = list(top()); for (const v of items) target.push(v); break; }
      case 0x6c: { const items = popMark(); stack.push(items); break; }
      case 0x7d: stack.push(new PyDict()); break;
      case 0x64: case 0x75: {
        const items = popMark();
        if (items.length % 2 !== 0) fail(`odd number of items (${items.length}) for key/value pairs`);
        const d = op === 0x64 ? new PyDict() : top();
        for (let i = 0; i < items.length; i += 2) setItem(d, items[i], items[i + 1]);
        if (op === 0x64) stack.push(d);
        break;
      }
      case 0x73: { const v = pop(); const k = pop(); setItem(top(), k, v); break; }
      case 0x8f: stack.push(new Set<PyKey>()); break;
      case 0x90: { const items = popMark(); addTo(top(), items); break; }
      case 0x91: { const s = new Set<PyKey>(); addTo(s, popMark()); stack.push(s); break; }
      case 0x63: { const module = line(); stack.push(global(module, line())); break; }
      case 0x93: {
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('module and name are not strings');
        stack.push(global(module as string, name as string));
        break;
      }
      case 0x52: {
        const a = args(pop());
        const f = asGlobal(pop(), 'REDUCE');
        if (f.call === undefined) fail(`${f.qualifiedName} cannot be called`);
        stack.push(wrap(() => f.call!(a), f.qualifiedName, fail));
        break;
      }
      case 0x81: case 0x92: {
        if (op === 0x92) { const kwargs = pop(); if (!(kwargs instanceof PyDict) || kwargs.entries.size > 0) fail('keyword arguments are not supported'); }
        const a = args(pop());
        const cls = asGlobal(pop(), 'NEWOBJ');
        if (cls.construct === undefined) fail(`${cls.qualifiedName} cannot be instantiated`);
        stack.push(wrap(() => cls.construct!(a), cls.qualifiedName, fail));
        break;
      }
      case 0x62: {
        const state = pop();
        const inst = top();
        // A state_dict() is an OrderedDict with a `_metadata` attribute (module versions),
        // which torch's weights-only unpickler sets as __dict__; it is not data, so it is dropped.
        if (inst instanceof PyDict) break;
        if (!(inst instanceof PyInstance)) fail('BUILD applies to something that is not a dict or an instance of an allowed class');
        if (!(state instanceof PyDict)) fail(`the state of ${(inst as PyInstance).qualifiedName} is not a dict`);
        (inst as PyInstance).state = state as PyDict;
        break;
      }
      case 0x51: { const pid = pop(); stack.push(wrap(() => hooks.persistentLoad(pid), 'persistent_load', fail)); break; }
      case 0x68: stack.push(memoGet(u8())); break;
      case 0x6a: stack.push(memoGet(u32())); break;
      case 0x71: memo.set(u8(), top()); break;
      case 0x72: memo.set(u32(), top()); break;
      case 0x94: memo.set(memo.size, top()); break;
      default: fail('unsupported opcode');
    }
  }
}

/** Runs an allowed global's action, adding the opcode's position to its error. */
function wrap(action: () => PyValue, what: string, fail: (message: string) => never): PyValue {
  try {
    return action();
  } catch (e) {
    return fail(`${what}: ${(e as Error).message}`);
  }
}
