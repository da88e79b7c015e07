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
#
# A scenario whose META has topology="routed" gets a router in between
# instead: client tsl-a-PID (10.99.1.1/24, fd00:99:1::1/64) -- router
# tsl-r-PID (r-c 10.99.1.254, r-s 10.99.2.254, forwarding on) -- server
# tsl-b-PID (10.99.2.2/24, fd00:99:2::2/64), default routes via the router,
# static neighbour entries (no ARP/ND on the wire). Each of the two links runs
# through a fourth namespace, tsl-w-PID, that has no IP configuration at all:
# there `tsl.py wire` copies every frame from one veth to the other after a
# fixed delay (this kernel has no netem), the links' latency. The router
# mirrors (tc mirred) every frame it transmits on r-c and r-s to span0, its
# SPAN port, where a "path" capture runs.
#
# A scenario whose META has topology="tunnel" (and tunnel={type: vxlan,
# geneve, gretap, erspan, ipip or sit, ...}) runs through a tunnel instead:
# the veth pair is the underlay (10.98.0.1/24 on veth-c, 10.98.0.2/24 on
# veth-s, IPv4 only) and a tunnel device tnl0 in each namespace, the kernel's
# own, carries the scenario's usual addresses (10.99.0.1 / 10.99.0.2, or
# fd00:99::1 / fd00:99::2). tcpdump runs on the underlay veth and keeps only
# the tunnel's packets, so the capture holds the encapsulated traffic (files
# in captures/tunnel/, the scenarios' META directory). A
# kernel without the device type (e.g. no geneve) cannot run the scenario:
# captures/vm/make-captures-vm.sh runs this script in a VM with Debian's kernel.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$HERE"
TSL="$HERE/scenarios/tsl.py"
NS_C="tsl-a-$$"
NS_S="tsl-b-$$"
NS_R="tsl-r-$$"     # routed topology only: the router
NS_W="tsl-w-$$"     # routed topology only: the two links' delay lines
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
    for ns in "$NS_C" "$NS_S" "$NS_R" "$NS_W"; do
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

# A host namespace's kernel: short timers so that every scenario ends in a few
# seconds, and every ICMP error the kernel generates reaches the capture.
host_sysctls() {
    sysctl_ns "$1" net.ipv4.tcp_retries2 5
    sysctl_ns "$1" net.ipv4.tcp_syn_retries 2
    sysctl_ns "$1" net.ipv4.tcp_synack_retries 2
    sysctl_ns "$1" net.ipv4.tcp_fin_timeout 5
    sysctl_ns "$1" net.ipv4.tcp_keepalive_time 2
    sysctl_ns "$1" net.ipv4.tcp_keepalive_intvl 1
    sysctl_ns "$1" net.ipv4.tcp_keepalive_probes 2
    sysctl_ns "$1" net.ipv4.icmp_ratelimit 0
    sysctl_ns "$1" net.ipv6.icmp.ratelimit 0
}

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
        host_sysctls "$ns"
    done
    wait_carrier "veth pair"
}

# Wait for both ends of the client-server veth pair to report carrier.
wait_carrier() {
    local i
    for i in $(seq 1 50); do
        if ip -n "$NS_C" link show "$IF_C" | grep -q 'LOWER_UP' &&
           ip -n "$NS_S" link show "$IF_S" | grep -q 'LOWER_UP'; then
            return 0
        fi
        sleep 0.02
    done
    die "$1 did not come up"
}

