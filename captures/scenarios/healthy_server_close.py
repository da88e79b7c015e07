"""Server closes first: the server ends in TIME-WAIT."""
META = dict(
    description=("Client connects and sends a request; the server answers, then close()s "
                 "first; the client reads the answer and EOF, then close()s."),
    patterns=["healthy"],
    vantage="server",
    port=7002,
)

REQ = b"GET /bye tcpsleuth\r\n\r\n"
RESP = b"HTTP/1.0 200 OK\r\nConnection: close\r\n\r\nbye\n"


def server(r):
    ls = r.listen_socket()
    r.ready()
    c = r.accept(ls)
    r.recv(c)
    r.send(c, RESP)
    r.close(c)


def client(r):
    s = r.connect_to()
    r.send(s, REQ)
    r.recv_until_eof(s)
    r.close(s)


def checks(d):
    fins = [p["src"] for p in d.packets() if "F" in p.get("flags", "")]
    return [
        ("server socket in TIME-WAIT at the end", d.state("server"), d.state("server") == "TIME-WAIT"),
        ("client socket gone at the end", d.state("client"), d.state("client") is None),
        ("first FIN from the server", fins[:1], fins[:1] == [d.cfg["server_addr"]]),
        ("client read EOF", [e.get("result") for e in d.evs("client", "recv")][-1:],
         [e.get("result") for e in d.evs("client", "recv")][-1:] == ["eof"]),
    ]
