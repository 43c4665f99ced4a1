"""Compiles the library's real pipelines for AMD GPUs without one (RADV's null device: Mesa's
RADV with RADV_FORCE_FAMILY compiles with ACO and reports each pipeline's statistics, but
cannot run), and fails when a pipeline does not compile, when the built-in kernel choice
spills registers or uses scratch memory, or when a GEMM/conv op of the built-in choice runs
workgroups that leave more than half of their subgroups' lanes idle (a workgroup of 8
invocations in a 64-lane wave). Run by scripts/check-gpu-compile.sh.

    python3 scripts/check_gpu_compile.py BUILD [--out bench/RESULTS-gpu-compile.md]
        [--weights DIR] [--jobs N]

Coverage (each a `repmlp-bench --compile-stats --json` session, real specialization
constants, built-in kernel choice):
  - the full-size presets RepMLPNet-T224, RepMLPNet-B224 and RepMLPRes50-Light-224 (random
    weights: tools/fixtures/make_preset_weights.py --weights-only, kept in --weights DIR when
    given) at batch 1 and 32 on every configuration below;
  - the digits example and every test fixture (tests/fixtures) at batch 1 and 32 on one
    configuration (FIXTURE_CONFIG: they are small, and the presets already cover every
    kernel shape class on every family);
  - every row of shaders/shader_list.h on every configuration (repmlp-compile-rows: one
    realistic shape each; rows the device lacks a feature for are skipped by name).
Configurations: polaris10 (GCN4), vega10 (GCN5), navi21 (RDNA2), gfx1100 (RDNA3) in wave64,
and the RDNA ones again in wave32 (RADV_PERFTEST=cswave32).
"""

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RADV_ICD = "/usr/share/vulkan/icd.d/radeon_icd.x86_64.json"
CONFIGS = [  # (name, family, wave32)
    ("polaris10", "polaris10", False),
    ("vega10", "vega10", False),
    ("navi21", "navi21", False),
    ("gfx1100", "gfx1100", False),
    ("navi21-wave32", "navi21", True),
    ("gfx1100-wave32", "gfx1100", True),
]
FIXTURE_CONFIG = "navi21"
PRESETS = ["RepMLPNet-T224", "RepMLPNet-B224", "RepMLPRes50-Light-224"]
BATCHES = [1, 32]
FIXTURE_ARCHS = {"block_v1": "RepMLP", "block_v2": "RepMLPBlock", "resnet": "RepMLPResNet",
                 "repmlpnet": "RepMLPNet"}
SPILL_KEYS = ("spilled_vgprs", "spilled_sgprs", "scratch_bytes")
GEMM_KINDS = ("gemm", "conv")


def env_for(config):
    _, family, wave32 = config
    env = dict(os.environ, VK_ICD_FILENAMES=RADV_ICD, RADV_FORCE_FAMILY=family)
    env.pop("VK_DRIVER_FILES", None)
    env.pop("REPMLP_DEVICE_PROFILE", None)
    if wave32:
        env["RADV_PERFTEST"] = "cswave32"
    else:
        env.pop("RADV_PERFTEST", None)
    return env


def run(cmd, env=None):
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return p.returncode, p.stdout, p.stderr


def fuse(build, args, out):
    rc, so, se = run([os.path.join(build, "bin", "repmlp-fuse")] + args + [out])
    if rc != 0:
        sys.exit("check-gpu-compile: repmlp-fuse %s failed:\n%s%s" % (" ".join(args), so, se))


def make_models(build, work, weights):
    """[(name, fused path, is_preset)]."""
    models = []
    digits = os.path.join(ROOT, "examples", "digits")
    out = os.path.join(work, "digits.safetensors")
    fuse(build, ["--arch", "RepMLPNet", "--config", "@" + os.path.join(digits, "config.json"),
                 os.path.join(digits, "train.safetensors")], out)
    models.append(("digits", out, False))
    fixtures = os.path.join(ROOT, "tests", "fixtures")
    for group in sorted(FIXTURE_ARCHS):
        for case in sorted(os.listdir(os.path.join(fixtures, group))):
            d = os.path.join(fixtures, group, case)
            out = os.path.join(work, "%s-%s.safetensors" % (group, case))
            fuse(build, ["--arch", FIXTURE_ARCHS[group], "--config",
                         "@" + os.path.join(d, "config.json"),
                         os.path.join(d, "train.safetensors")], out)
            models.append(("%s/%s" % (group, case), out, False))
    for preset in PRESETS:
        wdir = os.path.join(weights, preset)
        train = os.path.join(wdir, "train.safetensors")
        if not os.path.exists(train):
            rc, so, se = run([sys.executable, os.path.join(ROOT, "tools", "fixtures",
                                                           "make_preset_weights.py"),
                              "--preset", preset, "--out", wdir, "--weights-only"])
            if rc != 0:
                sys.exit("check-gpu-compile: weights of %s failed:\n%s%s" % (preset, so, se))
        out = os.path.join(work, preset + ".safetensors")
        fuse(build, ["--preset", preset, train], out)
        models.append((preset, out, True))
    return models