# Routed topology: client -- [link delay] -- router -- [link delay] -- server.
#   client ns  veth-c  10.99.1.1/24  fd00:99:1::1/64   default via the router
#   wire ns    w-c <-> w-rc   and   w-s <-> w-rs        (L2 only, no addresses)
#   router ns  r-c  10.99.1.254/24 fd00:99:1::fe/64,  r-s 10.99.2.254/24 fd00:99:2::fe/64,
#              span0 (<-> span1): a copy of every frame sent on r-c and r-s
#   server ns  veth-s  10.99.2.2/24  fd00:99:2::2/64   default via the router
# Fixed MAC addresses and permanent neighbour entries: no ARP or ND at all.
MAC_C=02:99:01:00:00:01
MAC_RC=02:99:01:00:00:fe
MAC_RS=02:99:02:00:00:fe
MAC_S=02:99:02:00:00:02
setup_routed() {
    teardown_ns
    local ns dev
    for ns in "$NS_C" "$NS_S" "$NS_R" "$NS_W"; do
        ip netns add "$ns"
        ip -n "$ns" link set lo up
    done
    ip link add name "$IF_C" netns "$NS_C" mtu 1500 address "$MAC_C" type veth peer name w-c netns "$NS_W" mtu 1500
    ip link add name r-c netns "$NS_R" mtu 1500 address "$MAC_RC" type veth peer name w-rc netns "$NS_W" mtu 1500
    ip link add name "$IF_S" netns "$NS_S" mtu 1500 address "$MAC_S" type veth peer name w-s netns "$NS_W" mtu 1500
    ip link add name r-s netns "$NS_R" mtu 1500 address "$MAC_RS" type veth peer name w-rs netns "$NS_W" mtu 1500
    ip link add name span0 netns "$NS_R" mtu 1500 type veth peer name span1 netns "$NS_R" mtu 1500
    # the delay lines: no IPv4 address, no IPv6, no ARP, nothing but frames
    for dev in w-c w-rc w-s w-rs; do
        sysctl_ns "$NS_W" "net.ipv6.conf.$dev.disable_ipv6" 1
        ip -n "$NS_W" link set "$dev" arp off
        ip netns exec "$NS_W" ethtool -K "$dev" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
        ip -n "$NS_W" link set "$dev" up
    done
    for dev in span0 span1; do
        sysctl_ns "$NS_R" "net.ipv6.conf.$dev.disable_ipv6" 1
        ip -n "$NS_R" link set "$dev" arp off
        ip -n "$NS_R" link set "$dev" up
    done
    # the router
    ip -n "$NS_R" addr add 10.99.1.254/24 dev r-c
    ip -n "$NS_R" -6 addr add fd00:99:1::fe/64 dev r-c nodad
    ip -n "$NS_R" addr add 10.99.2.254/24 dev r-s
    ip -n "$NS_R" -6 addr add fd00:99:2::fe/64 dev r-s nodad
    for dev in r-c r-s; do
        ip netns exec "$NS_R" ethtool -K "$dev" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
        ip -n "$NS_R" link set "$dev" up
        tc -n "$NS_R" qdisc add dev "$dev" clsact
        tc -n "$NS_R" filter add dev "$dev" egress protocol all u32 match u32 0 0 \
            action mirred egress mirror dev span0
    done
    sysctl_ns "$NS_R" net.ipv4.ip_forward 1
    sysctl_ns "$NS_R" net.ipv6.conf.all.forwarding 1
    sysctl_ns "$NS_R" net.ipv4.icmp_ratelimit 0
    sysctl_ns "$NS_R" net.ipv6.icmp.ratelimit 0
    ip -n "$NS_R" neigh replace 10.99.1.1 lladdr "$MAC_C" dev r-c nud permanent
    ip -n "$NS_R" neigh replace fd00:99:1::1 lladdr "$MAC_C" dev r-c nud permanent
    ip -n "$NS_R" neigh replace 10.99.2.2 lladdr "$MAC_S" dev r-s nud permanent
    ip -n "$NS_R" neigh replace fd00:99:2::2 lladdr "$MAC_S" dev r-s nud permanent
    # the two hosts
    local a4 a6 g4 g6 gmac
    for side in c s; do
        if [ "$side" = c ]; then ns="$NS_C"; dev="$IF_C"; a4=10.99.1.1; a6=fd00:99:1::1; g4=10.99.1.254; g6=fd00:99:1::fe; gmac="$MAC_RC"
        else ns="$NS_S"; dev="$IF_S"; a4=10.99.2.2; a6=fd00:99:2::2; g4=10.99.2.254; g6=fd00:99:2::fe; gmac="$MAC_RS"; fi
        ip -n "$ns" addr add "$a4/24" dev "$dev"
        ip -n "$ns" -6 addr add "$a6/64" dev "$dev" nodad
        ip netns exec "$ns" ethtool -K "$dev" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
        ip -n "$ns" link set "$dev" up
        ip -n "$ns" route add default via "$g4" dev "$dev"
        ip -n "$ns" -6 route add default via "$g6" dev "$dev"
        ip -n "$ns" neigh replace "$g4" lladdr "$gmac" dev "$dev" nud permanent
        ip -n "$ns" -6 neigh replace "$g6" lladdr "$gmac" dev "$dev" nud permanent
        host_sysctls "$ns"
    done
    local i
    for i in $(seq 1 50); do
        if ip -n "$NS_C" link show "$IF_C" | grep -q 'LOWER_UP' &&
           ip -n "$NS_S" link show "$IF_S" | grep -q 'LOWER_UP' &&
           ip -n "$NS_R" link show r-c | grep -q 'LOWER_UP' &&
           ip -n "$NS_R" link show r-s | grep -q 'LOWER_UP'; then
            return 0
        fi
        sleep 0.02
    done
    die "routed topology did not come up"
}

