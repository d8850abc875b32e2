#!/usr/bin/env bash
# The service soak benchmark (issue 8): an hour of 8-channel readings at
# 100 Hz (360,000) through edge run's pipeline in process, and again over
# MQTT through the embedded broker, with throughput, resident
# memory before and after, and goroutines.
#
# Usage: bench/soak.sh > bench/runs/DATE-ARCH-soak.txt
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
echo "## $(date -u +%Y-%m-%dT%H:%MZ) $(uname -srm), $(nproc) cores, $(go version | cut -d' ' -f3)"
cd "$root"
EDGE_SOAK=1 go test -count=1 -run 'TestSoak$' -v ./service | grep -E "soak_test|^(---|ok|FAIL)"
