#!/usr/bin/env bash
# Records the applications' figures (issue 6): the denoiser and the anomaly
# scorer against the classical filters and baseline detectors on generated
# data (edge eval: seed 1 in full, seeds 1-5 and the non-linear case as
# tables), streaming throughput per kernel family, and edge demo's wall
# time and peak memory.
#
# Usage: bench/apps.sh [EDGE_BINARY] > bench/runs/DATE-ARCH-apps.txt
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-}
if [[ -z $bin ]]; then
  bin=$(mktemp -d)/edge
  (cd "$root" && go build -o "$bin" ./cmd/edge)
fi
echo "## $(date -u +%Y-%m-%dT%H:%MZ) $(uname -srm), $(nproc) cores"
echo "## edge eval (defaults: seed 1, 8 sensors, 35 train days, 28 test days)"
"$bin" eval 2>/dev/null
echo
echo "## edge eval -seeds 5"
"$bin" eval -seeds 5 2>/dev/null
echo
echo "## edge eval -nonlinear -seeds 3 (some sensors respond non-linearly)"
"$bin" eval -nonlinear -seeds 3 2>/dev/null
echo
echo "## edge bench -kinds stream -time 1s"
"$bin" bench -kinds stream -time 1s 2>&1
echo
echo "## edge demo (wall time, peak memory)"
out=$(mktemp -d)
/usr/bin/time -f "%e s elapsed, %M KB max RSS" "$bin" demo -q -out "$out" 2>&1
rm -rf "$out"
