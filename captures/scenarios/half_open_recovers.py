"""The path to the server drops everything for 2 s, then comes back: the connection survives."""
META = dict(
    description=("After a request/response, nft rules in the server namespace silently drop "
                 "everything from and to the client; the client writes 100 bytes and "
                 "blocks in recv(), retransmitting with exponential back-off. 2 s later the "
                 "driver removes the rules: the next retransmission reaches the server, "
                 "which answers; then the client close()s first. ss is also recorded while "
                 "the client is retransmitting."),
    patterns=["half-open"],
    vantage="client",
    port=7022,
)


def server(r):
    ls = r.listen_socket()
    r.ready()
    c = r.accept(ls)
    r.recv(c)
    r.send(c, b"200 OK\n")
    r.recv(c)
    r.send(c, b"201 back\n")
    r.recv_until_eof(c)
    r.close(c)


def client(r):
    s = r.connect_to()
    r.send(s, b"GET /a\n")
    r.recv(s)
    r.sync("write")
    r.send(s, b"x" * 100)
    r.recv(s)
    r.close(s)


def drive(d):
    d.wait("client", "write")
    d.nft("server", "in ip saddr 10.99.0.1 drop", "out ip daddr 10.99.0.1 drop")
    d.release("client", "write")
    d.sleep(1.5)
    d.snapshot("retransmitting")
    d.sleep(0.5)
    d.nft_flush("server")


def checks(d):
    data = [p for p in d.tcp_from("client") if p["len"] == 100]
    back = [p for p in d.tcp_from("server") if data and p["ts"] > data[0]["ts"]]
    recvs = [e.get("result") for e in d.evs("client", "recv")]
    return [
        ("client data sent more than 3 times (retransmissions)", len(data), len(data) > 3),
        ("the server answered after the rules were removed", len(back), bool(back)),
        ("client ESTABLISHED while retransmitting", d.state("client", "retransmitting"),
         d.state("client", "retransmitting") == "ESTAB"),
        ("client's recv() after the write got the answer", recvs, recvs == ["ok", "ok"]),
        ("no socket call failed on either side", d.errors("client") + d.errors("server"),
         not d.errors("client") and not d.errors("server")),
    ]
