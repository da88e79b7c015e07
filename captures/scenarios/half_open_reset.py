"""The server's host goes silent, then comes back without the connection: RST."""
META = dict(
    description=("After a request/response, nft rules in the server namespace silently drop "
                 "everything from and to the client; the server sets SO_LINGER {1,0} and "
                 "close()s, so its kernel forgets the connection and its RST is dropped too "
                 "(a host that crashed). The client writes 100 bytes and blocks in recv(), "
                 "retransmitting with exponential back-off. 2 s later the driver removes "
                 "the rules (the host is back): the next retransmission is answered with a "
                 "RST. ss is also recorded while the client is retransmitting."),
    patterns=["half-open", "peer-reset"],
    vantage="client",
    port=7023,
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
    r.send(s, b"x" * 100)
    r.recv(s)
    r.send(s, b"y" * 10)


def drive(d):
    d.wait("server", "exchanged")
    d.nft("server", "in ip saddr 10.99.0.1 drop", "out ip daddr 10.99.0.1 drop")
    d.release("server", "exchanged")
    d.wait("server", "gone")
    d.release("server", "gone")
    d.wait("client", "write")
    d.release("client", "write")
    d.sleep(1.5)
    d.snapshot("retransmitting")
    d.sleep(0.5)
    d.nft_flush("server")


def checks(d):
    data = [p for p in d.tcp_from("client") if p["len"] == 100]
    rst = d.tcp_from("server", "R")
    return [
        ("client data sent more than 3 times (retransmissions)", len(data), len(data) > 3),
        ("the server answered with RST after the rules were removed", len(rst), bool(rst and data and rst[0]["ts"] > data[-1]["ts"] - 0.001)),
        ("client ESTABLISHED with a retransmission timer, server socket gone, while retransmitting",
         [d.state("client", "retransmitting"), d.state("server", "retransmitting")],
         d.state("client", "retransmitting") == "ESTAB" and d.state("server", "retransmitting") is None),
        ("client recv got ECONNRESET", d.errors("client", "recv"), d.errors("client", "recv") == ["ECONNRESET"]),
        ("client's next send got EPIPE", d.errors("client", "send"), d.errors("client", "send") == ["EPIPE"]),
    ]
