// Parity against reference tensors computed with PyTorch (the golden format of
// test/fixtures/golden/dino-tiny.*): a safetensors file with the initial parameters
// (params/<official MultiCropWrapper key>), the input crops and the results of N training
// steps, and a JSON sidecar holding the config. runParity rebuilds the setup in float64,
// runs the steps (DINO loss, backward, plain SGD on the trainable student parameters, EMA
// of the teacher) and compares every tensor group present in the file.
// With head_use_bn (the official --use_bn_in_head) the head has a BatchNorm1d after each
// hidden Linear; both networks run in train mode, so each keeps its own running statistics
// (the EMA covers parameters only), and `student_after/` and `teacher_after/` entries for
// them (running_mean, running_var, num_batches_tracked) are compared after each step.
//
// Error measure per tensor: max_i |ours_i - ref_i| / max(1, |ref_i|), absolute for values
// up to 1 and relative above (k-NN vote sums reach ~1e6). Names it does not know count as
// failures: parity cannot be claimed for what was not compared.

import { type Tensor, cat, tensor } from '@dinots/tensor';
import { SGD, cosineSchedule } from '@dinots/nn';
import { attentionMassMask, clsAttention } from './attention-maps.js';
import { knnClassifier } from './knn.js';
import { DINOLoss } from './loss.js';
import { buildDinoNetworks, type DinoNetwork } from './model.js';
import { updateTeacher } from './teacher.js';
import { teacherTempSchedule } from './teacher-temperature.js';

/** The `config` object of the sidecar (snake_case, as written by the reference generator). */
export interface ParityConfig {
  img_size: number;
  patch_size: number;
  in_chans: number;
  embed_dim: number;
  depth: number;
  num_heads: number;
  mlp_ratio: number;
  qkv_bias: boolean;
  layernorm_eps: number;
  head_in_dim?: number;
  head_hidden_dim: number;
  head_bottleneck_dim: number;
  head_out_dim: number;
  head_nlayers: number;
  head_use_bn?: boolean;
  norm_last_layer: boolean;
  n_global_crops: number;
  n_local_crops: number;
  batch_size?: number;
  student_temp: number;
  teacher_temp: number;
  warmup_teacher_temp?: number;
  center_momentum: number;
  center_init?: string;
  sgd_lr: number;
  ema_momentum: number;
  drop_path_rate?: number;
  dropout?: number;
  attn_threshold?: number;
}

export interface ParitySidecar {
  config: ParityConfig;
  tensors?: { name: string; shape?: number[]; meaning?: string }[];
}

export interface TensorComparison {
  name: string;
  group: string;
  error: number;
}

export interface ParityReport {
  comparisons: TensorComparison[];
  /** Worst error per group, in the order groups were first met. */
  groups: { group: string; worst: number; worstTensor: string; count: number }[];
  /** Tensors in the file that are neither inputs nor a known result (a failure). */
  unrecognised: string[];
  worst: number;
}

/** max |a - b| / max(1, |b|); NaN or a shape mismatch gives Infinity. */
export function parityError(ours: Tensor, ref: Tensor): number {
  if (ours.shape.join() !== ref.shape.join()) return Infinity;
  const x = ours.contiguous().dataSync();
  const y = ref.contiguous().dataSync();
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    const e = Math.abs(x[i] - y[i]) / Math.max(1, Math.abs(y[i]));
    if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : e;
  }
  return worst;
}

// Names of the per-step tensors that need more than a lookup: the crop (and threshold) is in the name.
const POS_EMBED = /^pos_embed_interp_\w+$/;
const ATTENTION = /^last_selfattn_crop(\d+)$/;
const ATTENTION_MASK = /^attn_mask_crop(\d+)_th([\d.]+)$/;
const KNN_SCORES = /^knn\/scores_k(\d+)_T([\d.]+)$/;

