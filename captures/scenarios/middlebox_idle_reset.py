"""A router's firewall forgets an idle connection and answers the next segment with a RST."""
import re

IDLE = 4.5

META = dict(
    description=("Routed topology. The router tracks connections (nf_conntrack_tcp_timeout_established=3, "
                 "nf_conntrack_tcp_loose=0, so a segment of a connection it no longer knows is "
                 "invalid) and its forward chain has `ct state invalid counter reject with tcp reset`. "
                 "After a request/response the client stays idle for 4.5 s, then sends 100 bytes "
                 "and calls recv(). The router's conntrack entry has expired: it rejects the "
                 "segment with a RST of its own, addressed from the server. The server never "
                 "sees anything and its socket stays ESTABLISHED. Captured on the client's veth; "
                 "ss and the router's conntrack table are also recorded before and after the "
                 "entry expired."),
    patterns=["middlebox-reset"],
    topology="routed",
    vantage="client",
    port=7033,
    sysctl={"router": {"net.netfilter.nf_conntrack_tcp_timeout_established": 3,
                       "net.netfilter.nf_conntrack_tcp_loose": 0}},
    nft={"router": ["forward ct state invalid counter reject with tcp reset"]},
    timeout=30,
)


def server(r):
    ls = r.listen_socket()
    r.ready()
    c = r.accept(ls)
    r.recv(c)
    r.send(c, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
    r.sync("done")          # the server application waits; its socket stays open


def client(r):
    s = r.connect_to()
    r.send(s, b"GET /a HTTP/1.1\r\nHost: tcpsleuth\r\n\r\n")
    r.recv(s)
    r.sync("idle")
    r.sleep(IDLE, "idle connection: longer than the router's 3 s conntrack timeout")
    r.send(s, b"x" * 100)
    r.recv(s)


def drive(d):
    d.wait("client", "idle")
    d.sleep(0.1)
    d.snapshot("before-idle")
    d.release("client", "idle")
    d.sleep(3.6)
    d.snapshot("conntrack-expired")
    d.wait("client", "hold")
    d.release("server", "done")


def invalid_counter(d):
    """Packets the router's `ct state invalid` rule had matched by the final snapshot (its nft
    counter; later, the exiting programs' own FINs are invalid too)."""
    m = re.search(r"ct state invalid counter packets (\d+)", d.snap("final")["router"].get("nft", ""))
    return int(m.group(1)) if m else None


def conntrack_has(d, label, port):
    snap = d.snap(label)
    return [l for l in snap["router"]["conntrack"] if f"dport={port}" in l and " tcp " in f" {l} "]


def observe(d):
    rst = [p for p in d.tcp_from("server", "R", "client")]
    return {"router_rst": {"count_in_capture": len(rst), "ttl": sorted({p["ttl"] for p in rst}),
                           "router_invalid_rule_packets": invalid_counter(d)}}


def checks(d):
    port = d.cfg["port"]
    rst = d.tcp_from("server", "R", "client")
    other = [p for p in d.tcp_from("server", None, "client") if "R" not in p["flags"]]
    data = [p for p in d.tcp_from("client", None, "client") if p["len"] == 100]
    return [
        ("conntrack entry before the idle period, none after 3.6 s",
         [len(conntrack_has(d, "before-idle", port)), len(conntrack_has(d, "conntrack-expired", port))],
         len(conntrack_has(d, "before-idle", port)) == 1 and not conntrack_has(d, "conntrack-expired", port)),
        ("one RST 'from the server' with TTL 64, the server's own packets TTL 63",
         {"rst_ttl": [p["ttl"] for p in rst], "server_ttl": sorted({p["ttl"] for p in other})},
         len(rst) == 1 and rst[0]["ttl"] == 64 and {p["ttl"] for p in other} == {63}),
        ("the RST answers the client's 100 bytes sent after > 3 s idle",
         round(data[0]["ts"] - max(p["ts"] for p in d.packets("client") if p["ts"] < data[0]["ts"]), 3) if data else None,
         bool(data and rst and rst[0]["ts"] > data[0]["ts"]
              and data[0]["ts"] - max(p["ts"] for p in d.packets("client") if p["ts"] < data[0]["ts"]) > 3)),
        ("client send ok, recv ECONNRESET",
         [e.get("result") or e.get("error") for e in d.evs("client") if e["call"] in ("send", "recv")][-2:],
         [e.get("result") or e.get("error") for e in d.evs("client") if e["call"] in ("send", "recv")][-2:] == ["ok", "ECONNRESET"]),
        ("server saw no error, its socket ESTABLISHED before, after expiry and at the end",
         [d.errors("server"), d.state("server", "before-idle"), d.state("server", "conntrack-expired"), d.state("server")],
         not d.errors("server") and d.state("server", "before-idle") == d.state("server", "conntrack-expired")
         == d.state("server") == "ESTAB"),
        ("the router's reject rule matched exactly the one segment", invalid_counter(d), invalid_counter(d) == 1),
        ("client socket gone at the end", d.state("client"), d.state("client") is None),
    ]
