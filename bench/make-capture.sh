#!/usr/bin/env bash
# Make the benchmark capture from real kernel traffic: two network namespaces
# joined by a veth pair (MTU 1500, offloads off so every packet is one real
# segment), thousands of concurrent connections with a mix of clean closes,
# server-first closes, resets, client aborts and leaked (CLOSE-WAIT) sockets.
#
#   sudo bash bench/make-capture.sh OUT.pcap [BYTES]     # BYTES default 1G (suffix K/M/G)
#
# Traffic goes only between the two namespaces this script creates; both are
# deleted (and only the processes inside them killed) on exit.
set -euo pipefail
OUT="${1:?usage: make-capture.sh OUT.pcap [BYTES]}"
SIZE="${2:-1G}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NS_C="tsb-a-$$"
NS_S="tsb-b-$$"
[ "$(id -u)" -eq 0 ] || { echo "make-capture: must run as root" >&2; exit 1; }
for t in ip tcpdump ethtool python3; do command -v "$t" >/dev/null || { echo "make-capture: missing $t" >&2; exit 1; }; done

bytes=$(python3 -c "import sys;s=sys.argv[1].upper();m={'K':1<<10,'M':1<<20,'G':1<<30};print(int(float(s[:-1])*m[s[-1]]) if s[-1] in m else int(s))" "$SIZE")

cleanup() {
  for ns in "$NS_C" "$NS_S"; do
    if [ -e "/run/netns/$ns" ]; then
      pids="$(ip netns pids "$ns" 2>/dev/null || true)"
      [ -n "$pids" ] && kill -KILL $pids 2>/dev/null || true
      ip netns del "$ns" 2>/dev/null || true
    fi
  done
}
trap cleanup EXIT INT TERM

ip netns add "$NS_C"
ip netns add "$NS_S"
ip link add veth-bc netns "$NS_C" type veth peer name veth-bs netns "$NS_S"
for ns in "$NS_C" "$NS_S"; do
  ip -n "$ns" link set lo up
  ip netns exec "$ns" sysctl -qw net.ipv4.tcp_fin_timeout=5 net.core.somaxconn=4096 net.ipv4.tcp_max_syn_backlog=4096 net.ipv4.ip_local_port_range="10000 60999"
done
ip -n "$NS_C" addr add 10.98.0.1/24 dev veth-bc
ip -n "$NS_S" addr add 10.98.0.2/24 dev veth-bs
ip -n "$NS_C" link set veth-bc mtu 1500 up
ip -n "$NS_S" link set veth-bs mtu 1500 up
for pair in "$NS_C veth-bc" "$NS_S veth-bs"; do
  set -- $pair
  ip netns exec "$1" ethtool -K "$2" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
done

ip netns exec "$NS_S" ulimit -n 65536 2>/dev/null || true
ip netns exec "$NS_S" bash -c "ulimit -n 65536; exec python3 '$HERE/traffic.py' server 10.98.0.2 9000" &
ip netns exec "$NS_S" tcpdump -i veth-bs -s 0 -B 262144 -w "$OUT" -n tcp 2>"$OUT.tcpdump.log" &
TCPDUMP=$!
sleep 1
start=$(date +%s.%N)
ip netns exec "$NS_C" bash -c "ulimit -n 65536; exec python3 '$HERE/traffic.py' client 10.98.0.2 9000 $bytes 2000 42"
sleep 1
kill -INT "$TCPDUMP"
wait "$TCPDUMP" 2>/dev/null || true
end=$(date +%s.%N)
cat "$OUT.tcpdump.log" >&2
rm -f "$OUT.tcpdump.log"
echo "make-capture: wrote $OUT ($(stat -c %s "$OUT") bytes) in $(python3 -c "print(round($end-$start,1))") s" >&2
