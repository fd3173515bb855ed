"""PyTorch peer for the dinots benchmarks: times one case on the CPU and reports back.

    python3 peer.py JOB_DIR
    python3 peer.py --info      torch's version, the BLAS library it loads, its default threads

The Node runner (benchmarks/pytorch.ts) writes JOB_DIR/job.json and JOB_DIR/inputs.bin
(the case's inputs and weights as raw little-endian arrays, the same numbers the other
implementations get), runs this script, and reads JOB_DIR/report.json and
JOB_DIR/result.bin (the first step's result, float32) for the agreement check.

Cases, with the same math as the TypeScript ones:
  sgemm        C = A B                                   (benchmarks/kernels.ts)
  vit-forward  the benchmark ViT's logits                (benchmarks/vit.ts)
  vit-train    its loss, backward and SGD update; result: loss and one weight's gradient
  dino-train   one DINO iteration (benchmarks/dino.ts); its own random weights, so
               timing only (result: none)

With "profileSteps": N in job.json, the script instead runs "warmupSteps" steps and N steps
under torch.profiler, and writes JOB_DIR/profile.json: the mean time per step by phase and
op family (benchmarks/profile.ts, which puts it beside dinots' own profile).

Sampling follows the harness (benchmarks/harness.ts): one first step (the result, and a
warm-up), then as many samples as fit the time budget (at least 5 up to 2 s a step, 3 up
to 20 s, 1 above), a warm-up of "warmupMs" and "warmupSteps" steps (the harness's WARMUP_MS
and WARMUP_STEPS, in job.json) when there are more than 3, and a full garbage collection
before every sample. Needs only torch (no numpy).
"""

import array
import gc
import json
import math
import os
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd.profiler import record_function

DTYPES = {"float32": (torch.float32, 4), "int32": (torch.int32, 4)}


def load_inputs(job_dir, specs):
    """The job's named tensors, from inputs.bin at the offsets job.json gives."""
    with open(os.path.join(job_dir, "inputs.bin"), "rb") as f:
        raw = bytearray(f.read())
    out = {}
    for s in specs:
        dtype, size = DTYPES[s["dtype"]]
        n = math.prod(s["shape"])
        t = torch.frombuffer(raw, dtype=dtype, count=n, offset=s["offset"]) if n > 0 else torch.empty(0, dtype=dtype)
        out[s["name"]] = t.clone().reshape(s["shape"])
    return out


def rss_mib():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def peak_rss_mib():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def measure(step, time_ms, max_samples, warmup_ms, warmup_steps):
    """Times `step` as the harness does; returns (first result, latencies in ms)."""
    gc.collect()
    t0 = time.perf_counter()
    result = step()
    first_ms = (time.perf_counter() - t0) * 1000
    least = 1 if first_ms > 20_000 else 3 if first_ms > 2_000 else 5
    samples = max(least, min(max_samples, math.floor(time_ms / max(first_ms, 1e-3))))
    if samples > 3:
        # as tinybench counts a warm-up: steps, and the steps' own time (not the collections')
        warmed, warmed_ms = 0, 0.0
        while warmed < warmup_steps or warmed_ms < warmup_ms:
            gc.collect()
            t = time.perf_counter()
            step()
            warmed_ms += (time.perf_counter() - t) * 1000
            warmed += 1
    latencies = []
    for _ in range(samples):
        gc.collect()
        t0 = time.perf_counter()
        step()
        latencies.append((time.perf_counter() - t0) * 1000)
    return result, latencies


# ------------------------------------------------------------------ the benchmark ViT (vit.ts)


