"""ctest test_convert_checkpoint: tools/convert_checkpoint.py on PyTorch checkpoints made from the
fixtures' train.safetensors, in the layouts training code writes (plain state_dict, nested under
`model` or `state_dict`, `module.` prefixes, num_batches_tracked buffers, the pre-1.6 file
format). Each conversion must give back the fixture's tensors bit for bit; one per fixture then
goes through the real repmlp-fuse and repmlp-run --expect on lavapipe. Bad checkpoints and
configs must fail with one line naming the tensor, key or file, and leave no file behind.

    /usr/bin/python3 tests/test_convert_checkpoint.py --source SRC --tools BIN --icd LVP.json

Ends with "N passed, M failed"; exits non-zero when anything failed, PyTorch missing included.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

# (set, case, arch, tolerance): the tolerances of test_models_e2e (~10x its worst measured error
# per set). The first case of each set is converted from every layout; the others from the
# full training layout.
FIXTURES = [
    ("block_v1", "gp_c4_k13", "RepMLP", 3e-6),
    ("block_v1", "nogp_c8o12_g2_k3", "RepMLP", 3e-6),
    ("block_v2", "c12_s4_h2w3_k135_r4", "RepMLPBlock", 2e-6),
    ("block_v2", "c8_s2_k13_r4", "RepMLPBlock", 2e-6),
    ("resnet", "bottleneck_w16_32x64_h2w4_g4_r24_red2", "RepMLPResNet", 3e-6),
    ("resnet", "light_w16_img64_h2_g2_k135", "RepMLPResNet", 3e-6),
    ("repmlpnet", "p2_c8_16_32_s2_4_32", "RepMLPNet", 5e-6),
    ("repmlpnet", "in1_12x20_h3w5_h1w5", "RepMLPNet", 5e-6),
]
# A preset whose every key the fixture's config overrides: the preset path, same tensors.
PRESET_OVERRIDES = [
    ("resnet", "light_w16_img64_h2_g2_k135", "RepMLPRes50-Light-224"),
    ("repmlpnet", "p2_c8_16_32_s2_4_32", "RepMLPNet-T224"),
]
TOOL_PRELOAD = "REPMLP_TEST_TOOL_LD_PRELOAD"


def restart_without_preload():
    """The sanitizer run (scripts/test-sanitizers.sh) preloads the ASan runtime for our tools;
    in the interpreter LeakSanitizer would report Python's own memory at exit. Restart without
    it and hand it on to the tools only."""
    preload = os.environ.pop("LD_PRELOAD", None)
    if preload:
        os.environ[TOOL_PRELOAD] = preload
        os.execv(sys.executable, [sys.executable] + sys.argv)


class Context:
    """Paths, the modules under test and a scratch directory."""

    def __init__(self, args, scratch, torch, st):
        self.source, self.tools, self.icd = args.source, args.tools, args.icd
        self.scratch, self.torch, self.st = scratch, torch, st
        self.converter = os.path.join(args.source, "tools", "convert_checkpoint.py")
        self.tool_env = dict(os.environ, VK_ICD_FILENAMES=args.icd)
        if TOOL_PRELOAD in os.environ:
            self.tool_env["LD_PRELOAD"] = os.environ[TOOL_PRELOAD]

    def fixture(self, fset, case):
        return os.path.join(self.source, "tests", "fixtures", fset, case)

    def train(self, fset, case):
        """The fixture's training-time tensors, num_batches_tracked left out."""
        tensors, _ = self.st.load(os.path.join(self.fixture(fset, case), "train.safetensors"))
        return {k: v for k, v in tensors.items() if not k.endswith("num_batches_tracked")}

    def path(self, *parts):
        p = os.path.join(self.scratch, *parts)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        return p


def run(cmd, env=None):
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


def convert(ctx, options, pth, out):
    return run([sys.executable, ctx.converter] + options + [pth, out])


def fixture_options(ctx, fset, case, arch):
    return ["--arch", arch, "--config", "@" + os.path.join(ctx.fixture(fset, case), "config.json")]


# ------------------------------------------------------------------------ checkpoint layouts


