"""SO_LINGER {1, 0} then close(): RST instead of FIN."""
META = dict(
    description=("Client sends a request and reads the answer, sets SO_LINGER "
                 "(l_onoff=1, l_linger=0) and close()s: the kernel sends RST instead of FIN. "
                 "The server is blocked in recv() waiting for the next request."),
    patterns=["abortive-close"],
    vantage="server",
    port=7008,
)


def server(r):
    ls = r.listen_socket()
    r.ready()
    c = r.accept(ls)
    r.recv(c)
    r.send(c, b"200 OK\n")
    r.recv(c)          # blocked here when the RST arrives


def client(r):
    s = r.connect_to()
    r.send(s, b"GET /x\n")
    r.recv(s)
    r.linger0(s)
    r.close(s)


def checks(d):
    return [
        ("RST from the client", len(d.tcp_from("client", "R")), bool(d.tcp_from("client", "R"))),
        ("no FIN from either side", len(d.tcp_from("client", "F") + d.tcp_from("server", "F")),
         not (d.tcp_from("client", "F") + d.tcp_from("server", "F"))),
        ("server recv got ECONNRESET", d.errors("server", "recv"), d.errors("server", "recv") == ["ECONNRESET"]),
        ("neither side in TIME-WAIT", [d.state("client"), d.state("server")],
         d.state("client") is None and d.state("server") is None),
    ]
