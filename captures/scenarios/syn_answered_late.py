"""SYNs dropped for 2.5 s, then let through: connect() succeeds after ~3 s."""
META = dict(
    description=("An nft rule in the server namespace drops SYNs to the server's port; the "
                 "driver removes it 2.5 s after the client starts. The client's connect() "
                 "retransmits its SYN (linear 1 s timeouts) and the SYN sent after the rule "
                 "is gone is answered: connect() returns after ~3 s. Then a request and "
                 "response, the client close()s first. ss is also recorded while the SYNs "
                 "are dropped."),
    patterns=["syn-timeout"],
    vantage="client",
    port=7021,
    nft={"server": ["in tcp dport 7021 tcp flags & (syn | ack) == syn drop"]},
)

REQ = b"GET /slow tcpsleuth\r\n\r\n"


def server(r):
    ls = r.listen_socket()
    r.ready()
    c = r.accept(ls)
    r.recv(c)
    r.send(c, b"200 OK\n")
    r.recv_until_eof(c)
    r.close(c)


def client(r):
    s = r.connect_to()
    r.send(s, REQ)
    r.recv(s)
    r.close(s)


def drive(d):
    d.sleep(1.5)
    d.snapshot("dropping")
    d.sleep(1.0)
    d.nft_flush("server")


def checks(d):
    syns = [p for p in d.tcp_from("client", "S")]
    synack = [p for p in d.tcp_from("server", "S")]
    conn = [e for e in d.evs("client", "connect")]
    return [
        ("client SYN-SENT while the SYNs were dropped", d.state("client", "dropping"),
         d.state("client", "dropping") == "SYN-SENT"),
        ("client sent at least 3 SYNs", len(syns), len(syns) >= 3),
        ("server answered a later SYN", len(synack), len(synack) == 1),
        ("connect() succeeded after more than 2 s", [e.get("result") for e in conn],
         [e.get("result") for e in conn] == ["ok"] and bool(syns and synack and synack[0]["ts"] - syns[0]["ts"] > 2)),
        ("no socket call failed on either side", d.errors("client") + d.errors("server"),
         not d.errors("client") and not d.errors("server")),
    ]