const GROUP_OF_STEP_TENSOR: [RegExp, string][] = [
  [POS_EMBED, 'positional embedding'],
  [/^(student|teacher)_backbone_out$/, 'backbone outputs'],
  [/^(student|teacher)_head_out$/, 'head outputs'],
  [/^teacher_probs$/, 'teacher probabilities'],
  [ATTENTION, 'attention'],
  [ATTENTION_MASK, 'attention masks'],
  [/^loss$/, 'loss'],
  [/^center_(before|after)$/, 'centers'],
  [/^(student|teacher)_after\/.+\.(running_mean|running_var|num_batches_tracked)$/, 'BatchNorm running statistics'],
  [/^grad\/.+$/, 'gradients'],
  [/^student_after\/.+$/, 'student after SGD'],
  [/^teacher_after\/.+$/, 'teacher after EMA'],
];

function fail(message: string): never {
  throw new Error(`parity: ${message}`);
}

function networksFromConfig(c: ParityConfig): { student: DinoNetwork; teacher: DinoNetwork } {
  if ((c.drop_path_rate ?? 0) !== 0 || (c.dropout ?? 0) !== 0) fail(`parity needs a deterministic setup (drop_path_rate and dropout 0), got ${c.drop_path_rate} and ${c.dropout}`);
  if (c.head_in_dim !== undefined && c.head_in_dim !== c.embed_dim) fail(`head_in_dim ${c.head_in_dim} differs from embed_dim ${c.embed_dim}`);
  return buildDinoNetworks({
    imgSize: c.img_size,
    patchSize: c.patch_size,
    inChans: c.in_chans,
    embedDim: c.embed_dim,
    depth: c.depth,
    numHeads: c.num_heads,
    mlpRatio: c.mlp_ratio,
    qkvBias: c.qkv_bias,
    layerNormEps: c.layernorm_eps,
    outDim: c.head_out_dim,
    headHiddenDim: c.head_hidden_dim,
    headBottleneckDim: c.head_bottleneck_dim,
    headNlayers: c.head_nlayers,
    headUseBn: c.head_use_bn ?? false,
    normLastLayer: c.norm_last_layer,
    dtype: 'float64',
  });
}

