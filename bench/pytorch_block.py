"""PyTorch CPU baseline for the deploy-form RepMLP v1 block (docs/MODELS.md §1), for bench/run.sh.

usage: /usr/bin/python3 bench/pytorch_block.py FUSED.safetensors --batch N [--threads 2]
           [--repeat R] [--warmup W] [--forms] [--json]

Loads a fused file written by repmlp-fuse, runs the deploy forward in several forms ("conv":
fc3 as a grouped 1x1 F.conv2d; "bmm": fc3 as torch.baddbmm per group; "jit": the faster of the
two traced and frozen), checks that they agree on a seeded random input, times each (warm-up,
then R runs; median and min in ms) and reports the fastest as the best form, with the torch
version and the BLAS library torch actually loaded (from /proc/self/maps). --forms prints every
form's timing; --json prints one JSON line instead. Errors: one line on stderr, exit 1."""
import argparse
import json
import os
import re
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools",
                                "fixtures"))
import st  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

KEYS = ("in_channels", "out_channels", "H", "W", "h", "w", "fc1_fc2_reduction", "fc3_groups")


class Fail(Exception):
    pass


class Deploy(torch.nn.Module):
    """Deploy-form RepMLP v1 block; `form` selects how fc3 is computed."""

    def __init__(self, cfg, t, form):
        super().__init__()
        self.C, self.O, self.H, self.W, self.h, self.w, r, self.g = (cfg[k] for k in KEYS)
        self.hp, self.wp = self.H // self.h, self.W // self.w
        self.gp = self.H != self.h or self.W != self.w
        self.form = form
        for name, v in t.items():
            self.register_buffer(name.replace(".", "_"), v)
        og = self.O * self.h * self.w // self.g
        # (g, K/g, O*h*w/g) view of fc3.weight and (g, 1, O*h*w/g) of its bias for baddbmm.
        self.wt = self.fc3_weight.reshape(self.g, og, -1).transpose(1, 2)
        self.bt = self.fc3_bias.reshape(self.g, 1, og)

    def forward(self, x):
        n, C, h, w, hp, wp = x.shape[0], self.C, self.h, self.w, self.hp, self.wp
        if self.gp:
            v = F.avg_pool2d(x, (h, w), (h, w)).reshape(n, C * hp * wp)
            v = F.relu(F.linear(v, self.fc1_fc2_fc1_weight, self.fc1_fc2_fc1_bias))
            v = F.linear(v, self.fc1_fc2_fc2_weight, self.fc1_fc2_fc2_bias)
            x = x.reshape(n, C, hp, h, wp, w) + v.reshape(n, C, hp, 1, wp, 1)
        p = x.reshape(n, C, hp, h, wp, w).permute(0, 2, 4, 1, 3, 5).reshape(n * hp * wp, -1)
        if self.form == "conv":
            y = F.conv2d(p.reshape(n * hp * wp, -1, 1, 1), self.fc3_weight, self.fc3_bias,
                         groups=self.g)
        else:
            a = p.reshape(n * hp * wp, self.g, -1).transpose(0, 1)
            y = torch.baddbmm(self.bt, a, self.wt).transpose(0, 1)
        y = y.reshape(n, hp, wp, self.O, h, w).permute(0, 3, 1, 4, 2, 5)
        return y.reshape(n, self.O, self.H, self.W)


