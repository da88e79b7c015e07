"""Handshake completes, the client resets before the server accept()s."""
META = dict(
    description=("The server listens but does not call accept() yet. The client connect()s "
                 "(handshake completes in the kernel), sets SO_LINGER {1,0} and close()s "
                 "without sending data: RST. 200 ms later the server calls accept() and then "
                 "recv() on what it got."),
    patterns=["handshake-abort"],
    vantage="server",
    port=7015,
)


def server(r):
    ls = r.listen_socket()
    r.ready()
    r.sync("before-accept")
    c = r.accept(ls, timeout=2.0)
    if c:
        r.recv(c)


def client(r):
    s = r.connect_to()
    r.linger0(s)
    r.close(s)


def drive(d):
    d.wait("client", "hold")
    d.wait("server", "before-accept")
    d.sleep(0.2)
    d.release("server", "before-accept")


def checks(d):
    acc = d.evs("server", "accept")
    rst = d.tcp_from("client", "R")
    data = [p for p in d.tcp_from("client") if p["len"] > 0]
    return [
        ("RST from the client after the handshake, no data", [len(rst), len(data)], bool(rst) and not data),
        ("server accept() returned the reset connection (Linux)",
         [e.get("result") or e.get("error") for e in acc], [e.get("result") for e in acc] == ["ok"]),
        ("server's first recv() got ECONNRESET",
         [e.get("result") or e.get("error") for e in d.evs("server", "recv")][:1],
         [e.get("error") for e in d.evs("server", "recv")][:1] == ["ECONNRESET"]),
    ]
