"""The server host vanishes while the client is idle: keep-alive probes until ETIMEDOUT."""
META = dict(
    description=("After a request/response the client enables SO_KEEPALIVE (TCP_KEEPIDLE=1 s, "
                 "TCP_KEEPINTVL=1 s, TCP_KEEPCNT=2) and blocks in recv() with nothing to send. "
                 "nft rules in the server namespace then silently drop everything from and to "
                 "the client: the keep-alive probes go unanswered until the kernel gives up."),
    patterns=["half-open"],
    vantage="client",
    port=7012,
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
    r.keepalive(s, 1, 1, 2)
    r.sync("idle")
    r.recv(s)


def drive(d):
    d.wait("client", "idle")
    d.nft("server", "in ip saddr 10.99.0.1 drop", "out ip daddr 10.99.0.1 drop")
    d.release("client", "idle")
    d.sleep(1.5)
    d.snapshot("probing")


def checks(d):
    probes = [p for p in d.tcp_from("client") if p["len"] <= 1 and "S" not in p["flags"]
              and "F" not in p["flags"] and "R" not in p["flags"]]
    last_server = max((p["ts"] for p in d.tcp_from("server")), default=0)
    unanswered = [p for p in probes if p["ts"] > last_server]
    return [
        ("unanswered keep-alive probes from the client", len(unanswered), len(unanswered) >= 2),
        ("client recv got ETIMEDOUT", d.errors("client", "recv"), d.errors("client", "recv") == ["ETIMEDOUT"]),
        ("server still ESTABLISHED at the end", d.state("server"), d.state("server") == "ESTAB"),
    ]