def with_num_batches_tracked(sd, torch):
    """sd with each BatchNorm's num_batches_tracked after its running_var, as PyTorch has it."""
    out = {}
    for name, t in sd.items():
        out[name] = t
        if name.endswith("running_var"):
            out[name[: -len("running_var")] + "num_batches_tracked"] = torch.tensor(4711)
    return out


def prefixed(sd):
    return {"module." + name: t for name, t in sd.items()}


def training_checkpoint(sd, torch):
    """What a DataParallel training script saves: epoch, model, optimizer, a metric."""
    return {"epoch": 120, "arch": "repmlp",
            "model": prefixed(with_num_batches_tracked(sd, torch)),
            "optimizer": {"state": {0: {"momentum_buffer": torch.zeros(3)}},
                          "param_groups": [{"lr": 0.1, "momentum": 0.9, "params": [0]}]},
            "best_acc1": 81.25}


# name -> (object to save, written in the pre-1.6 non-zip format)
LAYOUTS = {
    "plain": lambda sd, torch: (sd, False),
    "num_batches_tracked": lambda sd, torch: (with_num_batches_tracked(sd, torch), False),
    "model_key": lambda sd, torch: ({"model": sd, "epoch": 3}, False),
    "state_dict_key": lambda sd, torch: ({"state_dict": sd}, False),
    "module_prefix": lambda sd, torch: (prefixed(sd), False),
    "parameters": lambda sd, torch: ({k: torch.nn.Parameter(t) for k, t in sd.items()}, False),
    "legacy_format": lambda sd, torch: (with_num_batches_tracked(sd, torch), True),
    "training": lambda sd, torch: (training_checkpoint(sd, torch), False),
}


def save_pth(ctx, obj, path, legacy=False):
    ctx.torch.save(obj, path, _use_new_zipfile_serialization=not legacy)
    return path


def assert_same_tensors(ctx, got_path, want):
    got, _ = ctx.st.load(got_path)
    assert list(got) == list(want), "tensor names or order differ: %s" % sorted(
        set(got) ^ set(want))
    torch = ctx.torch
    for name, t in want.items():
        g = got[name]
        assert g.dtype == torch.float32, "%s: dtype %s, not F32" % (name, g.dtype)
        assert g.shape == t.shape, "%s: shape %s, not %s" % (name, list(g.shape), list(t.shape))
        assert torch.equal(g.view(torch.int32), t.float().view(torch.int32)), \
            "%s: values differ" % name


def convert_and_compare(ctx, fset, case, arch, layout, options=None):
    """Saves the fixture in a layout, converts it and compares; returns the converted file."""
    sd = ctx.train(fset, case)
    obj, legacy = LAYOUTS[layout](sd, ctx.torch)
    pth = save_pth(ctx, obj, ctx.path(fset, case, layout + ".pth"))
    out = ctx.path(fset, case, layout + ".safetensors")
    r = convert(ctx, options or fixture_options(ctx, fset, case, arch), pth, out)
    assert r.returncode == 0, "converter exited %d: %s" % (r.returncode, r.stderr.strip())
    assert_same_tensors(ctx, out, sd)
    return out


def fuse_and_run(ctx, fset, case, arch, tolerance, train):
    """repmlp-fuse and repmlp-run --expect, as test_fuse_nets / test_models_e2e call them."""
    d = ctx.fixture(fset, case)
    fused = ctx.path(fset, case, "fused.safetensors")
    r = run([os.path.join(ctx.tools, "repmlp-fuse")] + fixture_options(ctx, fset, case, arch)
            + [train, fused], ctx.tool_env)
    assert r.returncode == 0, "repmlp-fuse exited %d: %s" % (r.returncode, r.stderr.strip())
    r = run([os.path.join(ctx.tools, "repmlp-run"), fused,
             "--input", os.path.join(d, "input.safetensors"),
             "--output", ctx.path(fset, case, "output.safetensors"),
             "--expect", os.path.join(d, "expected.safetensors"), "--tolerance", str(tolerance),
             "--device", "llvmpipe", "--validation"], ctx.tool_env)
    text = (r.stdout + r.stderr).strip()
    assert r.returncode == 0 and "PASS" in text, \
        "repmlp-run exited %d: %s" % (r.returncode, text.replace("\n", " | "))


