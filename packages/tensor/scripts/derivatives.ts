// The table of every backward node, in the role PyTorch's derivatives.yaml plays: the name
// each op passes to `record`, the gradient each input receives, and the file and line where
// the formula is written. The formulas live in the ops, beside their forward passes; this
// file describes them in one place for a reader, and `derivativesMarkdown()` renders
// DERIVATIVES.md. The test in test/derivatives.test.ts fails when an op records a node this
// table does not list, when the table lists one the ops no longer record, or when a line
// moved; then run
//   npm run derivatives
// (after adding or correcting the entry below) and commit DERIVATIVES.md.
//
// Notation: g is the gradient of the output, y the output, x (and a, b for binary ops) the
// inputs. unbroadcast(t, x) sums t over the dims that broadcasting added to x's shape
// (`sumTo`). Every formula is written with differentiable ops, so it can itself be
// differentiated (createGraph).

import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Derivative {
  /** The name passed to `record`, as `x.gradFn.name` shows it. */
  readonly node: string;
  /** The file under src/ that records it. */
  readonly file: string;
  /** The public op(s) that create the node. */
  readonly ops: string;
  /** One formula per differentiable input, `input: gradient`. */
  readonly grads: readonly string[];
}

// The table, laid out as derivatives.yaml: a file under src/, then each node it records as
// `Node: the ops that create it`, then one line per differentiable input, `input: gradient`.
// Nodes are in source order within each file; a node recorded at two places (clone and
// contiguous) has one entry per place.
const TABLE = `
autograd/rebase.ts
  CopySlices: an in-place op on a view whose base takes part in autograd (the base's new history)
    base before the op: g where the view does not cover, 0 where it does
    the in-place result of the view: the view of g
  CloneBackward: (a copy laid out as the view's base, inside CopySlices' gradient)
    x: g
ops/binary.ts
  AddBackward: add
    a: unbroadcast(g, a)
    b: unbroadcast(g, b)
  SubBackward: sub
    a: unbroadcast(g, a)
    b: unbroadcast(-g, b)
  MulBackward: mul
    a: unbroadcast(g * b, a)
    b: unbroadcast(g * a, b)
  DivBackward: div
    a: unbroadcast(g / b, a)
    b: unbroadcast(-g * a / b^2, b)
  PowBackward: pow (tensor exponent)
    a: unbroadcast(g * b * a^(b-1), a), 0 where b = 0
    b: unbroadcast(g * y * ln a, b), 0 where a = 0 and b >= 0
  MaximumBackward: maximum
    a: unbroadcast(g * [a > b] + g/2 * [a = b], a)
    b: unbroadcast(g * [b > a] + g/2 * [a = b], b)
  MinimumBackward: minimum
    a: unbroadcast(g * [a < b] + g/2 * [a = b], a)
    b: unbroadcast(g * [b < a] + g/2 * [a = b], b)
ops/compare.ts
  WhereBackward: where(c, a, b)
    a: unbroadcast(where(c, g, 0), a)
    b: unbroadcast(where(c, 0, g), b)
ops/copy.ts
  CloneBackward: clone
    x: g
  CloneBackward: contiguous (when it copies)
    x: g
  ToCopyBackward: to(dtype)
    x: g.to(x.dtype)
  ToDeviceBackward: to(device)
    x: g.to(x.device)
ops/indexing.ts
  GatherBackward: gather(x, dim, index)
    x: scatterAdd(zeros like x, dim, index, g)
  ScatterAddBackward: scatterAdd(x, dim, index, src)
    x: g
    src: gather(g, dim, index)
ops/inplace.ts
  CopyBackwards: copy_(src) on a tensor in autograd
    the tensor before: 0 (overwritten)
    src: unbroadcast(g, src)
  FillBackward: fill_(v) on a tensor in autograd
    the tensor before: 0 (overwritten)
ops/join.ts
  CatBackward: cat, stack
    each input i: g.narrow(dim, offset_i, size_i), its own slab of g
ops/layer-norm.ts
  NativeLayerNormBackward: layerNorm
    x: rstd * (gw - mean(gw) - xhat * mean(gw * xhat)), with xhat = (x - mean) * rstd, gw = g * weight, means over the normalised dims
    weight: sum(g * xhat) over the leading dims
    bias: sum(g) over the leading dims
ops/matmul.ts
  MmBackward: matmul
    a: unbroadcast(g @ b^T, a)
    b: unbroadcast(a^T @ g, b); for a 2-D b under batched a, one product over the stacked rows
  AddmmBackward: linear (with a bias, on a backend that adds it in the GEMM kernel)
    a: g @ b^T
    b: a^T @ g
    bias: sum(g) over the rows
ops/movement.ts
  ViewBackward: view, reshape (when a view exists), unflatten
    x: g.reshape(x.shape)
  ReshapeBackward: reshape (when it must copy), flatten
    x: g.reshape(x.shape)
  TransposeBackward: transpose, T, mT
    x: g.transpose(dim0, dim1)
  PermuteBackward: permute
    x: g.permute(inverse permutation)
  ViewScatterBackward: (the gradient of narrow, slice, select)
    g: the same view of gg (narrow, slice or select again)
  NarrowBackward: narrow
    x: zeros of x.shape with g written into x.narrow(dim, start, length)
  SliceBackward: slice
    x: zeros of x.shape with g written into x.slice(dim, start, end, step)
  SelectBackward: select
    x: zeros of x.shape with g written into x.select(dim, index)
  ExpandBackward: expand, broadcastTo
    x: unbroadcast(g, x), the sum over the expanded dims
  SqueezeBackward: squeeze
    x: g.reshape(x.shape)
  UnsqueezeBackward: unsqueeze
    x: g.reshape(x.shape)
ops/pad.ts
  ConstantPadBackward: pad (constant)
    x: g cropped back to the unpadded window (a view of g)
ops/reduce.ts
  LogsumexpBackward: logsumexp over an empty dim (-inf)
    x: 0 (x has no elements to differentiate)
  SumBackward: sum, mean (as sum / n)
    x: g expanded back over the reduced dims
  NormBackward: norm(x, p)
    x: p = 1: g * sign(x); p = 2: g * x / y; other p: g * x * |x|^(p-2) / y^(p-1); 0 where y = 0
  AmaxBackward: amax, max(x)
    x: g * [x = y] / (number of maxima), ties share evenly
  AminBackward: amin, min(x)
    x: g * [x = y] / (number of minima), ties share evenly
  MaxBackward: max(x, dim)
    x: scatterAdd(zeros like x, dim, indices, g), all to the first maximum
  MinBackward: min(x, dim)
    x: scatterAdd(zeros like x, dim, indices, g), all to the first minimum
ops/self-attention.ts
  SelfAttentionBackward: selfAttention (q, k, v packed in qkv [B, N, 3, heads, d]; P = softmax(q k^T * scale))
    qkv: [dq, dk, dv] in qkv's layout, with dv = P^T g, dS = P * (g v^T - sum(g v^T * P, keys)) * scale, dq = dS k, dk = dS^T q; written slice by slice when not recording
ops/softmax.ts
  SoftmaxBackward: softmax
    x: y * (g - sum(g * y, dim)); a fused kernel when not recording
  LogSoftmaxBackward: logSoftmax
    x: g - exp(y) * sum(g, dim); a fused kernel when not recording
ops/unary.ts
  NegBackward: neg
    x: -g
  ReciprocalBackward: reciprocal
    x: -g * y^2
  ExpBackward: exp
    x: g * y
  LogBackward: log
    x: g / x
  Log1pBackward: log1p
    x: g / (x + 1)
  SqrtBackward: sqrt
    x: g / (2 y)
  RsqrtBackward: rsqrt
    x: -g * y^3 / 2
  AbsBackward: abs
    x: g * sign(x)
  SignBackward: sign
    x: 0
  SquareBackward: square
    x: 2 g x
  SinBackward: sin
    x: g * cos(x)
  CosBackward: cos
    x: -g * sin(x)
  TanhBackward: tanh
    x: g * (1 - y^2)
  SigmoidBackward: sigmoid
    x: g * y * (1 - y)
  ReluBackward: relu
    x: g * [y > 0]
  ErfBackward: erf
    x: g * 2/sqrt(pi) * exp(-x^2)
  GeluBackward: gelu(x, {approximate: 'tanh'})
    x: g * d/dx [x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))]
  GeluBackward: gelu (exact)
    x: g * (Phi(x) + x phi(x)), one fused kernel (the node below)
  GeluBackwardBackward: (the gradient of exact gelu, when differentiated again)
    g: gg * (Phi(x) + x phi(x))
    x: gg * g * phi(x) * (2 - x^2)
  ClampBackward: clamp
    x: g * [min <= x <= max]
  PowBackward: pow (number exponent p)
    x: g * p * x^(p-1); 0 when p = 0
`;

