"""A clean request/response over IPv6, client closes first."""
META = dict(
    description=("IPv6: client [fd00:99::1] connects to [fd00:99::2], sends a request, the "
                 "server answers; the client close()s first, the server reads EOF and close()s."),
    patterns=["healthy"],
    vantage="client",
    family=6,
    port=7003,
)

REQ = b"PING tcpsleuth over ipv6\n"
RESP = b"PONG tcpsleuth over ipv6, 40 bytes....\n"


def server(r):
    ls = r.listen_socket()
    r.ready()
    c = r.accept(ls)
    r.recv(c)
    r.send(c, RESP)
    r.recv(c)
    r.close(c)


def client(r):
    s = r.connect_to()
    r.send(s, REQ)
    r.recv(s)
    r.sleep(0.05)
    r.close(s)


def checks(d):
    v6 = [p for p in d.packets() if p["proto"] == "tcp" and ":" in p["src"]]
    return [
        ("all TCP packets are IPv6", len(v6), len(v6) == len([p for p in d.packets() if p["proto"] == "tcp"]) > 0),
        ("client socket in TIME-WAIT at the end", d.state("client"), d.state("client") == "TIME-WAIT"),
        ("server socket gone at the end", d.state("server"), d.state("server") is None),
        ("no RST", len(d.tcp_from("client", "R") + d.tcp_from("server", "R")),
         not (d.tcp_from("client", "R") + d.tcp_from("server", "R"))),
    ]
