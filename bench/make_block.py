"""Random training-time weights for a RepMLP v1 block (docs/MODELS.md §1), for benchmarks.

usage: make_block.py OUT_DIR C H G   (h = w = 7, reparam_conv_k [1,3,5], fc1_fc2_reduction 1)
Writes OUT_DIR/train.safetensors and OUT_DIR/config.json. Needs Debian's python3-torch."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools",
                                "fixtures"))
import st  # noqa: E402
import torch  # noqa: E402


def main():
    out, C, H, g = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    h = w = 7
    ks = [1, 3, 5]
    hp = H // h
    cpp = C * hp * hp
    gen = torch.Generator().manual_seed(C * 1000 + H * 10 + g)

    def r(*shape, scale=1.0):
        return ((torch.rand(*shape, generator=gen) * 2 - 1) * scale).float()

    t = {}

    def bn(prefix, n):
        t[prefix + ".weight"] = r(n) * 0.5 + 1
        t[prefix + ".bias"] = r(n)
        t[prefix + ".running_mean"] = r(n)
        t[prefix + ".running_var"] = r(n).abs() + 0.5

    if hp > 1:
        bn("avg.bn", C)
        t["fc1_fc2.fc1.weight"] = r(cpp, cpp, scale=cpp ** -0.5)
        t["fc1_fc2.fc1.bias"] = r(cpp)
        t["fc1_fc2.fc2.weight"] = r(cpp, cpp, scale=cpp ** -0.5)
        t["fc1_fc2.fc2.bias"] = r(cpp)
    k_in = C * h * w // g
    t["fc3.weight"] = r(C * h * w, k_in, 1, 1, scale=k_in ** -0.5)
    bn("fc3_bn", C * h * w)
    for k in ks:
        t["repconv%d.conv.weight" % k] = r(C, C // g, k, k, scale=(C // g * k * k) ** -0.5)
        bn("repconv%d.bn" % k, C)
    os.makedirs(out, exist_ok=True)
    st.save(os.path.join(out, "train.safetensors"), t)
    cfg = dict(in_channels=C, out_channels=C, H=H, W=H, h=h, w=w, reparam_conv_k=ks,
               fc1_fc2_reduction=1, fc3_groups=g)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f)


if __name__ == "__main__":
    main()
