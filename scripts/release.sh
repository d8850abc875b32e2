#!/usr/bin/env bash
# Builds stripped, static edge binaries for the Raspberry Pi targets and
# amd64, and prints their sizes.
#
#   scripts/release.sh [OUTDIR]        (default: dist/)
#
#   edge-linux-arm64   Raspberry Pi 3, 4, 5, Zero 2 W, CM4/CM5 with a 64-bit OS
#   edge-linux-armv7   Raspberry Pi 2, 3, 4 with a 32-bit OS (GOARM=7)
#   edge-linux-armv6   Raspberry Pi Zero, Zero W, 1 (GOARM=6; also runs on every 32-bit Pi)
#   edge-linux-amd64   x86-64 gateways and servers
#
# A GOARM=7 binary dies with SIGILL on ARMv6 (Pi Zero/1): ship armv6 to those.
# Each target also gets edge-VERSION-linux-TARGET.tar.gz: the binary, the
# systemd unit, an example configuration and install.sh (deploy/).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/dist}
version=${EDGE_VERSION:-$(git -C "$root" describe --tags --always --dirty 2>/dev/null || echo dev)}
mkdir -p "$out"
build() { # name goarch goarm
  local name=$1 goarch=$2 goarm=${3:-}
  (cd "$root" && CGO_ENABLED=0 GOOS=linux GOARCH=$goarch GOARM=$goarm \
    go build -trimpath -ldflags "-s -w -X main.version=$version" -o "$out/$name" ./cmd/edge)
}
build edge-linux-arm64 arm64
build edge-linux-armv7 arm 7
build edge-linux-armv6 arm 6
build edge-linux-amd64 amd64
# One archive per target with the service files: the binary (as edge), the
# systemd unit, an example configuration and the installer.
for t in arm64 armv7 armv6 amd64; do
  pkg=$out/edge-$version-linux-$t
  rm -rf "$pkg" && mkdir -p "$pkg"
  cp "$out/edge-linux-$t" "$pkg/edge"
  cp "$root/deploy/edge.service" "$root/deploy/edge.json" "$root/deploy/install.sh" "$pkg/"
  tar -C "$out" -czf "$pkg.tar.gz" "$(basename "$pkg")"
  rm -rf "$pkg"
done
cd "$out"
sha256sum edge-linux-* edge-*.tar.gz > SHA256SUMS
echo "edge $version, stripped, static (CGO_ENABLED=0):"
for f in edge-linux-arm64 edge-linux-armv7 edge-linux-armv6 edge-linux-amd64 edge-*.tar.gz; do
  awk -v f="$f" -v s="$(wc -c < "$f")" -v p="$out/$f" 'BEGIN { printf "  %-18s %6.2f MB  %s\n", f, s / 1048576, p }'
done
