"""The server close()s with unread bytes in its receive buffer: Linux sends RST."""
META = dict(
    description=("Client sends a 16-byte request followed by 200 more bytes, then blocks in "
                 "recv(). The server reads only the first 16 bytes, waits 200 ms and "
                 "close()s with 200 unread bytes in its receive buffer."),
    patterns=["abortive-close"],
    vantage="client",
    port=7009,
)


def server(r):
    ls = r.listen_socket()
    r.ready()
    c = r.accept(ls)
    r.sleep(0.2, "let all client bytes arrive")
    r.recv(c, 16)
    r.close(c)


def client(r):
    s = r.connect_to()
    r.send(s, b"HEADER-16-BYTES\n")
    r.send(s, b"b" * 200)
    r.recv(s)


def checks(d):
    return [
        ("RST from the server", len(d.tcp_from("server", "R")), bool(d.tcp_from("server", "R"))),
        ("no FIN from the server", len(d.tcp_from("server", "F")), not d.tcp_from("server", "F")),
        ("client recv got ECONNRESET", d.errors("client", "recv"), d.errors("client", "recv") == ["ECONNRESET"]),
        ("neither side in TIME-WAIT", [d.state("client"), d.state("server")],
         d.state("client") is None and d.state("server") is None),
    ]