# Tunnel topology: the underlay veth pair, and tnl0 over it in each namespace.
#   client ns  veth-c 10.98.0.1/24 (02:98:00:00:00:01)   tnl0 10.99.0.1/24 or fd00:99::1/64
#   server ns  veth-s 10.98.0.2/24 (02:98:00:00:00:02)   tnl0 10.99.0.2/24 or fd00:99::2/64
# tnl0's MTU is 1500 minus the encapsulation's overhead; an Ethernet tunnel's
# tnl0 has a fixed MAC (02:99:00:00:00:01 / 02) and permanent neighbour
# entries, so no ARP or ND travels inside it (nor on the underlay). IPv6 is
# off where the scenario does not use it: no MLD or router solicitations.
# Sets TUNNEL_MISSING to the tunnel type when the kernel cannot make the device.
UL_MAC_C=02:98:00:00:00:01
UL_MAC_S=02:98:00:00:00:02
TN_MAC_C=02:99:00:00:00:01
TN_MAC_S=02:99:00:00:00:02
TN_DEV=tnl0
TUNNEL_MISSING=""
setup_tunnel() {
    teardown_ns
    TUNNEL_MISSING=""
    local name="$1" mtu layer kind args_c args_s fam
    read -r mtu layer kind args_c < <("$PYTHON" "$TSL" tunnel "$name" client)
    read -r _ _ _ args_s < <("$PYTHON" "$TSL" tunnel "$name" server)
    fam="$("$PYTHON" "$TSL" family "$name")"
    ip netns add "$NS_C"
    ip netns add "$NS_S"
    ip link add name "$IF_C" netns "$NS_C" mtu 1500 address "$UL_MAC_C" type veth \
        peer name "$IF_S" netns "$NS_S" mtu 1500 address "$UL_MAC_S"
    local side ns dev ul peer_ul peer_ulmac mac peer_mac a4 a6 p4 p6 args
    for side in c s; do
        if [ "$side" = c ]; then
            ns="$NS_C"; dev="$IF_C"; ul=10.98.0.1; peer_ul=10.98.0.2; peer_ulmac="$UL_MAC_S"
            mac="$TN_MAC_C"; peer_mac="$TN_MAC_S"; a4=10.99.0.1; a6=fd00:99::1; p4=10.99.0.2; p6=fd00:99::2; args="$args_c"
        else
            ns="$NS_S"; dev="$IF_S"; ul=10.98.0.2; peer_ul=10.98.0.1; peer_ulmac="$UL_MAC_C"
            mac="$TN_MAC_S"; peer_mac="$TN_MAC_C"; a4=10.99.0.2; a6=fd00:99::2; p4=10.99.0.1; p6=fd00:99::1; args="$args_s"
        fi
        ip -n "$ns" link set lo up
        sysctl_ns "$ns" "net.ipv6.conf.$dev.disable_ipv6" 1
        ip -n "$ns" addr add "$ul/24" dev "$dev"
        ip netns exec "$ns" ethtool -K "$dev" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
        ip -n "$ns" link set "$dev" up
        ip -n "$ns" neigh replace "$peer_ul" lladdr "$peer_ulmac" dev "$dev" nud permanent
        local l2=()
        [ "$layer" = l2 ] && l2=(address "$mac")
        # shellcheck disable=SC2086
        if ! ip -n "$ns" link add "$TN_DEV" mtu "$mtu" "${l2[@]}" type $args; then
            echo "make-captures: this kernel ($(uname -r)) cannot make a $kind device" >&2
            TUNNEL_MISSING="$kind"
            return 0
        fi
        if [ "$fam" = 6 ]; then
            # no link-local address, no router solicitation: only the scenario's packets
            sysctl_ns "$ns" "net.ipv6.conf.$TN_DEV.addr_gen_mode" 1
            sysctl_ns "$ns" "net.ipv6.conf.$TN_DEV.accept_ra" 0
            sysctl_ns "$ns" "net.ipv6.conf.$TN_DEV.router_solicitations" 0
            ip -n "$ns" -6 addr add "$a6/64" dev "$TN_DEV" nodad
            [ "$layer" = l2 ] && ip -n "$ns" -6 neigh replace "$p6" lladdr "$peer_mac" dev "$TN_DEV" nud permanent
        else
            sysctl_ns "$ns" "net.ipv6.conf.$TN_DEV.disable_ipv6" 1
            ip -n "$ns" addr add "$a4/24" dev "$TN_DEV"
        fi
        ip netns exec "$ns" ethtool -K "$TN_DEV" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
        ip -n "$ns" link set "$TN_DEV" up
        if [ "$layer" = l2 ] && [ "$fam" != 6 ]; then
            ip -n "$ns" neigh replace "$p4" lladdr "$peer_mac" dev "$TN_DEV" nud permanent
        fi
        host_sysctls "$ns"
    done
    wait_carrier "tunnel underlay"
}

