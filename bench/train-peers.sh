#!/usr/bin/env bash
# Times training throughput: PyTorch (Debian python3-torch, bench/torch_train.py)
# against `edge bench -kinds train` on the same dense and conv models, batch 32,
# AdamW, 1 and 2 threads, PyTorch before and after edge to bracket drift.
#
# Debian's torch takes its matrix products for Linear layers from the system
# libblas.so.3, which is the slow reference BLAS unless OpenBLAS is installed
# (apt-get install libopenblas0-pthread). PyTorch runs once with each BLAS
# that is present, chosen per run with LD_LIBRARY_PATH, so the figures do not
# depend on the machine's alternatives setting. Convolutions go through
# oneDNN either way.
#
# Usage: bench/train-peers.sh [EDGE_BINARY] > run.txt
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-}
if [[ -z $bin ]]; then
  bin=$(mktemp -d)/edge
  (cd "$root" && go build -o "$bin" ./cmd/edge)
fi
py=/usr/bin/python3
if ! $py -c 'import torch' 2>/dev/null; then
  echo "## PyTorch training skipped: $py cannot import torch (apt-get install python3-torch)"
  exit 0
fi
lib=/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
blases=()
for b in blas openblas-pthread; do
  [[ -e $lib/$b/libblas.so.3 ]] && blases+=("$b")
done
torch_train() {
  for b in "${blases[@]}"; do
    for model in dense conv; do
      for th in 1 2; do
        echo -n "blas=$b "
        LD_LIBRARY_PATH=$lib/$b OMP_NUM_THREADS=$th OPENBLAS_NUM_THREADS=$th $py "$root/bench/torch_train.py" $model 32 300 $th
      done
    done
  done
}
echo "## $(date -u +%Y-%m-%dT%H:%MZ) training: PyTorch $($py -c 'import torch; print(torch.__version__)') (bench/torch_train.py MODEL 32 300 THREADS; blas=reference or OpenBLAS)"
torch_train
family=$("$bin" info | sed -n 's/^In use: \([a-z0-9]*\).*/\1/p')
echo "## edge bench -kinds train -families $family -train-threads 1,2 -time 1s"
"$bin" bench -kinds train -families "$family" -train-threads 1,2 -time 1s
echo "## PyTorch training again"
torch_train
