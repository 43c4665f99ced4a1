# shellcheck shell=bash
# Sourced by bench/run.sh and bench/ab.sh: the drivers' ICDs, min (the smallest of the numbers
# on stdin, one per line), the RepMLP-Res50 block shapes of
# issue [perf] (NAME:C:H:groups; h = w = 7, k {1,3,5}), and make_blocks DIR BIN, which writes
# each shape's training-time block (DIR/NAME/) and its fused file (DIR/NAME.fused) with BIN's
# repmlp-fuse.
# shellcheck disable=SC2034 # lvp and swr are for the scripts that source this file
lvp=$(find /usr/share/vulkan/icd.d -name 'lvp_icd.*.json' | sort | head -1)
# shellcheck disable=SC2034
swr=/usr/lib/chromium/vk_swiftshader_icd.json
shapes="S2B:64:28:8 S3B:64:14:8 S2L:64:28:4 S3L:128:14:4"
make_blocks() {
  local s name C H g
  for s in $shapes; do
    IFS=: read -r name C H g <<<"$s"
    /usr/bin/python3 bench/make_block.py "$1/$name" "$C" "$H" "$g" >/dev/null
    "$2/repmlp-fuse" --arch RepMLP --config "@$1/$name/config.json" \
      "$1/$name/train.safetensors" "$1/$name.fused" >/dev/null
  done
}
min() { awk 'NR == 1 || $1 < m {m = $1} END {print m}'; }
