"""The server's socket vanishes without a FIN or RST reaching the client."""
META = dict(
    description=("After a request/response, an nft rule in the server namespace drops the "
                 "server's outgoing FIN/RST segments; the server sets SO_LINGER {1,0} and "
                 "close()s, so its kernel forgets the connection and its RST never reaches the "
                 "wire (like a host that crashed and rebooted). The rule is removed, then the "
                 "client writes: the server kernel has no socket and answers with RST. The "
                 "client then reads and writes again."),
    patterns=["peer-reset"],
    vantage="client",
    port=7010,
)


def server(r):
    ls = r.listen_socket()
    r.ready()
    c = r.accept(ls)
    r.recv(c)
    r.send(c, b"200 OK\n")
    r.sync("exchanged")
    r.linger0(c)
    r.close(c)
    r.sync("gone")


def client(r):
    s = r.connect_to()
    r.send(s, b"GET /a\n")
    r.recv(s)
    r.sync("write")
    r.send(s, b"GET /b\n")
    r.sleep(0.1)
    r.recv(s)
    r.send(s, b"GET /c\n")


def drive(d):
    d.wait("server", "exchanged")
    d.nft("server", f"out tcp sport {d.cfg['port']} tcp flags & (fin | rst) != 0 drop")
    d.release("server", "exchanged")
    d.wait("server", "gone")
    d.snapshot("after-server-socket-killed")
    d.nft_flush("server")
    d.release("server", "gone")
    d.wait("client", "write")
    d.release("client", "write")


def checks(d):
    mid = d.snap("after-server-socket-killed")
    return [
        ("client ESTABLISHED, server socket gone before the write",
         [d.state("client", mid["label"]), d.state("server", mid["label"])],
         d.state("client", mid["label"]) == "ESTAB" and d.state("server", mid["label"]) is None),
        ("no FIN from the server on the wire", len(d.tcp_from("server", "F")), not d.tcp_from("server", "F")),
        ("server answered the client's data with RST", len(d.tcp_from("server", "R")), bool(d.tcp_from("server", "R"))),
        ("client recv got ECONNRESET", d.errors("client", "recv"), d.errors("client", "recv") == ["ECONNRESET"]),
        ("client's next send got EPIPE", d.errors("client", "send"), d.errors("client", "send") == ["EPIPE"]),
    ]