/** Rebuilds the run described by `sidecar` from the `params/` and `input/` tensors and compares every result tensor. */
export function runParity(file: Record<string, Tensor>, sidecar: ParitySidecar): ParityReport {
  const c = sidecar.config;
  if (c === undefined) fail('the sidecar has no "config"');
  const ref = (name: string) => file[name] ?? fail(`the file has no tensor '${name}'`);
  const meaning = new Map((sidecar.tensors ?? []).map((t) => [t.name, t.meaning ?? '']));
  const comparisons: TensorComparison[] = [];
  const compared = new Set<string>();
  const compare = (name: string, group: string, ours: Tensor) => {
    if (!(name in file)) return;
    compared.add(name);
    comparisons.push({ name, group, error: parityError(ours, file[name]) });
  };

  // ------------------------------------------------------------ the networks and the crops
  const { student, teacher } = networksFromConfig(c);
  const params: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(file)) if (name.startsWith('params/')) params[name.slice('params/'.length)] = t;
  student.loadStateDict(params);
  teacher.loadStateDict(params);
  // Inputs, not results: parameters, crops and the k-NN toy data.
  for (const name of Object.keys(file)) if (/^(params|input)\/|^knn\/(train|test)_(features|labels)$/.test(name)) compared.add(name);
  const nCrops = c.n_global_crops + c.n_local_crops;
  if (c.n_global_crops !== 2) fail(`DINO's loss pairs exactly 2 global crops, the config has ${c.n_global_crops}`);
  const crops = Array.from({ length: nCrops }, (_, i) => ref(`input/crop${i}`));
  const dinoLoss = new DINOLoss({
    outDim: c.head_out_dim,
    ncrops: nCrops,
    studentTemp: c.student_temp,
    centerMomentum: c.center_momentum,
    warmupTeacherTemp: c.warmup_teacher_temp ?? c.teacher_temp,
    teacherTemp: c.teacher_temp,
    warmupTeacherTempEpochs: 0,
    epochs: 1,
    dtype: 'float64',
  });
  const trainable = [...student.parameters()].filter((p) => p.requiresGrad);
  const sgd = new SGD(trainable, { lr: c.sgd_lr });

  // ------------------------------------------------------------ the training steps
  const steps = new Set<number>();
  for (const name of Object.keys(file)) {
    const m = /^step(\d+)\//.exec(name);
    if (m) steps.add(Number(m[1]));
  }
  const lastStep = Math.max(0, ...steps);
  for (let step = 1; step <= lastStep; step++) {
    const p = `step${step}/`;
    const groupOf = (key: string) => GROUP_OF_STEP_TENSOR.find(([re]) => re.test(key))?.[1];
    const cmp = (key: string, ours: () => Tensor) => {
      if (`${p}${key}` in file) compare(`${p}${key}`, groupOf(key) ?? 'other', ours());
    };
    for (const name of Object.keys(file)) {
      if (!name.startsWith(p)) continue;
      const key = name.slice(p.length);
      const attn = ATTENTION.exec(key);
      const mask = ATTENTION_MASK.exec(key);
      if (POS_EMBED.test(key)) {
        // The reference names the grid by its size; match it with the crop of that size.
        const size = ref(name).shape[1] - 1;
        const crop = crops.find((x) => (x.shape[2] / c.patch_size) * (x.shape[3] / c.patch_size) === size) ?? fail(`no crop has ${size} patches for ${name}`);
        const vit = student.backbone;
        const tokens = cat([vit.clsToken.expand(crop.shape[0], 1, c.embed_dim), vit.patchEmbed.forward(crop)], 1);
        compare(name, 'positional embedding', vit.interpolatePosEncoding(tokens, crop.shape[2], crop.shape[3]));
      } else if (attn) {
        compare(name, 'attention', student.backbone.getLastSelfAttention(crops[Number(attn[1])]));
      } else if (mask) {
        const a = clsAttention(student.backbone.getLastSelfAttention(crops[Number(mask[1])]));
        compare(name, 'attention masks', attentionMassMask(a, Number(mask[2])));
      }
    }
    cmp('center_before', () => dinoLoss.center);
    student.zeroGrad();
    const studentFeatures = student.backboneFeatures(crops);
    const studentOut = student.head.forward(studentFeatures);
    const teacherFeatures = teacher.backboneFeatures(crops.slice(0, 2));
    const teacherOut = teacher.head.forward(teacherFeatures);
    cmp('student_backbone_out', () => studentFeatures);
    cmp('student_head_out', () => studentOut);
    cmp('teacher_backbone_out', () => teacherFeatures);
    cmp('teacher_head_out', () => teacherOut);
    cmp('teacher_probs', () => dinoLoss.teacherProbs(teacherOut, 0));
    const loss = dinoLoss.forward(studentOut, teacherOut, 0);
    cmp('loss', () => loss);
    cmp('center_after', () => dinoLoss.center);
    loss.backward();
    for (const [key, param] of student.namedParameters()) {
      if (param.requiresGrad) cmp(`grad/${key}`, () => param.grad ?? fail(`${key} got no gradient`));
    }
    sgd.step();
    updateTeacher(teacher, student, c.ema_momentum);
    for (const [key, param] of student.namedParameters()) cmp(`student_after/${key}`, () => param);
    for (const [key, param] of teacher.namedParameters()) cmp(`teacher_after/${key}`, () => param);
    for (const [key, buffer] of student.namedBuffers()) cmp(`student_after/${key}`, () => buffer);
    for (const [key, buffer] of teacher.namedBuffers()) cmp(`teacher_after/${key}`, () => buffer);
  }

  // ------------------------------------------------------------ schedules and k-NN
  for (const name of Object.keys(file)) {
    if (name.startsWith('sched/')) {
      const ours = scheduleFromMeaning(name, meaning.get(name) ?? '');
      compare(name, 'schedules', tensor(ours, { dtype: 'float64' }));
    }
  }
  compareKnn(file, compare);

  const unrecognised = Object.keys(file).filter((n) => !compared.has(n));
  const groups: ParityReport['groups'] = [];
  for (const cmpResult of comparisons) {
    let g = groups.find((x) => x.group === cmpResult.group);
    if (g === undefined) groups.push((g = { group: cmpResult.group, worst: 0, worstTensor: cmpResult.name, count: 0 }));
    g.count++;
    if (!(cmpResult.error <= g.worst)) {
      g.worst = cmpResult.error;
      g.worstTensor = cmpResult.name;
    }
  }
  const worst = comparisons.reduce((w, x) => (x.error <= w ? w : x.error), 0);
  return { comparisons, groups, unrecognised, worst };
}

