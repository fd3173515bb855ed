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

// In source order within each file; a node recorded at two places (clone and contiguous)
// has one entry per place.
export const DERIVATIVES: readonly Derivative[] = [
  {
    file: 'autograd/rebase.ts', node: 'CopySlices', ops: 'an in-place op on a view whose base takes part in autograd (the base\'s new history)',
    grads: ['base before the op: g where the view does not cover, 0 where it does', 'the in-place result of the view: the view of g'],
  },
  { file: 'autograd/rebase.ts', node: 'CloneBackward', ops: "(a copy laid out as the view's base, inside CopySlices' gradient)", grads: ['x: g'] },
  { file: 'ops/binary.ts', node: 'AddBackward', ops: 'add', grads: ['a: unbroadcast(g, a)', 'b: unbroadcast(g, b)'] },
  { file: 'ops/binary.ts', node: 'SubBackward', ops: 'sub', grads: ['a: unbroadcast(g, a)', 'b: unbroadcast(-g, b)'] },
  { file: 'ops/binary.ts', node: 'MulBackward', ops: 'mul', grads: ['a: unbroadcast(g * b, a)', 'b: unbroadcast(g * a, b)'] },
  { file: 'ops/binary.ts', node: 'DivBackward', ops: 'div', grads: ['a: unbroadcast(g / b, a)', 'b: unbroadcast(-g * a / b^2, b)'] },
  { file: 'ops/binary.ts', node: 'PowBackward', ops: 'pow (tensor exponent)', grads: ['a: unbroadcast(g * b * a^(b-1), a), 0 where b = 0', 'b: unbroadcast(g * y * ln a, b), 0 where a = 0 and b >= 0'] },
  { file: 'ops/binary.ts', node: 'MaximumBackward', ops: 'maximum', grads: ['a: unbroadcast(g * [a > b] + g/2 * [a = b], a)', 'b: unbroadcast(g * [b > a] + g/2 * [a = b], b)'] },
  { file: 'ops/binary.ts', node: 'MinimumBackward', ops: 'minimum', grads: ['a: unbroadcast(g * [a < b] + g/2 * [a = b], a)', 'b: unbroadcast(g * [b < a] + g/2 * [a = b], b)'] },
  { file: 'ops/compare.ts', node: 'WhereBackward', ops: 'where(c, a, b)', grads: ['a: unbroadcast(where(c, g, 0), a)', 'b: unbroadcast(where(c, 0, g), b)'] },
  { file: 'ops/copy.ts', node: 'CloneBackward', ops: 'clone', grads: ['x: g'] },
  { file: 'ops/copy.ts', node: 'CloneBackward', ops: 'contiguous (when it copies)', grads: ['x: g'] },
  { file: 'ops/copy.ts', node: 'ToCopyBackward', ops: 'to(dtype)', grads: ['x: g.to(x.dtype)'] },
  { file: 'ops/copy.ts', node: 'ToDeviceBackward', ops: 'to(device)', grads: ['x: g.to(x.device)'] },
  { file: 'ops/indexing.ts', node: 'GatherBackward', ops: 'gather(x, dim, index)', grads: ['x: scatterAdd(zeros like x, dim, index, g)'] },
  { file: 'ops/inplace.ts', node: 'CopyBackwards', ops: 'copy_(src) on a tensor in autograd', grads: ['the tensor before: 0 (overwritten)', 'src: unbroadcast(g, src)'] },
  { file: 'ops/inplace.ts', node: 'FillBackward', ops: 'fill_(v) on a tensor in autograd', grads: ['the tensor before: 0 (overwritten)'] },
  { file: 'ops/indexing.ts', node: 'ScatterAddBackward', ops: 'scatterAdd(x, dim, index, src)', grads: ['x: g', 'src: gather(g, dim, index)'] },
  { file: 'ops/join.ts', node: 'CatBackward', ops: 'cat, stack', grads: ['each input i: g.narrow(dim, offset_i, size_i), its own slab of g'] },
  { file: 'ops/layer-norm.ts', node: 'NativeLayerNormBackward', ops: 'layerNorm', grads: ['x: rstd * (gw - mean(gw) - xhat * mean(gw * xhat)), with xhat = (x - mean) * rstd, gw = g * weight, means over the normalised dims', 'weight: sum(g * xhat) over the leading dims', 'bias: sum(g) over the leading dims'] },
  { file: 'ops/matmul.ts', node: 'MmBackward', ops: 'matmul', grads: ['a: unbroadcast(g @ b^T, a)', 'b: unbroadcast(a^T @ g, b); for a 2-D b under batched a, one product over the stacked rows'] },
  { file: 'ops/movement.ts', node: 'ViewBackward', ops: 'view, reshape (when a view exists), unflatten', grads: ['x: g.reshape(x.shape)'] },
  { file: 'ops/movement.ts', node: 'ReshapeBackward', ops: 'reshape (when it must copy), flatten', grads: ['x: g.reshape(x.shape)'] },
  { file: 'ops/movement.ts', node: 'TransposeBackward', ops: 'transpose, T, mT', grads: ['x: g.transpose(dim0, dim1)'] },
  { file: 'ops/movement.ts', node: 'PermuteBackward', ops: 'permute', grads: ['x: g.permute(inverse permutation)'] },
  { file: 'ops/movement.ts', node: 'ViewScatterBackward', ops: '(the gradient of narrow, slice, select)', grads: ['g: the same view of gg (narrow, slice or select again)'] },
  { file: 'ops/movement.ts', node: 'NarrowBackward', ops: 'narrow', grads: ['x: zeros of x.shape with g written into x.narrow(dim, start, length)'] },
  { file: 'ops/movement.ts', node: 'SliceBackward', ops: 'slice', grads: ['x: zeros of x.shape with g written into x.slice(dim, start, end, step)'] },
  { file: 'ops/movement.ts', node: 'SelectBackward', ops: 'select', grads: ['x: zeros of x.shape with g written into x.select(dim, index)'] },
  { file: 'ops/movement.ts', node: 'ExpandBackward', ops: 'expand, broadcastTo', grads: ['x: unbroadcast(g, x), the sum over the expanded dims'] },
  { file: 'ops/movement.ts', node: 'SqueezeBackward', ops: 'squeeze', grads: ['x: g.reshape(x.shape)'] },
  { file: 'ops/movement.ts', node: 'UnsqueezeBackward', ops: 'unsqueeze', grads: ['x: g.reshape(x.shape)'] },
  { file: 'ops/pad.ts', node: 'ConstantPadBackward', ops: 'pad (constant)', grads: ['x: g cropped back to the unpadded window (a view of g)'] },
  { file: 'ops/reduce.ts', node: 'LogsumexpBackward', ops: 'logsumexp over an empty dim (-inf)', grads: ['x: 0 (x has no elements to differentiate)'] },
  { file: 'ops/reduce.ts', node: 'SumBackward', ops: 'sum, mean (as sum / n)', grads: ['x: g expanded back over the reduced dims'] },
  { file: 'ops/reduce.ts', node: 'NormBackward', ops: 'norm(x, p)', grads: ['x: p = 1: g * sign(x); p = 2: g * x / y; other p: g * x * |x|^(p-2) / y^(p-1); 0 where y = 0'] },
  { file: 'ops/reduce.ts', node: 'AmaxBackward', ops: 'amax, max(x)', grads: ['x: g * [x = y] / (number of maxima), ties share evenly'] },
  { file: 'ops/reduce.ts', node: 'AminBackward', ops: 'amin, min(x)', grads: ['x: g * [x = y] / (number of minima), ties share evenly'] },
  { file: 'ops/reduce.ts', node: 'MaxBackward', ops: 'max(x, dim)', grads: ['x: scatterAdd(zeros like x, dim, indices, g), all to the first maximum'] },
  { file: 'ops/reduce.ts', node: 'MinBackward', ops: 'min(x, dim)', grads: ['x: scatterAdd(zeros like x, dim, indices, g), all to the first minimum'] },
  { file: 'ops/softmax.ts', node: 'SoftmaxBackward', ops: 'softmax', grads: ['x: y * (g - sum(g * y, dim)); a fused kernel when not recording'] },
  { file: 'ops/softmax.ts', node: 'LogSoftmaxBackward', ops: 'logSoftmax', grads: ['x: g - exp(y) * sum(g, dim); a fused kernel when not recording'] },
  { file: 'ops/unary.ts', node: 'NegBackward', ops: 'neg', grads: ['x: -g'] },
  { file: 'ops/unary.ts', node: 'ReciprocalBackward', ops: 'reciprocal', grads: ['x: -g * y^2'] },
  { file: 'ops/unary.ts', node: 'ExpBackward', ops: 'exp', grads: ['x: g * y'] },
  { file: 'ops/unary.ts', node: 'LogBackward', ops: 'log', grads: ['x: g / x'] },
  { file: 'ops/unary.ts', node: 'Log1pBackward', ops: 'log1p', grads: ['x: g / (x + 1)'] },
  { file: 'ops/unary.ts', node: 'SqrtBackward', ops: 'sqrt', grads: ['x: g / (2 y)'] },
  { file: 'ops/unary.ts', node: 'RsqrtBackward', ops: 'rsqrt', grads: ['x: -g * y^3 / 2'] },
  { file: 'ops/unary.ts', node: 'AbsBackward', ops: 'abs', grads: ['x: g * sign(x)'] },
  { file: 'ops/unary.ts', node: 'SignBackward', ops: 'sign', grads: ['x: 0'] },
  { file: 'ops/unary.ts', node: 'SquareBackward', ops: 'square', grads: ['x: 2 g x'] },
  { file: 'ops/unary.ts', node: 'SinBackward', ops: 'sin', grads: ['x: g * cos(x)'] },
  { file: 'ops/unary.ts', node: 'CosBackward', ops: 'cos', grads: ['x: -g * sin(x)'] },
  { file: 'ops/unary.ts', node: 'TanhBackward', ops: 'tanh', grads: ['x: g * (1 - y^2)'] },
  { file: 'ops/unary.ts', node: 'SigmoidBackward', ops: 'sigmoid', grads: ['x: g * y * (1 - y)'] },
  { file: 'ops/unary.ts', node: 'ReluBackward', ops: 'relu', grads: ['x: g * [y > 0]'] },
  { file: 'ops/unary.ts', node: 'ErfBackward', ops: 'erf', grads: ['x: g * 2/sqrt(pi) * exp(-x^2)'] },
  { file: 'ops/unary.ts', node: 'GeluBackward', ops: "gelu(x, {approximate: 'tanh'})", grads: ['x: g * d/dx [x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))]'] },
  { file: 'ops/unary.ts', node: 'GeluBackward', ops: 'gelu (exact)', grads: ['x: g * (Phi(x) + x phi(x)), one fused kernel (the node below)'] },
  { file: 'ops/unary.ts', node: 'GeluBackwardBackward', ops: '(the gradient of exact gelu, when differentiated again)', grads: ['g: gg * (Phi(x) + x phi(x))', 'x: gg * g * phi(x) * (2 - x^2)'] },
  { file: 'ops/unary.ts', node: 'ClampBackward', ops: 'clamp', grads: ['x: g * [min <= x <= max]'] },
  { file: 'ops/unary.ts', node: 'PowBackward', ops: 'pow (number exponent p)', grads: ['x: g * p * x^(p-1); 0 when p = 0'] },
];

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
