#!/bin/sh
# Installs edge as a systemd service on a Raspberry Pi (or any Linux with
# systemd), from an unpacked release archive:
#
#   sudo ./install.sh            # binary, unit, example config; enables the service
#
# Then put your model in /var/lib/edge, edit /etc/edge/edge.json and
#   sudo systemctl restart edge && journalctl -u edge -f
set -eu
here=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "install.sh: run as root (sudo)" >&2; exit 1; }
bin=$here/edge
[ -x "$bin" ] || { echo "install.sh: no edge binary next to this script" >&2; exit 1; }
"$bin" version >/dev/null 2>&1 || { echo "install.sh: $bin does not run on this machine: wrong architecture? (uname -m: $(uname -m))" >&2; exit 1; }
# A Pi 4/400/CM4/5 boots a 64-bit kernel by default, also under a 32-bit
# OS: there the arm64 build (static) runs, with the NEON int8 kernels.
case "$(uname -m) $("$bin" info 2>/dev/null | head -n 1)" in
aarch64*linux/arm) echo "install.sh: note: this kernel is 64-bit (uname -m: aarch64): the edge-linux-arm64 build runs here and is several times faster than this 32-bit one" >&2 ;;
esac
id edge >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin edge
install -m 0755 "$bin" /usr/local/bin/edge
install -d -m 0755 /etc/edge /var/lib/edge
[ -f /etc/edge/edge.json ] || install -m 0644 "$here/edge.json" /etc/edge/edge.json
install -m 0644 "$here/edge.service" /etc/systemd/system/edge.service
systemctl daemon-reload
systemctl enable edge
echo "installed: /usr/local/bin/edge, /etc/edge/edge.json, /etc/systemd/system/edge.service"
echo "next: copy your model to /var/lib/edge, edit /etc/edge/edge.json, then: systemctl start edge"
