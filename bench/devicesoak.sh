#!/usr/bin/env bash
# The fleet soak benchmark (issue 14): 100 devices at 10 Hz each on one
# wildcard group (sensors/{device}/readings) for 10 minutes, on one core
# (taskset -c 0, GOMAXPROCS=1): the embedded broker, the publishers, the
# collector and edge share it. Reports readings/s, the publish-to-cleaned-
# row latency percentiles and resident memory every 10 s.
#
# Usage: bench/devicesoak.sh [SECONDS] > bench/runs/DATE-ARCH-devicesoak.txt
# EDGE_DEVICE_SOAK_DURABLE=1 runs edge as under systemd: the input log
# (every message fsynced before its acknowledgement) and the disk queue.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
echo "## $(date -u +%Y-%m-%dT%H:%MZ) $(uname -srm), $(nproc) cores, one used, $(go version | cut -d' ' -f3), commit $(git -C "$root" rev-parse --short HEAD)${EDGE_DEVICE_SOAK_DURABLE:+, durable (input log and disk queue)}"
cd "$root"
EDGE_DEVICE_SOAK=1 EDGE_DEVICE_SOAK_SECONDS=${1:-600} taskset -c 0 go test -cpu 1 -count=1 -timeout 30m -run 'TestDeviceSoak$' -v ./service | grep -E "devicesoak_test|^(---|ok|FAIL)"
