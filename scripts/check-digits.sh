#!/usr/bin/env bash
# The digits check: PREDICTIONS.json (written by repmlp-run --eval examples/digits/test.safetensors
# --predictions) has the same number of correct images and the same class for every image as
# the training-time PyTorch model (float64, eval mode) in examples/digits/pytorch_predictions.json.
# Prints one line; exit status 1 when they differ. Used by scripts/main-job.sh and
# scripts/check-windows.sh:
#   bash scripts/check-digits.sh PREDICTIONS.json
set -euo pipefail
[ $# = 1 ] || {
  echo "usage: check-digits.sh PREDICTIONS.json" >&2
  exit 2
}
want_file="$(dirname "$0")/../examples/digits/pytorch_predictions.json"
# Line ends are dropped: a Windows build writes \r\n.
field() { tr -d '\r' <"$2" | grep -o "\"$1\": *[^],}]*[],}]" | head -n 1 | tr -dc '0-9'; }
predictions() { tr -d '\r' <"$1" | grep -o '"predictions": *\[[^]]*\]' | tr -d ' '; }
want_correct=$(field correct "$want_file")
want_count=$(field count "$want_file")
got_correct=$(field correct "$1")
got_count=$(field count "$1")
want_pred=$(predictions "$want_file")
got_pred=$(predictions "$1")
if [ -n "$want_pred" ] && [ "$got_correct/$got_count" = "$want_correct/$want_count" ] &&
  [ "$got_pred" = "$want_pred" ]; then
  echo "check: accuracy $got_correct/$got_count equals PyTorch's (float64, training-time model)," \
    "and all $got_count predictions agree: PASS"
else
  echo "check: accuracy $got_correct/$got_count, PyTorch $want_correct/$want_count;" \
    "predictions $([ "$got_pred" = "$want_pred" ] && echo agree || echo differ): FAIL"
  exit 1
fi