# ------------------------------------------------------------------------ failures


def expect_failure(ctx, name, options, obj, token, code=1, pth=None, out_dir=None):
    """The converter fails with `code` and one stderr line holding `token`, and writes nothing:
    out_dir (OUT's directory) stays empty."""
    if pth is None:
        pth = save_pth(ctx, obj, ctx.path("fail", name + ".pth"))
    out_dir = out_dir or os.path.dirname(ctx.path("fail", name, "out", "x"))
    out = os.path.join(out_dir, "out.safetensors")
    r = convert(ctx, options, pth, out)
    lines = r.stderr.splitlines()
    assert r.returncode == code, "exit status %d, expected %d (stderr: %s)" % (
        r.returncode, code, r.stderr.strip())
    assert len(lines) == 1 and not r.stdout, "not one line on stderr: %r" % (r.stdout + r.stderr)
    assert token in lines[0], "the message does not name %r: %s" % (token, lines[0])
    left = os.listdir(out_dir) if os.path.isdir(out_dir) else []
    assert not left, "left files behind: %s" % left
    print("    " + lines[0])


class RunsCode:
    """Unpickling this would create a directory: a stand-in for a malicious checkpoint."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def no_code_runs(ctx, options):
    marker = ctx.path("fail", "code-ran")
    sd = dict(ctx.train(*BLOCK[:2]), extra=RunsCode(marker))
    expect_failure(ctx, "runs_code", options, {"model": sd}, "mkdir")
    assert not os.path.exists(marker), "the checkpoint's code ran"


def _set_nan(sd, torch):
    sd["fc3_bn.running_var"] = sd["fc3_bn.running_var"].clone()
    sd["fc3_bn.running_var"][5] = float("nan")


# (case, edit of block_v1/gp_c4_k13's state_dict, the tensor the message must name)
BAD_TENSORS = [
    ("missing tensor", lambda sd, torch: sd.pop("fc3.weight"), "fc3.weight"),
    ("unexpected tensor", lambda sd, torch: sd.update({"fc3.bias": torch.zeros(64)}),
     "fc3.bias"),
    ("wrong shape", lambda sd, torch: sd.update(
        {"repconv3.conv.weight": sd["repconv3.conv.weight"][:, :, :2, :2]}),
     "repconv3.conv.weight"),
    ("NaN weight", _set_nan, "fc3_bn.running_var"),
    ("non-tensor entry", lambda sd, torch: sd.update({"fc3_bn.weight": [1.0] * 64}),
     "fc3_bn.weight"),
    ("integer tensor", lambda sd, torch: sd.update(
        {"fc1_fc2.fc1.bias": sd["fc1_fc2.fc1.bias"].long()}), "fc1_fc2.fc1.bias"),
    ("tensor with and without module.", lambda sd, torch: sd.update(
        {"module.fc3.weight": sd["fc3.weight"]}), "fc3.weight"),
]
BLOCK = ("block_v1", "gp_c4_k13", "RepMLP")
NET = ("repmlpnet", "p2_c8_16_32_s2_4_32")


def bad_tensor(ctx, name, edit, tensor):
    sd = ctx.train(*BLOCK[:2])
    edit(sd, ctx.torch)
    expect_failure(ctx, name, fixture_options(ctx, *BLOCK), sd, "'%s'" % tensor)


def bad_file(ctx, name, content):
    """A checkpoint file holding `content` bytes (None: no file at all)."""
    pth = ctx.path("fail", name + ".pth")
    if content is not None:
        with open(pth, "wb") as f:
            f.write(content)
    expect_failure(ctx, name, fixture_options(ctx, *BLOCK), None, pth, pth=pth)


def truncated(ctx):
    pth = save_pth(ctx, ctx.train(*BLOCK[:2]), ctx.path("fail", "whole.pth"))
    with open(pth, "rb") as f:
        data = f.read()
    return data[: len(data) // 2]


def bad_config(ctx):
    path = ctx.path("fail", "bad_config.json")
    with open(os.path.join(ctx.fixture(*BLOCK[:2]), "config.json")) as f:
        cfg = dict(json.load(f), fc3_group=2)
    with open(path, "w") as f:
        json.dump(cfg, f)
    expect_failure(ctx, "bad_config", ["--arch", BLOCK[2], "--config", "@" + path],
                   ctx.train(*BLOCK[:2]), "fc3_group")


def failure_cases(ctx):
    """(name, function) for every bad input."""
    options = fixture_options(ctx, *BLOCK)
    no_dir = os.path.join(ctx.scratch, "no-such-dir")
    out = [(name, lambda n=name, e=edit, t=tensor: bad_tensor(ctx, n, e, t))
           for name, edit, tensor in BAD_TENSORS]
    return out + [
        ("unreadable file", lambda: bad_file(ctx, "missing_file", None)),
        ("not a checkpoint", lambda: bad_file(ctx, "garbage", bytes(range(256)) * 8)),
        ("truncated checkpoint", lambda: bad_file(ctx, "truncated", truncated(ctx))),
        ("pickled module object", lambda: expect_failure(
            ctx, "module_object", options, ctx.torch.nn.Linear(2, 2), "Linear")),
        ("pickle that would run code", lambda: no_code_runs(ctx, options)),
        ("unknown config key", lambda: bad_config(ctx)),
        ("preset of another size", lambda: expect_failure(
            ctx, "preset", ["--preset", "RepMLPNet-T224"], ctx.train(*NET),
            "'conv_embedding.conv.weight'")),
        ("preset of another arch", lambda: expect_failure(
            ctx, "preset_arch", ["--arch", "RepMLP", "--preset", "RepMLPNet-T224"],
            ctx.train(*NET), "RepMLPNet-T224", code=2)),
        ("output directory missing", lambda: expect_failure(
            ctx, "no_dir", options, ctx.train(*BLOCK[:2]), no_dir, out_dir=no_dir)),
    ]


# ------------------------------------------------------------------------ driver


def cases(ctx):
    """(name, function) for every check."""
    out = []
    first = set()
    for fset, case, arch, tol in FIXTURES:
        if fset not in first:  # every layout but the training one (that goes end to end)
            first.add(fset)
            for layout in LAYOUTS:
                if layout != "training":
                    out.append(("%s/%s from %s" % (fset, case, layout),
                                lambda f=fset, c=case, a=arch, l=layout:
                                convert_and_compare(ctx, f, c, a, l)))

        def end_to_end(f=fset, c=case, a=arch, t=tol):
            fuse_and_run(ctx, f, c, a, t, convert_and_compare(ctx, f, c, a, "training"))

        out.append(("%s/%s from a training checkpoint, fused and run" % (fset, case),
                    end_to_end))
    for fset, case, preset in PRESET_OVERRIDES:
        options = ["--preset", preset, "--config",
                   "@" + os.path.join(ctx.fixture(fset, case), "config.json")]
        out.append(("%s/%s as --preset %s with every key overridden" % (fset, case, preset),
                    lambda f=fset, c=case, o=options: convert_and_compare(
                        ctx, f, c, None, "module_prefix", o)))
    out += [("fails: " + name, fn) for name, fn in failure_cases(ctx)]
    return out


def main():
    restart_without_preload()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", required=True, help="the source tree")
    ap.add_argument("--tools", required=True, help="where repmlp-fuse and repmlp-run are")
    ap.add_argument("--icd", required=True, help="lavapipe's Vulkan ICD manifest")
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        print("FAIL: PyTorch is missing: install Debian's python3-torch "
              "(scripts/install-deps.sh installs it)")
        print("0 passed, 1 failed")
        return 1
    if not os.path.isfile(args.icd):
        print("FAIL: lavapipe's manifest %s is missing: install mesa-vulkan-drivers" % args.icd)
        print("0 passed, 1 failed")
        return 1
    sys.path.insert(0, os.path.join(args.source, "tools", "fixtures"))
    import st

    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="test_convert_checkpoint.") as scratch:
        ctx = Context(args, scratch, torch, st)
        for name, fn in cases(ctx):
            try:
                fn()
                print("ok   " + name)
                passed += 1
            except Exception as e:  # AssertionError or anything unexpected: one failed case
                print("FAIL %s: %s" % (name, e if isinstance(e, AssertionError) else repr(e)))
                failed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
