"""Trains a small RepMLPNet (docs/MODELS.md §3, training-time structure from
tools/fixtures/repmlp_models.py) on scikit-learn's bundled 8x8 handwritten digits and writes
the example that the main job runs (examples/digits/):

    train.safetensors          training-time state_dict (F32; BatchNorm statistics from training)
    config.json                the `repmlp-fuse --arch RepMLPNet --config` (with img_H, img_W)
    preprocess.json            how an 8x8 digit becomes the network's input (the runner's --image
                               path reads it from the fused file's metadata, key "preprocess")
    test.safetensors           the held-out split: `input` (N,1,H,W) F32, already preprocessed,
                               and `labels` (N) I64
    pytorch_predictions.json   {"accuracy", "correct", "count", "predictions", "images"}: the
                               training-time model in eval mode, float64, on that `input`
                               ("predictions": argmax per test image), and for each PNG below
                               its label, prediction and softmax probabilities
    digit_<label>_<index>.png  three test images (8x8 grayscale, 0..16 scaled to 0..255 and
                               rounded; <index> is the position in the test split): for labels
                               3, 5, 8 the one classified most confidently from the PNG

Data: sklearn.datasets.load_digits (no download): 1797 images, 8x8, values 0..16 (counts of
set pixels in 4x4 blocks of a 32x32 bitmap). Split: train_test_split(test_size=0.25,
random_state=0, stratify=y) -> 1347 train / 450 test. Preprocessing (recorded in
preprocess.json): x = (v - mean) / std with v in 0..16 and mean, std the training set's pixel
statistics, then a bilinear resize 8x8 -> 16x16 (torch.nn.functional.interpolate,
align_corners=False), all in float64, rounded to float32 once.

Training is deterministic (fixed seeds, torch.use_deterministic_algorithms, 2 threads):
AdamW with a one-cycle cosine schedule, label smoothing, and random +-1 pixel shifts of the 8x8
source image. BatchNorm runs in train mode while training and in eval mode for everything that
is exported or measured.

Run from the repository root with Debian's Python (python3-torch, python3-sklearn):
    /usr/bin/python3 tools/digits/train_digits.py
"""

import argparse
import json
import os
import struct
import sys
import time
import zlib

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools", "fixtures"))
import repmlp_models as M  # noqa: E402
import st  # noqa: E402

OUT = os.path.join(ROOT, "examples", "digits")
SEED = 0
SOURCE = 8  # the dataset's image size
SIZE = 16  # the network's input size (bilinear upsampling of the 8x8 source)

# 16x16 input, patch 2 -> maps 8x8 and 4x4. Stage 0: 2x2 partitions of 4x4 (hp = wp = 2),
# sharesets 4 < channels 16 (the shuffling reshape of docs/MODELS.md §3); stage 1: one 4x4
# partition, sharesets = channels = 32 (prebn1 folded into both paths). Conv branches 1 and 3.
CONFIG = dict(in_channels=1, num_class=10, patch_size=[2, 2], num_blocks=[1, 1],
              channels=[16, 32], hs=[4, 4], ws=[4, 4], sharesets_nums=[4, 32],
              reparam_conv_k=[1, 3], globalperceptron_reduce=4, img_H=SIZE, img_W=SIZE)


def model_config(cfg):
    """The constructor's keys (img_H, img_W are our fused-format extension keys)."""
    return {k: v for k, v in cfg.items() if k not in ("img_H", "img_W")}


def load_split():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    idx = list(range(len(d.target)))
    tr, te = train_test_split(idx, test_size=0.25, random_state=0, stratify=d.target)
    images = torch.tensor(d.images, dtype=torch.float64)  # (1797, 8, 8), 0..16
    labels = torch.tensor(d.target, dtype=torch.int64)
    return images[tr], labels[tr], images[te], labels[te]


