"""Client closes first: FIN/ACK both ways, the client ends in TIME-WAIT."""
META = dict(
    description=("Client connects, sends a 24-byte request, server answers 32 bytes; "
                 "the client close()s first, the server reads EOF and close()s."),
    patterns=["healthy"],
    vantage="client",
    port=7001,
)

REQ = b"GET /status tcpsleuth\r\n\r"
RESP = b"HTTP/1.0 200 OK tcpsleuth done\r\n"


def server(r):
    ls = r.listen_socket()
    r.ready()
    c = r.accept(ls)
    r.recv(c)
    r.send(c, RESP)
    r.recv(c)            # EOF: the client closed
    r.close(c)


def client(r):
    s = r.connect_to()
    r.send(s, REQ)
    r.recv(s)
    r.sleep(0.05)
    r.close(s)


def checks(d):
    return [
        ("client socket in TIME-WAIT at the end", d.state("client"), d.state("client") == "TIME-WAIT"),
        ("server socket gone at the end", d.state("server"), d.state("server") is None),
        ("server read EOF", [e.get("result") for e in d.evs("server", "recv")][-1:],
         [e.get("result") for e in d.evs("server", "recv")][-1:] == ["eof"]),
        ("no RST on the wire", len(d.tcp_from("client", "R") + d.tcp_from("server", "R")),
         not d.tcp_from("client", "R") and not d.tcp_from("server", "R")),
        ("first FIN from the client", [p["src"] for p in d.packets() if "F" in p.get("flags", "")][:1],
         [p["src"] for p in d.packets() if "F" in p.get("flags", "")][:1] == [d.cfg["client_addr"]]),
    ]
