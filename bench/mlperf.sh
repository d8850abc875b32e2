#!/usr/bin/env bash
# Times the MLPerf Tiny anomaly-detection (ToyCar) models imported from
# TFLite against XNNPACK's int8 chain of the same shape
# (640-128-128-128-128-8-128-128-128-128-640), peers before and after edge
# to bracket drift. Needs ../shared/data/mlperf-tiny-ad and the peers
# (../shared/peers/run.sh --install).
#
# Usage: bench/mlperf.sh [EDGE_BINARY] > bench/runs/DATE-ARCH-mlperf.txt
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
data=$root/../shared/data/mlperf-tiny-ad
peers=$root/../shared/peers/run.sh
[[ -d $data ]] || { echo "## skipped: $data not found"; exit 0; }
bin=${1:-}
tmp=$(mktemp -d)
if [[ -z $bin ]]; then
  bin=$tmp/edge
  (cd "$root" && go build -o "$bin" ./cmd/edge)
fi
echo "## $(date -u +%Y-%m-%dT%H:%MZ) $(uname -srm), $(nproc) cores"
"$bin" info | head -4
models=()
for f in ad01_int8 model_ToyCar_quant_fullint ad01_fp32; do
  echo "## edge import $f.tflite --steps 5"
  "$bin" import "$data/$f.tflite" -o "$tmp/$f.edge" --steps 5 | tail -4
  models+=("$tmp/$f.edge")
done
echo "## the clip scores (go test -run MLPerf -v ./tflite)"
(cd "$root" && go test -count=1 -run MLPerf -v ./tflite | grep "clip score")
echo "## peers, first run (XNNPACK qs8 chain, ONNX Runtime, PyTorch; batch 1 and 16)"
"$peers" "1 16" 2>&1 | grep -v "^dnnl" || true
echo "## edge bench -model (the imported models through the full API)"
"$bin" bench -model "$(IFS=,; echo "${models[*]}")" -batches 1,16 -time 400ms
echo "## peers, second run"
"$peers" "1 16" 2>&1 | grep -v "^dnnl" || true
rm -rf "$tmp"