/**
 * The schedules are described in words by the reference generator, e.g.
 * "cosine_scheduler(base=0.1, final=0.001, epochs=3, niter_per_ep=4, warmup_epochs=1)" or
 * "teacher temperature per epoch, warmup 0.04->0.07 over 3 epochs, 5 epochs".
 */
function scheduleFromMeaning(name: string, text: string): number[] {
  const cosine = /cosine_scheduler\(([^)]*)\)/.exec(text);
  if (cosine) {
    const args = cosine[1].split(',').map((s) => s.trim());
    const named: Record<string, number> = {};
    const positional: number[] = [];
    for (const a of args) {
      const [k, v] = a.includes('=') ? a.split('=').map((s) => s.trim()) : [undefined, a];
      if (k === undefined) positional.push(Number(v));
      else named[k] = Number(v);
    }
    const [base, final, epochs, niter, warmup] = ['base', 'final', 'epochs', 'niter_per_ep', 'warmup_epochs'].map((k, i) => named[k] ?? positional[i]);
    if ([base, final, epochs, niter].some((v) => v === undefined || Number.isNaN(v))) fail(`cannot read the schedule of ${name} from "${text}"`);
    return cosineSchedule(base, final, epochs, niter, { warmupEpochs: warmup ?? 0, startWarmup: named.start_warmup_value ?? 0 });
  }
  const temp = /warmup ([\d.e-]+)\s*->\s*([\d.e-]+) over (\d+) epochs, (\d+) epochs/.exec(text);
  if (temp) {
    return [...teacherTempSchedule({ warmupTeacherTemp: Number(temp[1]), teacherTemp: Number(temp[2]), warmupTeacherTempEpochs: Number(temp[3]), epochs: Number(temp[4]) })];
  }
  return fail(`cannot tell which schedule ${name} holds from its meaning "${text}"`);
}

function compareKnn(file: Record<string, Tensor>, compare: (name: string, group: string, ours: Tensor) => void): void {
  const scoreNames = Object.keys(file).filter((n) => KNN_SCORES.test(n));
  if (scoreNames.length === 0) return;
  const get = (n: string) => file[n] ?? fail(`the file has no tensor '${n}'`);
  const labels = (n: string) => Int32Array.from(get(n).dataSync(), Math.round);
  for (const name of scoreNames) {
    const [, k, T] = KNN_SCORES.exec(name)!;
    const numClasses = get(name).shape[1];
    const result = knnClassifier(get('knn/train_features'), labels('knn/train_labels'), get('knn/test_features'), labels('knn/test_labels'), {
      k: Number(k),
      temperature: Number(T),
      numClasses,
    });
    const numTest = result.predictions.length;
    compare(name, 'k-NN', tensor(result.scores, { shape: [numTest, numClasses], dtype: 'float64' }));
    compare('knn/pred_top1', 'k-NN', tensor(Float64Array.from(result.predictions), { dtype: 'float64' }));
    compare('knn/top1_accuracy', 'k-NN', tensor(result.top1, { dtype: 'float64' }));
  }
}
