#!/usr/bin/env bash
# Produce small real-kernel TCP test captures with observed ground truth.
#
#   sudo bash captures/make-captures.sh              # every scenario
#   sudo bash captures/make-captures.sh half-open    # only the named ones
#
# For each scenario: two fresh network namespaces (client tsl-a-PID, server
# tsl-b-PID) joined by a veth pair (MTU 1500, 10.99.0.1/24 + fd00:99::1/64 on
# the client, 10.99.0.2/24 + fd00:99::2/64 on the server), shortened TCP
# timers, tcpdump on the veth of the vantage namespace, real sockets in both
# (captures/scenarios/*.py), `ss -tanoi` of both namespaces before teardown,
# and captures/NAME.pcap + captures/NAME.truth.json. Traffic only ever goes
# between those two namespaces. Everything is torn down on exit, on failure
# or on Ctrl-C. Exit status is non-zero when a scenario failed or did not
# show its intended behaviour (see "checks" in its truth file).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$HERE"
TSL="$HERE/scenarios/tsl.py"
NS_C="tsl-a-$$"
NS_S="tsl-b-$$"
IF_C="veth-c"
IF_S="veth-s"
PYTHON="${PYTHON:-python3}"
export PYTHONDONTWRITEBYTECODE=1   # keep captures/scenarios/ free of __pycache__

die() { echo "make-captures: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces, tcpdump, nft)"
for tool in ip tcpdump nft ss sysctl ethtool "$PYTHON"; do
    command -v "$tool" >/dev/null 2>&1 || die "missing $tool (Debian: iproute2 tcpdump nftables ethtool procps python3)"
done

# Kill only processes living in the namespaces this run created, then delete
# the namespaces (which removes the veth pair with them).
teardown_ns() {
    local ns pids
    for ns in "$NS_C" "$NS_S"; do
        if [ -e "/run/netns/$ns" ]; then
            pids="$(ip netns pids "$ns" 2>/dev/null || true)"
            if [ -n "$pids" ]; then
                # shellcheck disable=SC2086
                kill -KILL $pids 2>/dev/null || true
            fi
            ip netns del "$ns" 2>/dev/null || true
        fi
    done
}
DRIVER=""
INTERRUPTED=""
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "$DRIVER" ]; then
        kill -TERM "$DRIVER" 2>/dev/null || true
        wait "$DRIVER" 2>/dev/null || true
    fi
    teardown_ns
    exit "$rc"
}
on_signal() {
    INTERRUPTED=1
    # the driver stops its tcpdump and socket programs and records what it saw
    if [ -n "$DRIVER" ]; then kill -TERM "$DRIVER" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap on_signal INT TERM

sysctl_ns() { ip netns exec "$1" sysctl -q -w "$2=$3" >/dev/null; }

setup_ns() {
    teardown_ns
    ip netns add "$NS_C"
    ip netns add "$NS_S"
    ip link add name "$IF_C" netns "$NS_C" mtu 1500 type veth peer name "$IF_S" netns "$NS_S" mtu 1500
    local ns dev a4 a6
    for side in c s; do
        if [ "$side" = c ]; then ns="$NS_C"; dev="$IF_C"; a4=10.99.0.1; a6=fd00:99::1
        else ns="$NS_S"; dev="$IF_S"; a4=10.99.0.2; a6=fd00:99::2; fi
        ip -n "$ns" link set lo up
        ip -n "$ns" addr add "$a4/24" dev "$dev"
        ip -n "$ns" -6 addr add "$a6/64" dev "$dev" nodad
        # one wire segment per packet, real checksums: what a NIC would show
        ip netns exec "$ns" ethtool -K "$dev" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
        ip -n "$ns" link set "$dev" up
        # short timers so that every scenario ends in a few seconds
        sysctl_ns "$ns" net.ipv4.tcp_retries2 5
        sysctl_ns "$ns" net.ipv4.tcp_syn_retries 2
        sysctl_ns "$ns" net.ipv4.tcp_synack_retries 2
        sysctl_ns "$ns" net.ipv4.tcp_fin_timeout 5
        sysctl_ns "$ns" net.ipv4.tcp_keepalive_time 2
        sysctl_ns "$ns" net.ipv4.tcp_keepalive_intvl 1
        sysctl_ns "$ns" net.ipv4.tcp_keepalive_probes 2
        # every ICMP error the kernel generates reaches the capture
        sysctl_ns "$ns" net.ipv4.icmp_ratelimit 0
        sysctl_ns "$ns" net.ipv6.icmp.ratelimit 0
    done
    # wait for both ends to report carrier
    local i
    for i in $(seq 1 50); do
        if ip -n "$NS_C" link show "$IF_C" | grep -q 'LOWER_UP' &&
           ip -n "$NS_S" link show "$IF_S" | grep -q 'LOWER_UP'; then
            return 0
        fi
        sleep 0.02
    done
    die "veth pair did not come up"
}

mapfile -t ALL < <("$PYTHON" "$TSL" list)
if [ "$#" -gt 0 ]; then
    SCENARIOS=("$@")
    for s in "${SCENARIOS[@]}"; do
        printf '%s\n' "${ALL[@]}" | grep -qx -- "$s" || die "unknown scenario '$s' (known: ${ALL[*]})"
    done
else
    SCENARIOS=("${ALL[@]}")
fi

echo "kernel $(uname -r); namespaces $NS_C (client) / $NS_S (server); output $OUT"
FAILED=()
START=$SECONDS
for s in "${SCENARIOS[@]}"; do
    max="$("$PYTHON" "$TSL" attempts "$s")"
    attempt=1
    while :; do
        setup_ns
        rc=0
        # in the background so that a signal to this script is handled at once
        "$PYTHON" "$TSL" drive "$s" --ns-client "$NS_C" --ns-server "$NS_S" \
            --if-client "$IF_C" --if-server "$IF_S" --out "$OUT" --attempt "$attempt" &
        DRIVER=$!
        # `wait` returns early when a trapped signal arrives: wait again
        while :; do
            rc=0
            wait "$DRIVER" || rc=$?
            kill -0 "$DRIVER" 2>/dev/null || break
        done
        DRIVER=""
        teardown_ns
        if [ -n "$INTERRUPTED" ]; then
            echo "make-captures: interrupted during $s" >&2
            exit 130
        fi
        if [ "$rc" -eq 3 ] && [ "$attempt" -lt "$max" ]; then
            attempt=$((attempt + 1))
            echo "  $s: retrying (attempt $attempt of $max)"
            continue
        fi
        break
    done
    [ "$rc" -eq 0 ] || FAILED+=("$s")
done
echo "done in $((SECONDS - START)) s"
if [ "${#FAILED[@]}" -gt 0 ]; then
    echo "scenarios that failed or did not show the intended behaviour: ${FAILED[*]}" >&2
    exit 1
fi
