#!/usr/bin/env bash
# The install a user does: pack the package, install the tarball globally into a
# temporary prefix, and run the installed command on a capture the repo ships.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
TARBALL="$(npm pack --silent --pack-destination "$WORK" | tail -n 1)"
# What a package must not carry: tests, capture scenarios, sources.
if tar -tzf "$WORK/$TARBALL" | grep -E '^package/(test|src|captures|scripts|bench)/'; then
  echo "install-check: the tarball carries files it should not (above)" >&2
  exit 1
fi
npm install -g --prefix "$WORK/prefix" --no-audit --no-fund "$WORK/$TARBALL" >/dev/null
BIN="$WORK/prefix/bin/tcpsleuth"
echo "install-check: $("$BIN" --version) installed from $TARBALL ($(du -k "$WORK/$TARBALL" | cut -f1) KiB)"
"$BIN" analyze captures/close-wait-stuck.pcap | grep -q 'stuck in CLOSE-WAIT'
"$BIN" analyze --format json captures/busy-server.pcap | grep -q '"formatVersion"'
# `live --metrics` imports prom-client at run time (it is not bundled): it must resolve from the bundle.
(cd "$WORK/prefix/lib/node_modules/tcpsleuth/dist/bundle" && node --input-type=module -e "await import('prom-client')")
echo "install-check: tcpsleuth analyze ran from the installed package, and prom-client resolves from it"
