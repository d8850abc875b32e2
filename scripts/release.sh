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
# systemd unit, an example configuration and install.sh (deploy/); a .deb
# (if dpkg-deb is installed):
#
#   edge_VERSION_amd64.deb, edge_VERSION_arm64.deb
#   edge_VERSION_armhf.deb        GOARM=7: Pi 2, 3, 4 on a 32-bit OS
#   edge_VERSION_armhf-armv6.deb  GOARM=6: Pi Zero, Zero W, 1 (Raspberry Pi OS's armhf is ARMv6)
#
# and docker/: a FROM scratch Dockerfile with each platform's binary, built
# into a multi-platform image when docker buildx works here.
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
# Debian packages: the binary in /usr/bin, the unit, the configuration as
# a conffile (an upgrade keeps the user's edits), maintainer scripts that
# add the edge user and enable (not start) the service.
debversion=${version#v}
[[ $debversion =~ ^[0-9] ]] || debversion="0~$debversion"
debversion=${debversion//-/+}
deb() { # target debarch file
  local t=$1 arch=$2 file=$3 d
  d=$(mktemp -d)
  chmod 0755 "$d" # the package's ./ must not carry mktemp's 0700
  install -D -m 0755 "$out/edge-linux-$t" "$d/usr/bin/edge"
  install -d "$d/usr/lib/systemd/system" "$d/etc/edge" "$d/DEBIAN"
  sed 's#^ExecStart=/usr/local/bin/edge #ExecStart=/usr/bin/edge #' "$root/deploy/edge.service" > "$d/usr/lib/systemd/system/edge.service"
  install -m 0644 "$root/deploy/edge.json" "$d/etc/edge/edge.json"
  install -m 0755 "$root/deploy/deb/postinst" "$root/deploy/deb/prerm" "$root/deploy/deb/postrm" "$d/DEBIAN/"
  echo /etc/edge/edge.json > "$d/DEBIAN/conffiles"
  cat > "$d/DEBIAN/control" <<CONTROL
Package: edge
Version: $debversion
Architecture: $arch
Maintainer: edge developers <edge@localhost>
Section: misc
Priority: optional
Homepage: https://github.com/edgeml/edge
Installed-Size: $(du -sk "$d/usr" | cut -f1)
Description: int8 autoencoders on edge devices: sensor denoiser and anomaly scorer
 edge cleans sensor readings and scores them for anomalies with int8
 autoencoders, offline. The package runs it as a systemd service (edge run)
 configured in /etc/edge/edge.json, with models in /var/lib/edge.
CONTROL
  dpkg-deb --root-owner-group -Zxz --build "$d" "$out/$file" >/dev/null
  rm -rf "$d"
}
if command -v dpkg-deb >/dev/null; then
  deb amd64 amd64 "edge_${debversion}_amd64.deb"
  deb arm64 arm64 "edge_${debversion}_arm64.deb"
  deb armv7 armhf "edge_${debversion}_armhf.deb"
  deb armv6 armhf "edge_${debversion}_armhf-armv6.deb"
else
  echo "release.sh: dpkg-deb not installed: no .deb packages" >&2
fi
# The container image's build context: one binary per platform, as the
# Dockerfile's TARGETOS_TARGETARCH+TARGETVARIANT names them, and the CA
# certificates for mqtts to public brokers.
ctx=$out/docker
rm -rf "$ctx" && mkdir -p "$ctx"
cp "$root/deploy/docker/Dockerfile" "$ctx/"
for p in amd64:amd64 arm64:arm64 armv7:armv7 armv6:armv6; do
  install -D -m 0755 "$out/edge-linux-${p%%:*}" "$ctx/linux_${p#*:}/edge"
done
install -D -m 0755 "$out/edge-linux-arm64" "$ctx/linux_arm64v8/edge" # builders that name arm64's variant v8
if [[ -f /etc/ssl/certs/ca-certificates.crt ]]; then
  cp /etc/ssl/certs/ca-certificates.crt "$ctx/"
else
  : > "$ctx/ca-certificates.crt"
  echo "release.sh: no /etc/ssl/certs/ca-certificates.crt: the image trusts no public CA (give mqtt.ca_file)" >&2
fi
if command -v docker >/dev/null && docker buildx version >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  docker buildx build --platform linux/amd64,linux/arm64,linux/arm/v7,linux/arm/v6 \
    -t "edge:$version" --output "type=oci,dest=$out/edge-$version-image.tar" "$ctx"
else
  echo "release.sh: no working docker buildx here: the image's context is in $ctx (build it with the command in its Dockerfile)" >&2
fi
cd "$out"
sha256sum edge-linux-* edge-*.tar.gz $(ls *.deb 2>/dev/null) > SHA256SUMS
echo "edge $version, stripped, static (CGO_ENABLED=0):"
for f in edge-linux-arm64 edge-linux-armv7 edge-linux-armv6 edge-linux-amd64 edge-*.tar.gz $(ls *.deb 2>/dev/null); do
  awk -v f="$f" -v s="$(wc -c < "$f")" -v p="$out/$f" 'BEGIN { printf "  %-18s %6.2f MB  %s\n", f, s / 1048576, p }'
done
