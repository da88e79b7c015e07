"""ICMP host-unreachable comes back for an established connection's data."""
META = dict(
    description=("After a request/response, an nft rule in the server namespace answers "
                 "every TCP segment from the client to port 7018 with ICMP destination "
                 "unreachable (host-unreachable) instead of delivering it. The client "
                 "(TCP_USER_TIMEOUT=3000 ms) writes 100 bytes and blocks in recv(): the "
                 "retransmissions each draw an ICMP error (soft errors) until the kernel "
                 "gives up; then the client writes once more."),
    patterns=["icmp-unreachable", "half-open"],
    vantage="client",
    port=7018,
)


def server(r):
    ls = r.listen_socket()
    r.ready()
    c = r.accept(ls)
    r.recv(c)
    r.send(c, b"200 OK\n")


def client(r):
    s = r.connect_to()
    r.send(s, b"GET /a\n")
    r.recv(s)
    r.user_timeout(s, 3000)
    r.sync("write")
    r.send(s, b"x" * 100)
    r.recv(s)
    r.send(s, b"y" * 10)


def drive(d):
    d.wait("client", "write")
    d.nft("server", "in ip saddr 10.99.0.1 tcp dport 7018 reject with icmp type host-unreachable")
    d.release("client", "write")
    d.sleep(1.5)
    d.snapshot("retransmitting")


def checks(d):
    icmp = [p for p in d.packets() if p["proto"] == "icmp" and p["type"] == 3]
    quoted_ok = [p for p in icmp if p.get("quoted", {}).get("dport") == 7018]
    return [
        ("ICMP destination unreachable (code 1, host) quoting the connection", [len(icmp), len(quoted_ok), sorted({p["code"] for p in icmp})],
         bool(quoted_ok) and {p["code"] for p in icmp} == {1}),
        ("client recv got EHOSTUNREACH", d.errors("client", "recv"), d.errors("client", "recv") == ["EHOSTUNREACH"]),
    ]