def vit_logits(w, images, p):
    """Pre-norm ViT with weights stored [in, out] (x @ W + b), as vit.ts's oursForward."""
    batch, tokens, dim, heads, depth, eps = p["batch"], p["tokens"], p["dim"], p["heads"], p["depth"], p["eps"]

    def linear(x, name):
        return x @ w[name + ".w"] + w[name + ".b"]

    def norm(x, name):
        return F.layer_norm(x, (dim,), w[name + ".w"], w[name + ".b"], eps)

    x = linear(images, "patch")
    x = torch.cat([w["cls"].expand(batch, 1, dim), x], 1) + w["pos"]
    for i in range(depth):
        b = f"block{i}"
        qkv = linear(norm(x, b + ".norm1"), b + ".qkv").reshape(batch, tokens, 3, heads, dim // heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = torch.softmax((q @ k.transpose(-1, -2)) * (1 / math.sqrt(dim // heads)), -1)
        o = (attn @ v).permute(0, 2, 1, 3).reshape(batch, tokens, dim)
        x = x + linear(o, b + ".proj")
        x = x + linear(F.gelu(linear(norm(x, b + ".norm2"), b + ".fc1")), b + ".fc2")
    return linear(norm(x, "norm")[:, 0], "head")


def vit_step(inputs, p, train):
    names = p["weights"]
    w = {n: inputs[n].requires_grad_(train) for n in names}
    images = inputs["images"]
    labels = inputs["labels"].long().reshape(-1)
    params = [w[n] for n in names]
    checked = names.index(p["checkedGrad"])
    if not train:
        def forward():
            with torch.no_grad():
                return vit_logits(w, images, p).flatten()
        return forward

    def train_step():
        loss = F.cross_entropy(vit_logits(w, images, p), labels)
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for param, g in zip(params, grads):
                param.sub_(g, alpha=p["lr"])
        return torch.cat([loss.detach().reshape(1), grads[checked].flatten()])
    return train_step


# ------------------------------------------------------------------ DINO (dino.ts; official DINO code)


class DropPath(nn.Module):
    def __init__(self, rate):
        super().__init__()
        self.rate = rate

    def forward(self, x):
        if self.rate == 0 or not self.training:
            return x
        keep = 1 - self.rate
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x.div(keep) * mask


class Block(nn.Module):
    def __init__(self, dim, heads, drop_path):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.qkv = nn.Linear(dim, 3 * dim, bias=True)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.fc2 = nn.Linear(4 * dim, dim)
        self.drop_path = DropPath(drop_path)

    def attention(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = ((q @ k.transpose(-2, -1)) * (C // self.heads) ** -0.5).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(B, N, C))

    def forward(self, x):
        x = x + self.drop_path(self.attention(self.norm1(x)))
        return x + self.drop_path(self.fc2(F.gelu(self.fc1(self.norm2(x)))))


class VisionTransformer(nn.Module):
    def __init__(self, img, patch, dim, depth, heads, drop_path_rate):
        super().__init__()
        self.patch = patch
        self.patch_embed = nn.Conv2d(3, dim, patch, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, (img // patch) ** 2 + 1, dim))
        rates = torch.linspace(0, drop_path_rate, depth)
        self.blocks = nn.ModuleList([Block(dim, heads, r.item()) for r in rates])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)

    def interpolate_pos_encoding(self, x, w, h):
        npatch, N = x.shape[1] - 1, self.pos_embed.shape[1] - 1
        if npatch == N and w == h:
            return self.pos_embed
        dim = x.shape[-1]
        w0, h0 = w // self.patch + 0.1, h // self.patch + 0.1
        s = int(math.sqrt(N))
        grid = self.pos_embed[:, 1:].reshape(1, s, s, dim).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, scale_factor=(w0 / s, h0 / s), mode="bicubic")
        return torch.cat((self.pos_embed[:, :1], grid.permute(0, 2, 3, 1).reshape(1, -1, dim)), dim=1)

    def forward(self, x):
        _, _, w, h = x.shape
        t = self.patch_embed(x).flatten(2).transpose(1, 2)
        t = torch.cat((self.cls_token.expand(t.shape[0], -1, -1), t), dim=1)
        t = t + self.interpolate_pos_encoding(t, w, h)
        for block in self.blocks:
            t = block(t)
        return self.norm(t)[:, 0]


class DINOHead(nn.Module):
    def __init__(self, in_dim, out_dim, hidden=2048, bottleneck=256):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(in_dim, hidden), nn.GELU(), nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, bottleneck))
        for m in self.mlp:
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)
        # weight_norm(Linear(bottleneck, out_dim, bias=False)) with g frozen at 1 (norm_last_layer)
        self.weight_g = nn.Parameter(torch.ones(out_dim, 1), requires_grad=False)
        self.weight_v = nn.Parameter(torch.empty(out_dim, bottleneck))
        nn.init.kaiming_uniform_(self.weight_v, a=math.sqrt(5))

    def forward(self, x):
        z = F.normalize(self.mlp(x), dim=-1, p=2)
        return z @ (self.weight_v * (self.weight_g / self.weight_v.norm(dim=1, keepdim=True))).t()


class MultiCrop(nn.Module):
    def __init__(self, backbone, head):
        super().__init__()
        self.backbone, self.head = backbone, head

    def forward(self, crops):
        runs, start = [], 0
        while start < len(crops):  # consecutive crops of one width go through the backbone together
            end = start + 1
            while end < len(crops) and crops[end].shape[-1] == crops[start].shape[-1]:
                end += 1
            runs.append(self.backbone(torch.cat(crops[start:end])))
            start = end
        return self.head(torch.cat(runs))


def dino_step(p):
    torch.manual_seed(0)
    ncrops = 2 + p["localCrops"]

    def network(drop_path_rate):
        backbone = VisionTransformer(p["globalSize"], p["patchSize"], p["embedDim"], p["depth"], p["numHeads"], drop_path_rate)
        return MultiCrop(backbone, DINOHead(p["embedDim"], p["outDim"]))

    student, teacher = network(p["dropPathRate"]), network(0.0)
    teacher.load_state_dict(student.state_dict())
    for t in teacher.parameters():
        t.requires_grad_(False)
    regularized = [q for n, q in student.named_parameters() if q.requires_grad and not (n.endswith(".bias") or q.ndim == 1)]
    not_regularized = [q for n, q in student.named_parameters() if q.requires_grad and (n.endswith(".bias") or q.ndim == 1)]
    optimizer = torch.optim.AdamW([{"params": regularized, "weight_decay": p["weightDecay"]}, {"params": not_regularized, "weight_decay": 0.0}], lr=p["lr"])
    center = torch.zeros(1, p["outDim"])
    crops = [torch.randn(p["batch"], 3, s, s) for s in [p["globalSize"]] * 2 + [p["localSize"]] * p["localCrops"]]
    student.train()
    teacher.train()

    def step():
        nonlocal center
        with torch.no_grad():
            teacher_out = teacher(crops[:2])
        student_out = student(crops)
        probs = torch.softmax((teacher_out - center) / p["teacherTemp"], dim=-1)
        s_out = (student_out / 0.1).log_softmax(dim=-1).chunk(ncrops)
        total, terms = 0.0, 0
        for iq, q in enumerate(probs.chunk(2)):
            for v in range(ncrops):
                if v != iq:
                    total = total + torch.sum(-q * s_out[v], dim=-1).mean()
                    terms += 1
        loss = total / terms
        with torch.no_grad():
            center = center * 0.9 + teacher_out.mean(dim=0, keepdim=True) * 0.1
        values = torch.cat([loss.detach().reshape(1), probs.flatten()])
        if not math.isfinite(values[0].item()):
            raise RuntimeError(f"DINO step: the loss is {values[0].item()}")
        optimizer.zero_grad()
        with record_function("backward"):
            loss.backward()
        with record_function("gradient clipping"):
            for q in student.parameters():  # utils.clip_gradients: per tensor
                if q.grad is not None:
                    coef = p["clipGrad"] / (q.grad.norm(2) + 1e-6)
                    if coef < 1:
                        q.grad.mul_(coef)
        with record_function("optimizer"):
            optimizer.step()
        optimizer.zero_grad()
        with torch.no_grad(), record_function("EMA"):
            for qs, qt in zip(student.parameters(), teacher.parameters()):
                qt.mul_(p["momentum"]).add_(qs.detach(), alpha=1 - p["momentum"])
        return None
    return step


# ------------------------------------------------------------------ the profile (benchmarks/profile.ts)

# aten ops by the op family of dinots' profiler (packages/tensor/src/profiler.ts). Only each
# op's self time counts, so a composite (aten::linear -> aten::addmm) is not counted twice;
# ops not named here are movement and dispatch (views, detach, chunk), whose self time
# counts as overhead, except those that compute elementwise (ELEMENTWISE_DEFAULT).
FAMILIES = {
    "GEMM": {"aten::mm", "aten::addmm", "aten::mkldnn_convolution", "aten::convolution_backward"},
    "batched GEMM": {"aten::bmm", "aten::baddbmm"},
    "softmax": {"aten::_softmax", "aten::_log_softmax", "aten::_softmax_backward_data", "aten::_log_softmax_backward_data"},
    "LayerNorm": {"aten::native_layer_norm", "aten::native_layer_norm_backward"},
    "GELU": {"aten::gelu", "aten::gelu_backward"},
    "copy": {"aten::copy_", "aten::cat", "aten::clone"},
    "allocation": {"aten::empty", "aten::empty_strided", "aten::empty_like", "aten::resize_", "aten::zeros", "aten::new_empty", "aten::new_empty_strided"},
    "reduction": {"aten::sum", "aten::mean", "aten::norm", "aten::linalg_vector_norm", "aten::max", "aten::amax"},
    "indexing": {"aten::index", "aten::gather", "aten::scatter_add_", "aten::index_select", "aten::upsample_bicubic2d", "aten::upsample_bicubic2d_backward"},
}
MOVEMENT = {
    "aten::view", "aten::reshape", "aten::_reshape_alias", "aten::permute", "aten::transpose", "aten::t", "aten::expand",
    "aten::select", "aten::slice", "aten::unsqueeze", "aten::squeeze", "aten::chunk", "aten::split", "aten::narrow",
    "aten::as_strided", "aten::detach", "detach", "aten::alias", "aten::unbind", "aten::flatten", "aten::linear",
    "aten::matmul", "aten::conv2d", "aten::convolution", "aten::_convolution", "aten::contiguous", "aten::to",
    "aten::_to_copy", "aten::item", "aten::_local_scalar_dense", "aten::is_nonzero", "aten::numpy_T", "aten::expand_as",
    "aten::softmax", "aten::log_softmax", "aten::layer_norm", "aten::dropout", "aten::result_type", "aten::zeros_like",
    "aten::lift_fresh", "aten::stack",
}
RANGES = ("backward", "optimizer", "gradient clipping", "EMA")


def family_of(name):
    for family, names in FAMILIES.items():
        if name in names:
            return family
    if name.startswith("aten::") and name not in MOVEMENT:
        return "elementwise"
    return None


def phase_of(event):
    e = event.cpu_parent
    while e is not None:
        if e.name in RANGES:
            return e.name
        e = e.cpu_parent
    return "forward"


def profile_step(step, steps, warmup_steps):
    """Per-step means of self time by (phase, family) and of each range, under torch.profiler."""
    from torch.profiler import ProfilerActivity, profile
    for _ in range(warmup_steps):
        step()
    cells, ranges, total = {}, {}, 0.0
    for _ in range(steps):
        gc.collect()
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            t0 = time.perf_counter()
            step()
            total += (time.perf_counter() - t0) * 1000
        for e in prof.events():
            if e.name in RANGES:
                ranges[e.name] = ranges.get(e.name, 0.0) + e.cpu_time_total / 1000
                continue
            family = family_of(e.name)
            if family is None:
                continue
            cell = cells.setdefault((phase_of(e), family), [0, 0.0])
            cell[0] += 1
            cell[1] += e.self_cpu_time_total / 1000
    return {
        "totalMs": total / steps,
        "rows": [{"phase": ph, "family": fa, "calls": c / steps, "ms": ms / steps} for (ph, fa), (c, ms) in cells.items()],
        "ranges": [{"name": n, "calls": 1, "ms": ms / steps} for n, ms in ranges.items()],
    }


def blas_library():
    """The BLAS library torch has loaded (the file name from /proc/self/maps), after one product."""
    torch.mm(torch.ones(8, 8), torch.ones(8, 8))
    try:
        with open("/proc/self/maps") as f:
            names = [line.split()[-1] for line in f if "blas" in line.lower().rsplit("/", 1)[-1]]
    except OSError:
        return "unknown"
    return os.path.basename(names[0]) if names else "none loaded (torch's own kernels)"


def main():
    if sys.argv[1] == "--info":
        print(json.dumps({"torch": torch.__version__, "blas": blas_library(), "defaultThreads": torch.get_num_threads()}))
        return
    job_dir = sys.argv[1]
    with open(os.path.join(job_dir, "job.json")) as f:
        job = json.load(f)
    torch.set_num_threads(job["threads"])
    gc.collect()
    rss_start = rss_mib()  # the peak covers setup, the first step, warm-up and samples, as in the harness
    reset_peak_rss()
    inputs = load_inputs(job_dir, job["tensors"])
    case, p = job["case"], job["params"]
    if case == "sgemm":
        a, b = inputs["a"], inputs["b"]
        step = lambda: torch.mm(a, b).flatten()
    elif case in ("vit-forward", "vit-train"):
        step = vit_step(inputs, p, case == "vit-train")
    elif case == "dino-train":
        step = dino_step(p)
    else:
        raise SystemExit(f"peer.py: unknown case {case!r}")
    if job.get("profileSteps"):
        with open(os.path.join(job_dir, "profile.json"), "w") as f:
            json.dump(profile_step(step, job["profileSteps"], job["warmupSteps"]), f)
        return
    result, latencies = measure(step, job["timeMs"], job["maxSamples"], job["warmupMs"], job["warmupSteps"])
    peak = peak_rss_mib()
    if result is not None:
        with open(os.path.join(job_dir, "result.bin"), "wb") as f:
            f.write(array.array("f", result.detach().float().tolist()).tobytes())
    with open(os.path.join(job_dir, "report.json"), "w") as f:
        json.dump({
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "blas": blas_library(),
            "latenciesMs": latencies,
            "rssAtStartMiB": rss_start,
            "peakRssMiB": peak,
            "result": result is not None,
        }, f)


if __name__ == "__main__":
    main()
