#!/usr/bin/env bash
# Times edge and the peer libraries in one session, single-threaded, on the
# dense 640-128-128-128-128-8-128-128-128-128-640 autoencoder, for
# bench/RESULTS.md. The peers (XNNPACK, oneDNN, ONNX Runtime, PyTorch) come
# from the peers harness shipped beside the project (default: ../shared/peers
# next to the repository); install them once with `<peers>/run.sh --install`.
#
# Usage: bench/peers.sh [PEERS_DIR] > run.txt
# Also times training against PyTorch (Debian python3-torch) when it is installed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
peers=${1:-$root/../shared/peers}
[[ -x $peers/run.sh ]] || { echo "peers harness not found at $peers" >&2; exit 2; }
bin=$(mktemp -d)/edge
(cd "$root" && go build -o "$bin" ./cmd/edge)
dims="640 128 128 128 128 8 128 128 128 128 640"
echo "## $(date -u +%Y-%m-%dT%H:%MZ) $(uname -srm)"
echo "## edge info"
"$bin" info
echo "## peers: $peers/run.sh \"1 16 256\" $dims"
OMP_NUM_THREADS=1 "$peers/run.sh" "1 16 256" $dims
echo "## edge bench (default: every family, the autoencoder's layers, 512x512, batches 1 16 256, the int8 chain)"
"$bin" bench -time 400ms
echo "## peers again, to bracket drift during the run"
OMP_NUM_THREADS=1 "$peers/run.sh" "1 16 256" $dims
# Training throughput against PyTorch: bench/train-peers.sh.
"$root/bench/train-peers.sh" "$bin"