def bench(build, config, model, batch):
    name, path, _ = model
    t0 = time.time()
    rc, so, se = run([os.path.join(build, "bin", "repmlp-bench"), path, "--compile-stats",
                      "--json", "--batch", str(batch)], env_for(config))
    result = {"config": config[0], "model": name, "batch": batch, "seconds": time.time() - t0,
              "errors": [], "ops": [], "device": ""}
    if rc != 0:
        result["errors"].append("repmlp-bench exited %d: %s" % (rc, (se or so).strip()[-400:]))
        return result
    data = json.loads(so.strip().splitlines()[-1])
    result["ops"], result["device"] = data["ops"], data["device"]
    for op in data["ops"]:
        if op["kind"] in GEMM_KINDS and 2 * op["lanes_active"] < op["lanes"]:
            result["errors"].append(
                "%s (%s): workgroup %s fills %d of its %d subgroup lanes, less than half" % (
                    op["label"], op["kernel"], "x".join(str(n) for n in op["workgroup"]),
                    op["lanes_active"], op["lanes"]))
        for key in SPILL_KEYS:
            if op[key] is None:
                result["errors"].append("%s: %s not reported" % (op["label"], key))
            elif op[key] != 0:
                result["errors"].append("%s (%s): %s = %d" % (op["label"], op["kernel"], key,
                                                                op[key]))
    return result


def compile_rows(build, config):
    t0 = time.time()
    rc, so, se = run([os.path.join(build, "bin", "repmlp-compile-rows"), "--json"],
                     env_for(config))
    rows = [json.loads(line) for line in so.splitlines() if line.startswith("{")]
    errors = ["%s: %s" % (r["row"], r["why"]) for r in rows if r["status"] == "FAIL"]
    if rc != 0 and not errors:
        errors.append("repmlp-compile-rows exited %d: %s" % (rc, se.strip()[-400:]))
    return {"config": config[0], "rows": rows, "errors": errors, "seconds": time.time() - t0}


def share(op):
    n, fma = op["loop_instructions"], op["loop_fma"]
    return "n/r" if n is None else "%.0f%%" % (100.0 * fma / max(n, 1))


def valu_share(op):
    """FMAs / vector ALU instructions of the hottest loop (n/r: no loop, or not reported)."""
    n, fma = op.get("loop_vector_alu"), op["loop_fma"]
    return "n/r" if n is None or fma is None else "%.0f%%" % (100.0 * fma / max(n, 1))


def num(v):
    return "n/r" if v is None else str(v)


def kernel_table(result):
    """One line per distinct (kernel, workgroup) of the GEMM/conv ops of a session."""
    groups = {}
    for op in result["ops"]:
        if op["kind"] not in GEMM_KINDS:
            continue
        key = (op["kernel"], tuple(op["workgroup"]))
        groups.setdefault(key, []).append(op)
    lines = []
    for (kernel, wg), ops in sorted(groups.items()):
        op = ops[0]
        vgprs = sorted({o["vgprs"] for o in ops if o["vgprs"] is not None})
        waves = sorted({o["subgroups_per_simd"] for o in ops
                        if o["subgroups_per_simd"] is not None})
        shares = sorted({share(o) for o in ops})
        valu_shares = sorted({valu_share(o) for o in ops})
        rng = lambda xs: ("%s" % xs[0] if len(xs) == 1 else "%s-%s" % (xs[0], xs[-1])) \
            if xs else "n/r"
        lines.append("| %s | %dx%dx%d | %d | %d/%d | %s | %s | %s/%s | %s | %s | %s |" % (
            kernel, wg[0], wg[1], wg[2], len(ops), op["lanes_active"], op["lanes"], rng(vgprs),
            rng(waves), num(max((o["spilled_vgprs"] or 0) for o in ops)),
            num(max((o["spilled_sgprs"] or 0) for o in ops)),
            num(max((o["scratch_bytes"] or 0) for o in ops)), ", ".join(shares),
            ", ".join(valu_shares)))
    return lines