mapfile -t ALL < <("$PYTHON" "$TSL" list)
if [ "$#" -gt 0 ]; then
    SCENARIOS=("$@")
    NAMED=1
    for s in "${SCENARIOS[@]}"; do
        printf '%s\n' "${ALL[@]}" | grep -qx -- "$s" || die "unknown scenario '$s' (known: ${ALL[*]})"
    done
else
    SCENARIOS=("${ALL[@]}")
    NAMED=""
fi

echo "kernel $(uname -r); namespaces $NS_C (client) / $NS_S (server) [routed: router $NS_R, links $NS_W]; output $OUT"
FAILED=()
SKIPPED=()
START=$SECONDS
for s in "${SCENARIOS[@]}"; do
    max="$("$PYTHON" "$TSL" attempts "$s")"
    topo="$("$PYTHON" "$TSL" topology "$s")"
    attempt=1
    while :; do
        extra=()
        if [ "$topo" = routed ]; then
            setup_routed
            extra=(--topology routed --ns-router "$NS_R" --ns-wire "$NS_W")
        elif [ "$topo" = tunnel ]; then
            setup_tunnel "$s"
            if [ -n "$TUNNEL_MISSING" ]; then
                teardown_ns
                break
            fi
            extra=(--topology tunnel)
        else
            setup_ns
        fi
        rc=0
        # in the background so that a signal to this script is handled at once
        "$PYTHON" "$TSL" drive "$s" --ns-client "$NS_C" --ns-server "$NS_S" \
            --if-client "$IF_C" --if-server "$IF_S" --out "$OUT" --attempt "$attempt" "${extra[@]}" &
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
    if [ "$topo" = tunnel ] && [ -n "$TUNNEL_MISSING" ]; then
        # a full run on a kernel without this tunnel type skips it; naming it fails
        if [ -z "$NAMED" ]; then SKIPPED+=("$s"); else FAILED+=("$s"); fi
        TUNNEL_MISSING=""
        continue
    fi
    [ "$rc" -eq 0 ] || FAILED+=("$s")
done
echo "done in $((SECONDS - START)) s"
if [ "${#SKIPPED[@]}" -gt 0 ]; then
    echo "skipped, this kernel lacks their tunnel device (captures/vm/make-captures-vm.sh runs them): ${SKIPPED[*]}"
fi
if [ "${#FAILED[@]}" -gt 0 ]; then
    echo "scenarios that failed or did not show the intended behaviour: ${FAILED[*]}" >&2
    exit 1
fi
