"""Both applications close() at the same instant; the FINs cross."""
import socket
import time

TBF = "root tbf rate 80kbit burst 1600 latency 1s"

META = dict(
    description=(
        "After a request/response, both applications spin until the same CLOCK_MONOTONIC "
        "instant chosen by the driver, each sends two 1472-byte UDP filler datagrams to the "
        "peer's port 9 and then close()s its TCP socket. This kernel has no netem, so to make "
        "the FINs cross deterministically both veth ends carry a tbf qdisc (" + TBF + "): "
        "the fillers empty the token bucket and each FIN waits ~150 ms in its own qdisc, "
        "long after both close() calls have put both sockets in FIN-WAIT-1. The fillers are "
        "dropped by nft in the receiving namespace and are not in the captures (the capture "
        "filter keeps TCP and ICMP only). Captured on both sides."),
    patterns=["simultaneous-close"],
    vantage="both",
    port=7005,
    tc={"client": TBF, "server": TBF},
    nft={"client": ["in udp dport 9 drop"], "server": ["in udp dport 9 drop"]},
    attempts=3,
    settle=0.5,
)

PEER = {"client": "server_addr", "server": "client_addr"}


def _close_at(r, s):
    u = socket.socket(r.family, socket.SOCK_DGRAM)
    dst = (getattr(r, PEER[r.side]), 9)
    msg = r.sync("armed")
    at = msg["at_ns"]
    while time.monotonic_ns() < at:
        pass
    u.sendto(b"f" * 1472, dst)
    u.sendto(b"f" * 1472, dst)
    r.ev("filler", result="ok", datagrams=2, bytes=1472, dst=f"{dst[0]}:9",
         late_ns=time.monotonic_ns() - at)
    r.close(s)


def server(r):
    ls = r.listen_socket()
    r.ready()
    c = r.accept(ls)
    r.recv(c)
    r.send(c, b"pong\n")
    _close_at(r, c)


def client(r):
    s = r.connect_to()
    r.send(s, b"ping\n")
    r.recv(s)
    _close_at(r, s)


def drive(d):
    d.wait("client", "armed")
    d.wait("server", "armed")
    at = time.monotonic_ns() + 300_000_000
    d.release("client", "armed", at_ns=at)
    d.release("server", "armed", at_ns=at)


def crossed(d, vantage):
    cf = d.tcp_from("client", "F", vantage)
    sf = d.tcp_from("server", "F", vantage)
    if not cf or not sf:
        return None
    cf, sf = cf[0], sf[0]
    # each first FIN's ACK field does not yet cover the other side's FIN
    return {"client_fin_acks_server_fin": cf["ack"] == (sf["seq"] + sf["len"] + 1) % 2**32,
            "server_fin_acks_client_fin": sf["ack"] == (cf["seq"] + cf["len"] + 1) % 2**32}


def checks(d):
    out = []
    for v in ("client", "server"):
        c = crossed(d, v)
        out.append((f"FINs crossed on the wire ({v}-side capture)", c,
                    c is not None and not any(c.values())))
    closes = [e["ts"] for e in d.evs(None, "close")]
    fins = [p["ts"] for p in d.tcp_from("client", "F", "client") + d.tcp_from("server", "F", "client")]
    out += [
        ("both close() calls ran before the first FIN was on the wire",
         round(min(fins) - max(closes), 6) if closes and fins else None,
         len(closes) == 2 and bool(fins) and max(closes) < min(fins)),
        ("client socket in TIME-WAIT at the end", d.state("client"), d.state("client") == "TIME-WAIT"),
        ("server socket in TIME-WAIT at the end", d.state("server"), d.state("server") == "TIME-WAIT"),
    ]
    return out