/** TABLE's entries; an indentation other than 0 (file), 2 (node) and 4 (gradient) is an error. */
function parseTable(text: string): Derivative[] {
  const entries: { file: string; node: string; ops: string; grads: string[] }[] = [];
  let file = '';
  text.split('\n').forEach((line, i) => {
    const content = line.trim();
    const indent = line.length - line.trimStart().length;
    if (content === '') return;
    if (indent === 0) {
      file = content;
    } else if (indent === 2 && content.includes(':')) {
      const colon = content.indexOf(':');
      entries.push({ file, node: content.slice(0, colon), ops: content.slice(colon + 1).trim(), grads: [] });
    } else if (indent === 4 && entries.length > 0) {
      entries[entries.length - 1].grads.push(content);
    } else {
      throw new Error(`derivatives: cannot read line ${i} of the table: '${line}'`);
    }
  });
  return entries;
}

export const DERIVATIVES: readonly Derivative[] = parseTable(TABLE);

const packageRoot = fileURLToPath(new URL('../..', import.meta.url));
const srcRoot = join(packageRoot, 'src');

export interface NodeSite {
  readonly node: string;
  readonly file: string;
  readonly line: number;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/**
 * Every place in src/ that names a backward node: a string literal 'XBackward', or the
 * two names of a template `${c ? 'X' : 'Y'}Backward`. A `record(` call whose name is
 * neither of these nor a plain identifier (a name passed in from such a literal) is an error.
 */
export function nodeSites(): NodeSite[] {
  const sites: NodeSite[] = [];
  for (const path of sourceFiles(srcRoot).sort()) {
    const file = relative(srcRoot, path).split('\\').join('/');
    if (file === 'autograd/record.ts') continue;
    readFileSync(path, 'utf8').split('\n').forEach((text, i) => {
      if (/^\s*(\/\/|\*|\/\*)/.test(text)) return;
      const line = i + 1;
      const found: string[] = [];
      // CopySlices (an in-place op on a view) and CopyBackwards (copy_) keep PyTorch's spelling.
      for (const m of text.matchAll(/'([A-Z][A-Za-z0-9]*Backward|CopySlices|CopyBackwards)'/g)) found.push(m[1]);
      for (const m of text.matchAll(/`\$\{[^}]*'([A-Z]\w*)' : '([A-Z]\w*)'\}Backward`/g)) found.push(`${m[1]}Backward`, `${m[2]}Backward`);
      const call = /\brecord\(\s*([^,]*),/.exec(text);
      if (call && found.length === 0 && !/^[a-z]\w*$/.test(call[1].trim())) {
        throw new Error(`${file}:${line}: record() with a node name this script cannot read: ${call[1]}`);
      }
      for (const node of found) sites.push({ node, file, line });
    });
  }
  return sites;
}

/** The table's entries with their lines; throws when the table and the sources disagree. */
export function locate(table: readonly Derivative[] = DERIVATIVES, sites: readonly NodeSite[] = nodeSites()): (Derivative & { line: number })[] {
  const key = (x: { node: string; file: string }) => `${x.file} ${x.node}`;
  const queue = new Map<string, NodeSite[]>();
  for (const s of sites) queue.set(key(s), [...(queue.get(key(s)) ?? []), s]);
  const problems: string[] = [];
  const located = table.flatMap((d) => {
    const site = queue.get(key(d))?.shift();
    if (site === undefined) {
      problems.push(`${d.node} is listed for src/${d.file} but not recorded there (once more)`);
      return [];
    }
    return [{ ...d, line: site.line }];
  });
  for (const rest of queue.values()) {
    for (const s of rest) problems.push(`${s.node} is recorded at src/${s.file}:${s.line} but not listed in scripts/derivatives.ts`);
  }
  if (problems.length > 0) throw new Error(`derivatives: the table and the ops disagree:\n  ${problems.join('\n  ')}`);
  return located;
}

const cell = (s: string) => s.replace(/\|/g, '\\|');

export function derivativesMarkdown(table: readonly Derivative[] = DERIVATIVES, sites: readonly NodeSite[] = nodeSites()): string {
  const rows = locate(table, sites);
  const lines = [
    '# Derivatives',
    '',
    '<!-- generated by scripts/derivatives.ts; do not edit: run `npm run derivatives` -->',
    '',
    'Every backward node of `@dinots/tensor`: the name an op passes to `record` (what',
    '`y.gradFn.name` shows), the gradient each input receives, and the line where the formula',
    'is written, beside the forward pass. The role PyTorch\'s `derivatives.yaml` plays.',
    '',
    'Notation: `g` is the gradient of the output, `y` the output, `x` (`a`, `b` for binary ops)',
    'the inputs; `unbroadcast(t, x)` sums `t` over the dims broadcasting added to `x` (`sumTo`);',
    '`[cond]` is 1 where `cond` holds and 0 elsewhere. Every formula is written with',
    'differentiable ops, so gradients of gradients work. Ops not listed here (`mean`, `var`,',
    '`logsumexp`, `interpolate`, `maskedFill`, ...) are composed from listed ones and get their',
    'gradients from them.',
    '',
    `${rows.length} nodes.`,
    '',
    '| node | ops | gradient | where |',
    '|---|---|---|---|',
  ];
  for (const r of rows) {
    const at = `src/${r.file}:${r.line}`;
    lines.push(`| \`${r.node}\` | ${cell(r.ops)} | ${r.grads.map(cell).join('<br>')} | [${at}](src/${r.file}#L${r.line}) |`);
  }
  return `${lines.join('\n')}\n`;
}

export const derivativesPath = join(packageRoot, 'DERIVATIVES.md');

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = derivativesMarkdown();
  if (process.argv.includes('--write')) writeFileSync(derivativesPath, text);
  else process.stdout.write(text);
}