def write_results(path, results, rows, seconds, jobs):
    out = ["# Compiling for real GPUs: RADV's null device",
           "",
           "Written by `scripts/check-gpu-compile.sh` (do not edit): every pipeline the library "
           "builds, compiled by Mesa's RADV/ACO for AMD GPUs without one "
           "(`RADV_FORCE_FAMILY`, a compile-only context), with the statistics the driver reports "
           "through `VK_KHR_pipeline_executable_properties`. The check fails when a pipeline does "
           "not compile, when the built-in kernel choice spills or uses scratch, or when one of its "
           "GEMM/conv ops leaves more than half of its subgroups' lanes idle (lanes active < half "
           "the lanes). "
           "%d sessions and %d row sets in %.0f s (%d jobs)." % (len(results), len(rows), seconds,
                                                                jobs),
           "",
           "Columns: lanes = a workgroup's invocations / the lanes of the subgroups it occupies; "
           "VGPRs per invocation; waves = subgroups per SIMD (occupancy); spills v/s = spilled "
           "VGPRs/SGPRs; FMA share = FMA instructions / instructions of the hottest loop (the "
           "shortest loop holding at least half the FMAs of the one with the most, found in "
           "ACO's disassembly by its backward branch; n/r: "
           "the k loop is fully unrolled, no loop left); of VALU = FMA instructions / vector ALU "
           "instructions (`v_*`) of the same loop.",
           ""]
    out.append("## Sessions (built-in kernel choice)")
    out.append("")
    out.append("| config | model | batch | ops | max VGPRs | min waves | spills v/s | scratch "
               "| result |")
    out.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        ops = r["ops"]
        vg = [o["vgprs"] for o in ops if o["vgprs"] is not None]
        wv = [o["subgroups_per_simd"] for o in ops if o["subgroups_per_simd"] is not None]
        out.append("| %s | %s | %d | %d | %s | %s | %d/%d | %d | %s |" % (
            r["config"], r["model"], r["batch"], len(ops), max(vg) if vg else "n/r",
            min(wv) if wv else "n/r", sum(o["spilled_vgprs"] or 0 for o in ops),
            sum(o["spilled_sgprs"] or 0 for o in ops), sum(o["scratch_bytes"] or 0 for o in ops),
            "ok" if not r["errors"] else "FAIL"))
    out.append("")
    for preset in PRESETS:
        out.append("## %s: GEMM/conv kernels per family" % preset)
        out.append("")
        for r in results:
            if r["model"] != preset or not r["ops"]:
                continue
            out.append("%s (%s), batch %d:" % (r["config"], r["device"], r["batch"]))
            out.append("")
            out.append("| kernel | workgroup | ops | lanes | VGPRs | waves | spills v/s | scratch "
                       "| FMA share | of VALU |")
            out.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
            out.extend(kernel_table(r))
            out.append("")
    out.append("## Every shader row (repmlp-compile-rows: one realistic shape each)")
    out.append("")
    out.append("VGPRs / waves / spills v/s (scratch bytes when not 0) / the hottest loop's FMA "
               "share of vector ALU (GEMM-core rows) per configuration; GEMM-core "
               "rows forced on a 196 x 256 x 1024 GEMM or a 3x3 convolution of 64 channels on "
               "56 x 56. Only the built-in choice must not spill; a spilling row here is a row the "
               "tuner should not pick on that family.")
    out.append("")
    names = [r["config"] for r in rows]
    out.append("| row | " + " | ".join(names) + " |")
    out.append("| --- |" + " --- |" * len(names))
    by_config = [{x["row"]: x for x in r["rows"]} for r in rows]
    for row in [x["row"] for x in rows[0]["rows"]] if rows else []:
        cells = []
        for table in by_config:
            x = table.get(row)
            if x is None:
                cells.append("-")
            elif x["status"] != "ok":
                cells.append(x["status"])
            else:
                cell = "%s / %s / %s/%s" % (num(x["vgprs"]), num(x["subgroups_per_simd"]),
                                            num(x["spilled_vgprs"]), num(x["spilled_sgprs"]))
                if x["scratch_bytes"]:
                    cell += " scratch %s" % x["scratch_bytes"]
                if x.get("loop_fma") is not None:
                    cell += " / %s" % valu_share(x)
                cells.append(cell)
        out.append("| %s | %s |" % (row, " | ".join(cells)))
    out.append("")
    with open(path, "w") as f:
        f.write("\n".join(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("build")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "RESULTS-gpu-compile.md"))
    ap.add_argument("--weights", help="directory for the presets' random weights (kept)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    if not os.path.exists(RADV_ICD):
        sys.exit("check-gpu-compile: %s is missing (Debian's mesa-vulkan-drivers)" % RADV_ICD)
    t0 = time.time()
    with tempfile.TemporaryDirectory() as work:
        weights = args.weights or os.path.join(work, "weights")
        models = make_models(build, work, weights)
        print("check-gpu-compile: %d models ready in %.0f s" % (len(models), time.time() - t0))
        tasks = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            for config in CONFIGS:
                tasks.append(pool.submit(compile_rows, build, config))
                for model in models:
                    if model[2] or config[0] == FIXTURE_CONFIG:
                        for batch in BATCHES:
                            tasks.append(pool.submit(bench, build, config, model, batch))
            done = [t.result() for t in tasks]
    results = [d for d in done if "ops" in d]
    rows = [d for d in done if "rows" in d]
    failures = 0
    for d in done:
        what = d["config"] + ("" if "rows" in d else " %s batch %d" % (d["model"], d["batch"]))
        for e in d["errors"]:
            print("check-gpu-compile: FAIL %s: %s" % (what, e))
            failures += 1
    cost = {}
    for d in done:
        key = "shader rows" if "rows" in d else ("presets" if d["model"] in PRESETS
                                                 else "digits + fixtures")
        cost[key] = cost.get(key, 0) + d["seconds"]
    seconds = time.time() - t0
    write_results(args.out, results, rows, seconds, args.jobs)
    print("check-gpu-compile: %d sessions, %d row sets, %d failures in %.0f s (%s); wrote %s" % (
        len(results), len(rows), failures, seconds,
        ", ".join("%s %.0f s" % kv for kv in sorted(cost.items())), args.out))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