def load(path):
    """Returns (config dict, tensor dict) of a fused file; raises Fail naming what is wrong."""
    if not os.path.isfile(path):
        raise Fail("%s: no such file" % path)
    try:
        t, meta = st.load(path)
        cfg = json.loads(meta["config"])
    except Exception as e:  # truncated or malformed file, no config, bad JSON
        raise Fail("%s: not a fused safetensors file with a config (%s)" % (path, e))
    for k in KEYS:
        if not isinstance(cfg.get(k), int) or cfg[k] <= 0:
            raise Fail("%s: config key %s missing or not a positive integer" % (path, k))
    C, O, H, W, h, w, r, g = (cfg[k] for k in KEYS)
    if H % h or W % w or (C * h * w) % g or (O * h * w) % g:
        raise Fail("%s: config H, W, h, w, fc3_groups inconsistent" % path)
    cpp = C * (H // h) * (W // w)
    shapes = {"fc3.weight": (O * h * w, C * h * w // g, 1, 1), "fc3.bias": (O * h * w,)}
    if H != h or W != w:
        shapes.update({"fc1_fc2.fc1.weight": (cpp // r, cpp), "fc1_fc2.fc1.bias": (cpp // r,),
                       "fc1_fc2.fc2.weight": (cpp, cpp // r), "fc1_fc2.fc2.bias": (cpp,)})
    for name, shape in shapes.items():
        if name not in t:
            raise Fail("%s: missing tensor %s" % (path, name))
        if tuple(t[name].shape) != shape or t[name].dtype != torch.float32:
            raise Fail("%s: tensor %s is %s %s, expected F32 %s"
                       % (path, name, t[name].dtype, list(t[name].shape), list(shape)))
    return cfg, {k: t[k] for k in shapes}


def blas_libs():
    """Paths of BLAS-like libraries mapped into this process."""
    pat = re.compile(r"(openblas|libblas|mkl|blis|atlas|flexiblas)", re.I)
    with open("/proc/self/maps") as f:
        paths = [ln.split(None, 5)[5].strip() for ln in f if len(ln.split(None, 5)) == 6]
    return sorted({p for p in paths if pat.search(os.path.basename(p))})


def bench(fn, x, warmup, repeat):
    for _ in range(warmup):
        fn(x)
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(x)
        ts.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ts), min(ts)


def rel_err(a, b):
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-30)).item()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("fused")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--forms", action="store_true", help="print every form's timing")
    ap.add_argument("--json", action="store_true", help="print one JSON line")
    a = ap.parse_args()
    if a.batch < 1 or a.threads < 1 or a.repeat < 1 or a.warmup < 0:
        raise Fail("--batch, --threads, --repeat must be >= 1 and --warmup >= 0")
    torch.set_num_threads(a.threads)
    cfg, t = load(a.fused)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(a.batch, cfg["in_channels"], cfg["H"], cfg["W"], generator=gen)
    with torch.inference_mode():
        models = {f: Deploy(cfg, t, f).eval() for f in ("conv", "bmm")}
        ref = models["conv"](x)
        err = rel_err(models["bmm"](x), ref)
        if err > 1e-4:
            raise Fail("%s: conv and bmm forms differ (relative %.2e)" % (a.fused, err))
        res = {f: bench(m, x, a.warmup, a.repeat) for f, m in models.items()}
        fast = min(res, key=lambda f: res[f][0])
    with torch.no_grad():  # tracing does not work under inference_mode in torch 1.13
        jit = torch.jit.freeze(torch.jit.trace(models[fast], x, check_trace=False).eval())
    with torch.inference_mode():
        err = max(err, rel_err(jit(x), ref))
        if err > 1e-4:
            raise Fail("%s: jit form differs from conv (relative %.2e)" % (a.fused, err))
        res["jit"] = bench(jit, x, a.warmup, a.repeat)
    best = min(res, key=lambda f: res[f][0])
    blas = ", ".join(blas_libs()) or "none found"
    if a.json:
        print(json.dumps({"torch": torch.__version__, "blas": blas, "threads": a.threads,
                          "batch": a.batch, "best_form": best, "median_ms": round(res[best][0], 3),
                          "min_ms": round(res[best][1], 3),
                          "forms": {f: round(m, 3) for f, (m, _) in res.items()}}))
        return
    print("torch %s, %d threads, blas: %s" % (torch.__version__, a.threads, blas))
    print("%s batch %d: forms agree (max relative difference %.1e)" % (a.fused, a.batch, err))
    for f in res if a.forms else [best]:
        print("%-4s median %.3f ms, min %.3f ms%s"
              % (f, res[f][0], res[f][1], "  (best)" if f == best else ""))


if __name__ == "__main__":
    try:
        main()
    except Fail as e:
        print("pytorch_block: %s" % e, file=sys.stderr)
        sys.exit(1)
