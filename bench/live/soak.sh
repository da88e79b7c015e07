#!/bin/bash
# Live-capture soak: sudo bash bench/live/soak.sh [MINUTES] [RATE] [-- extra `tcpsleuth live` options]
#
# MINUTES of real connection churn (default 10) at RATE connections/s (default 200)
# through a veth between two network namespaces, captured by
#   tcpsleuth live -i <server's end> --metrics 127.0.0.1:0 --format json --duration MINUTESm tcp
# in the server's namespace, whose /metrics bench/live/soak.mjs scrapes every second
# (in that namespace too: the metrics listen on its loopback).
#
# Traffic, all real sockets: bench/traffic.py's server in the server namespace (it
# answers "<size> <ending>" with <size> bytes, then ends as asked), and a paced
# Python client (below) in the client namespace. Of the connections: 80% normal
# closes (the client closes first, so TIME-WAIT is the client's), 10% the server
# closes first, 3% the server resets (SO_LINGER 0), 4% the client resets after the
# answer, 3% connect to a closed port (refused). At the start, LEAKS (default 10,
# SOAK_LEAKS=N) connections whose server never closes: the client half-closes and
# holds them, so they stay in CLOSE-WAIT for the whole run, a fixed number.
#
# Connections are forgotten 60 s (TIME-WAIT) + 5 s after they end, so the tracked
# count levels off after about 70 s; RSS must then stay flat. The flatness window
# starts at 120 s (80 s for runs under 4 minutes; SOAK_FLAT_FROM=S to choose).
#
# Writes bench/work/soak-<date>.csv (a row per scrape, as it goes) and .json (run,
# summary, samples) and prints the summary: RSS, heap and tracked connections at 10%,
# 50% and 100% of the run, the RSS peak, connections opened and closed by conn_state,
# packets and drops, scrape latency and failures, and the flatness verdict.
set -euo pipefail
MIN=${1:-10}
RATE=${2:-200}
shift $(( $# > 2 ? 2 : $# ))
[ "${1:-}" = "--" ] && shift
LEAKS=${SOAK_LEAKS:-10}
case "$MIN$RATE$LEAKS" in *[!0-9]*) echo "usage: sudo bash bench/live/soak.sh [MINUTES] [RATE] [-- tcpsleuth live options] (whole numbers)" >&2; exit 2;; esac
[ "$MIN" -ge 1 ] && [ "$RATE" -ge 1 ] || { echo "soak: MINUTES and RATE must be at least 1" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "soak: needs root (network namespaces, capture): sudo bash $0 $*" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PY=$(python3 -c 'import sys; print(sys.executable)')
NODE=$(command -v node)
SECS=$((MIN * 60))
FLAT_FROM=${SOAK_FLAT_FROM:-$([ "$SECS" -ge 240 ] && echo 120 || echo 80)}
mkdir -p "$REPO/bench/work"
OUT="$REPO/bench/work/soak-$(date +%Y%m%d-%H%M%S)"
WORK=$(mktemp -d)
C=tsl-soak-$$-c
S=tsl-soak-$$-s
SRV_ADDR=10.78.0.2
PORT=8080
CLOSED_PORT=8081
LIVE= SERVER= GEN= SCRAPER=
cleanup() {
  local rc=$?
  for p in $GEN $SCRAPER $LIVE $SERVER; do kill -KILL "$p" 2>/dev/null || true; done
  for p in $GEN $SCRAPER $LIVE $SERVER; do wait "$p" 2>/dev/null || true; done
  ip netns del "$C" 2>/dev/null || true
  ip netns del "$S" 2>/dev/null || true
  if [ "$rc" != 0 ] && [ -s "$WORK/err" ]; then echo "soak: tcpsleuth's stderr:" >&2; tail -n 20 "$WORK/err" >&2; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- the paced client: RATE connections/s for SECONDS, then JSON stats on stdout.
cat > "$WORK/churn.py" <<'EOF'
import errno, json, random, selectors, socket, struct, sys, time

addr, port, closed_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rate, seconds, leaks, seed = float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
rnd = random.Random(seed)
sel = selectors.DefaultSelector()
MIX = [("fin", 0.80), ("srvfin", 0.10), ("rst", 0.03), ("clirst", 0.04), ("refused", 0.03)]
by_kind = {k: 0 for k, _ in MIX}
by_kind["keep"] = 0
outcomes = {}
LINGER0 = struct.pack("ii", 1, 0)
held = []
TIMEOUT = 10.0


def outcome(name):
    outcomes[name] = outcomes.get(name, 0) + 1


def pick():
    r = rnd.random()
    for k, p in MIX:
        if r < p:
            return k
        r -= p
    return MIX[0][0]


def start(kind):
    by_kind[kind] += 1
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    err = s.connect_ex((addr, closed_port if kind == "refused" else port))
    if err not in (0, errno.EINPROGRESS):
        outcome("connect-error")
        s.close()
        return
    size = 100 + min(int(rnd.expovariate(1 / 3000)), 60000)
    sel.register(s, selectors.EVENT_WRITE, {"kind": kind, "size": size, "got": 0, "t0": time.monotonic()})


def finish(s, name, reset=False):
    sel.unregister(s)
    if reset:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
    s.close()
    outcome(name)


def event(s, st, ev):
    kind = st["kind"]
    if ev & selectors.EVENT_WRITE:
        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            finish(s, "refused" if err == errno.ECONNREFUSED else "connect-" + errno.errorcode.get(err, str(err)))
            return
        if kind == "refused":
            finish(s, "refused-port-answered")
            return
        ending = {"clirst": "fin"}.get(kind, kind)
        try:
            s.send(f"{st['size']} {ending}\n".encode())
        except OSError:
            finish(s, "send-error")
            return
        sel.modify(s, selectors.EVENT_READ, st)
        return
    try:
        d = s.recv(65536)
    except ConnectionResetError:
        finish(s, "reset-by-server" if kind == "rst" else "unexpected-reset")
        return
    except OSError:
        finish(s, "recv-error")
        return
    st["got"] += len(d)
    if not d:
        # The server closed: expected for srvfin (and rst whose RST came as a FIN-less end).
        finish(s, "server-closed" if kind in ("srvfin", "rst") else "early-eof")
    elif st["got"] >= st["size"]:
        if kind == "fin":
            finish(s, "client-closed")
        elif kind == "keep":
            # Half-close and hold the socket: the server's end stays in CLOSE-WAIT, and
            # ours in FIN-WAIT-2 (not orphaned: no tcp_fin_timeout), so the port is never reused.
            sel.unregister(s)
            s.shutdown(socket.SHUT_WR)
            held.append(s)
            outcome("leak")
        elif kind == "clirst":
            finish(s, "client-reset", reset=True)
        # srvfin, rst: wait for the server's FIN or RST


t0 = time.monotonic()
for _ in range(leaks):
    start("keep")
end = t0 + seconds
i = 0
max_lag = 0.0
while True:
    now = time.monotonic()
    if now < end:
        due = t0 + i / rate
        burst = 0
        while due <= now and burst < 100:
            max_lag = max(max_lag, now - due)
            start(pick())
            i += 1
            burst += 1
            due = t0 + i / rate
        wait = min(max(due - time.monotonic(), 0), 0.05)
    else:
        if not sel.get_map() or now > end + TIMEOUT:
            break
        wait = 0.05
    for key, ev in sel.select(timeout=wait):
        event(key.fileobj, key.data, ev)
    if i % 256 == 0 or now >= end:
        for key in list(sel.get_map().values()):
            if now - key.data["t0"] > TIMEOUT:
                finish(key.fileobj, "timeout")
for key in list(sel.get_map().values()):
    finish(key.fileobj, "unfinished")
took = time.monotonic() - t0
json.dump({"rate": rate, "seconds": min(took, seconds), "started": i, "leaks": leaks, "byKind": by_kind,
           "outcomes": outcomes, "maxLagMs": max_lag * 1000}, sys.stdout)
print(f"churn: {i} connections in {took:.1f} s; {outcomes}", file=sys.stderr)
EOF

# ---- namespaces: client C (10.78.0.1, tslC) -- veth -- server S (10.78.0.2, tslS)
ip netns add "$C"; ip netns add "$S"
ip link add tslC netns "$C" type veth peer name tslS netns "$S"
ip -n "$C" addr add 10.78.0.1/24 dev tslC; ip -n "$S" addr add "$SRV_ADDR"/24 dev tslS
ip -n "$C" link set lo up; ip -n "$S" link set lo up
ip -n "$C" link set tslC up; ip -n "$S" link set tslS up

ip netns exec "$S" "$PY" "$REPO/bench/traffic.py" server "$SRV_ADDR" "$PORT" 2> "$WORK/server.err" &
SERVER=$!
for _ in $(seq 50); do ip netns exec "$S" ss -Hltn "sport = :$PORT" | grep -q . && break; sleep 0.1; done

echo "soak: $MIN min at $RATE connections/s, $LEAKS CLOSE-WAIT leaks; load average $(cut -d' ' -f1-3 /proc/loadavg); output $OUT.{csv,json}" >&2
ip netns exec "$S" "$NODE" "$REPO/bin/tcpsleuth.js" live -i tslS --metrics 127.0.0.1:0 --format json --duration "${MIN}m" "$@" tcp \
  > "$WORK/out" 2> "$WORK/err" &
LIVE=$!
URL=
for _ in $(seq 200); do
  URL=$(sed -n 's|^tcpsleuth: metrics on \(http://[^ ]*\)$|\1|p' "$WORK/err")
  [ -n "$URL" ] && break
  kill -0 "$LIVE" 2>/dev/null || break
  sleep 0.05
done
START_MS=$(date +%s%3N)
[ -n "$URL" ] || { echo "soak: tcpsleuth did not start" >&2; exit 1; }
[ "$(cat "/proc/$LIVE/comm")" = node ] || { echo "soak: pid $LIVE is not tcpsleuth's node" >&2; exit 1; }
sed 's/^/soak: /' "$WORK/err" >&2

ip netns exec "$S" "$NODE" "$HERE/soak.mjs" --url "$URL" --pid "$LIVE" --seconds "$SECS" --start-ms "$START_MS" \
  --hz "$(getconf CLK_TCK)" --rate "$RATE" --flat-from "$FLAT_FROM" --out "$OUT" --gen "$WORK/gen.json" --report "$WORK/out" &
SCRAPER=$!
# The churn stops 5 s before the capture, so its last connections are seen to the end.
ip netns exec "$C" "$PY" "$WORK/churn.py" "$SRV_ADDR" "$PORT" "$CLOSED_PORT" "$RATE" "$((SECS - 5))" "$LEAKS" 1 \
  > "$WORK/gen.json" 2> "$WORK/gen.err" &
GEN=$!

rc=0
wait "$GEN" || { rc=$?; echo "soak: the traffic generator failed ($rc):" >&2; cat "$WORK/gen.err" >&2; }
GEN=
sed 's/^/soak: /' "$WORK/gen.err" >&2
wait "$LIVE" || { rc=$?; echo "soak: tcpsleuth exited with $rc" >&2; }
LIVE=
wait "$SCRAPER" || { rc=$?; echo "soak: the scraper failed ($rc)" >&2; }
SCRAPER=
grep -v -e '^tcpsleuth: listening on' -e '^tcpsleuth: metrics on' "$WORK/err" | sed 's/^/soak: tcpsleuth said: /' >&2 || true
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$rc"
