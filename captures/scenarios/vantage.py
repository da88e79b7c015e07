"""One routed request/response/close, captured at the client, on the router and at the server."""
META = dict(
    description=("Routed topology: client 10.99.1.1 -- router -- server 10.99.2.2, each link "
                 "delaying every frame 10 ms each way. The client sends a request, the server "
                 "answers, the client close()s first and the server close()s after reading EOF. "
                 "The same connection is captured three times at once: on the client's veth "
                 "(vantage client), on the router's SPAN port, which receives a copy of every "
                 "frame the router transmits on either side (vantage path: both directions "
                 "after forwarding), and on the server's veth (vantage server)."),
    patterns=["healthy"],
    topology="routed",
    vantage="all",
    captures=[
        {"vantage": "client", "file": "vantage-client.pcap"},
        {"vantage": "path", "file": "vantage-path.pcap"},
        {"vantage": "server", "file": "vantage-server.pcap"},
    ],
    port=7030,
)

REQ = b"GET /vantage HTTP/1.1\r\nHost: tcpsleuth\r\n\r\n"
RESP = b"HTTP/1.1 200 OK\r\nContent-Length: 600\r\n\r\n" + b"v" * 600


def server(r):
    ls = r.listen_socket()
    r.ready()
    c = r.accept(ls)
    r.recv(c)
    r.sendall(c, RESP)
    r.recv_until_eof(c)
    r.close(c)


def client(r):
    s = r.connect_to()
    r.send(s, REQ)
    got = 0
    while got < len(RESP):
        d = r.recv(s)
        if not d:
            break
        got += len(d)
    r.close(s)


def ttls(d, vantage, side):
    return sorted(int(t) for t in next(c for c in d.capture_info if c["vantage"] == vantage)["ttl"][side]["all"])


def hs(d, vantage):
    return next(c for c in d.capture_info if c["vantage"] == vantage)["handshake"] or {}


def checks(d):
    out = []
    expect_ttl = {"client": ([64], [63]), "path": ([63], [63]), "server": ([63], [64])}
    for v, (ct, st) in expect_ttl.items():
        got = [ttls(d, v, "client"), ttls(d, v, "server")]
        out.append((f"{v} capture: TTLs of the client's / the server's packets", got, got == [ct, st]))
    for v in ("client", "path", "server"):
        pk = d.packets(v)
        fl = [p["flags"] for p in pk if p["proto"] == "tcp"]
        out.append((f"{v} capture: handshake, both FINs, no RST",
                    {"syn": fl.count("S"), "fin": sum("F" in f for f in fl), "rst": sum("R" in f for f in fl)},
                    fl.count("S") == 1 and sum("F" in f for f in fl) == 2 and not any("R" in f for f in fl)))
    c, p, s = hs(d, "client"), hs(d, "path"), hs(d, "server")
    out += [
        ("client capture: SYN->SYN-ACK the whole RTT (>= 35 ms), SYN-ACK->ACK < 5 ms",
         [c.get("syn_to_synack_ms"), c.get("synack_to_ack_ms")],
         (c.get("syn_to_synack_ms") or 0) >= 35 and (c.get("synack_to_ack_ms") or 99) < 5),
        ("path capture: both halves 15-30 ms",
         [p.get("syn_to_synack_ms"), p.get("synack_to_ack_ms")],
         all(15 <= (p.get(k) or 0) <= 30 for k in ("syn_to_synack_ms", "synack_to_ack_ms"))),
        ("server capture: SYN->SYN-ACK < 5 ms, SYN-ACK->ACK the whole RTT (>= 35 ms)",
         [s.get("syn_to_synack_ms"), s.get("synack_to_ack_ms")],
         (s.get("syn_to_synack_ms") or 99) < 5 and (s.get("synack_to_ack_ms") or 0) >= 35),
        ("no socket call failed on either side", d.errors("client") + d.errors("server"),
         not d.errors("client") and not d.errors("server")),
        ("client TIME-WAIT, server socket gone at the end", [d.state("client"), d.state("server")],
         d.state("client") == "TIME-WAIT" and d.state("server") is None),
    ]
    return out