def preprocess(images, mean, std):
    """(N, 8, 8) float64 in 0..16 -> (N, 1, SIZE, SIZE) float64: normalise, then resize."""
    x = ((images - mean) / std).unsqueeze(1)
    if SIZE != SOURCE:
        x = F.interpolate(x, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    return x


def shift_batch(images, gen):
    """Random integer shifts of -1, 0 or +1 pixel in each direction (zero fill) of (B, 8, 8)."""
    b = images.shape[0]
    padded = F.pad(images, (1, 1, 1, 1))
    dy = torch.randint(0, 3, (b,), generator=gen)
    dx = torch.randint(0, 3, (b,), generator=gen)
    out = torch.empty_like(images)
    for i in range(b):
        out[i] = padded[i, dy[i]:dy[i] + SOURCE, dx[i]:dx[i] + SOURCE]
    return out


def write_png(path, pixels):
    """8-bit grayscale PNG of a list of rows, with the standard library only."""
    h, w = len(pixels), len(pixels[0])
    raw = b"".join(b"\x00" + bytes(row) for row in pixels)

    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def evaluate(model, x):
    """Float64 eval-mode logits of a copy of the model."""
    m = M.build("RepMLPNet", model_config(CONFIG))
    m.load_state_dict(model.state_dict())
    m = m.double().eval()
    with torch.no_grad():
        return torch.cat([m(x[i:i + 256]) for i in range(0, x.shape[0], 256)])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args()

    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)

    xtr_img, ytr, xte_img, yte = load_split()
    mean = float(xtr_img.mean())
    std = float(xtr_img.std())
    xte = preprocess(xte_img, mean, std)

    model = M.build("RepMLPNet", model_config(CONFIG))
    nparams = sum(p.numel() for p in model.parameters())
    batch, epochs = 64, args.epochs
    steps_per_epoch = (len(ytr) + batch - 1) // batch
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.05)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, epochs=epochs,
                                                steps_per_epoch=steps_per_epoch, pct_start=0.15)
    t0 = time.time()
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(ytr), generator=gen)
        total, correct, loss_sum = 0, 0, 0.0
        for i in range(0, len(ytr), batch):
            idx = perm[i:i + batch]
            x = preprocess(shift_batch(xtr_img[idx], gen), mean, std).float()
            logits = model(x)
            loss = F.cross_entropy(logits, ytr[idx], label_smoothing=0.1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += float(loss) * len(idx)
            correct += int((logits.argmax(1) == ytr[idx]).sum())
            total += len(idx)
        if epoch % 10 == 9 or epoch == epochs - 1:
            acc = float((evaluate(model, xte).argmax(1) == yte).double().mean())
            print("epoch %3d  loss %.4f  train acc %.4f  test acc %.4f  (%.0f s)"
                  % (epoch + 1, loss_sum / total, correct / total, acc, time.time() - t0),
                  flush=True)
    train_s = time.time() - t0

    model.eval()
    logits = evaluate(model, xte.to(torch.float32).double())  # exactly what test.safetensors holds
    pred = logits.argmax(1)
    top2 = logits.topk(2, dim=1).values
    margin = float((top2[:, 0] - top2[:, 1]).min())
    correct = int((pred == yte).sum())
    acc = correct / len(yte)

    # The shipped PNGs: for labels 3, 5 and 8, the test image that the model classifies most
    # confidently after the PNG round trip (0..16 -> 0..255 -> 0..16, as repmlp-run --image
    # reads it), so the example does not hinge on a borderline case.
    png_q = torch.round(xte_img * 255 / 16)
    png_logits = evaluate(model, preprocess(png_q / 255 * 16, mean, std).to(torch.float32).double())
    png_prob = torch.softmax(png_logits, dim=1)
    shown = []
    for lab in (3, 5, 8):
        cand = [i for i in range(len(yte)) if int(yte[i]) == lab and int(pred[i]) == lab
                and int(png_prob[i].argmax()) == lab]
        shown.append(max(cand, key=lambda i: float(png_prob[i, lab])))
    images = {"digit_%d_%d.png" % (int(yte[i]), i): {
        "label": int(yte[i]), "test_index": i, "predicted": int(png_prob[i].argmax()),
        "probabilities": [round(float(p), 6) for p in png_prob[i]]} for i in shown}

    os.makedirs(args.out, exist_ok=True)
    sd = {k: v.detach().to(torch.float32) if v.is_floating_point() else v
          for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    st.save(os.path.join(args.out, "train.safetensors"), sd)
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(CONFIG, f)
        f.write("\n")
    pre = {"source_size": [SOURCE, SOURCE], "input_size": [SIZE, SIZE], "channels": 1,
           "value_range": [0, 16], "mean": mean, "std": std,
           "resize": "bilinear" if SIZE != SOURCE else "none",
           "order": "normalise, then resize (align_corners=False)"}
    with open(os.path.join(args.out, "preprocess.json"), "w") as f:
        json.dump(pre, f)
        f.write("\n")
    st.save(os.path.join(args.out, "test.safetensors"),
            {"input": xte.to(torch.float32).contiguous(), "labels": yte.clone()})
    with open(os.path.join(args.out, "pytorch_predictions.json"), "w") as f:
        json.dump({"accuracy": acc, "correct": correct, "count": len(yte),
                   "min_top2_margin": margin, "predictions": pred.tolist(), "images": images}, f)
        f.write("\n")
    for old in os.listdir(args.out):
        if old.startswith("digit_") and old.endswith(".png"):
            os.remove(os.path.join(args.out, old))
    for i in shown:
        pixels = [[int(v) for v in row] for row in png_q[i]]
        write_png(os.path.join(args.out, "digit_%d_%d.png" % (int(yte[i]), i)), pixels)

    print("config: %s" % json.dumps(CONFIG))
    print("parameters: %d, training time %.1f s (%d epochs)" % (nparams, train_s, epochs))
    print("pytorch test accuracy (eval mode, float64): %.6f (%d/%d), min top-2 logit margin %.3g"
          % (acc, correct, len(yte), margin))


if __name__ == "__main__":
    main()
