#!/bin/bash
# Live-capture throughput: sudo bash bench/live/run.sh [PPS] [SECONDS] [-- extra `tcpsleuth live` options]
#
# Two network namespaces joined by a veth pair. inject.c (compiled here with cc) sends
# evenly paced Ethernet frames of small TCP connections (9 packets each: handshake,
# 20-byte request, 40-byte answer, server closes first) between the namespaces'
# addresses, from A's end of the veth, in batches of 25 every 100 us; their destination
# MAC is not B's, so B's stack drops them silently and only the capture sees them.
# `tcpsleuth live -i <B's end> --format json` captures and analyses them in B.
# Prints the veth's receive count, libpcap's drop count, tcpsleuth's own drop count
# (analysis queue full) and its CPU time per packet during the traffic.
set -euo pipefail
PPS=${1:-250000}
SECS=${2:-10}
shift $(( $# > 2 ? 2 : $# ))
[ "${1:-}" = "--" ] && shift
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
WORK=$(mktemp -d)
A=tsl-bench-$$-a
B=tsl-bench-$$-b
LIVE=
cleanup() {
  [ -n "$LIVE" ] && kill -KILL "$LIVE" 2>/dev/null || true
  ip netns del "$A" 2>/dev/null || true
  ip netns del "$B" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
cc -O2 -o "$WORK/inject" "$HERE/inject.c"
ip netns add "$A"; ip netns add "$B"
ip link add tslA netns "$A" type veth peer name tslB netns "$B"
ip -n "$A" addr add 10.77.0.1/24 dev tslA; ip -n "$B" addr add 10.77.0.2/24 dev tslB
ip -n "$A" link set tslA up; ip -n "$B" link set tslB up
rx() { ip netns exec "$B" cat /sys/class/net/tslB/statistics/rx_packets; }
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }   # utime + stime, clock ticks
ip netns exec "$B" node "$REPO/bin/tcpsleuth.js" live -i tslB --format json "$@" > "$WORK/out" 2> "$WORK/err" &
LIVE=$!
for _ in $(seq 100); do grep -q 'listening on' "$WORK/err" && break; sleep 0.1; done
sleep 0.5
r0=$(rx); c0=$(cpu "$LIVE")
ip netns exec "$A" "$WORK/inject" tslA "$PPS" "$SECS"
sleep 1
r1=$(rx); c1=$(cpu "$LIVE")
kill -INT "$LIVE"; wait "$LIVE" || true
LIVE=
HZ=$(getconf CLK_TCK)
echo "load average before the report: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "veth received $((r1 - r0)) packets; tcpsleuth CPU during the traffic $(( (c1 - c0) * 1000 / HZ )) ms" \
  "($(awk -v c=$((c1 - c0)) -v n=$((r1 - r0)) -v hz="$HZ" 'BEGIN { printf "%.2f", c / hz * 1e6 / n }') us/packet)"
tail -n 1 "$WORK/out" | node -e '
const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
const l = r.live;
console.log(`tcpsleuth: ${l.packets} received, ${l.analysed} analysed; dropped by the kernel ${l.kernelDropped}, by tcpsleuth ${l.queueDropped}; ${r.findings.length} findings; ${r.tracking.evicted} connections evicted`);'
