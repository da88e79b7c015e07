"""The server host vanishes: the client's data is retransmitted until ETIMEDOUT."""
META = dict(
    description=("After a request/response, nft rules in the server namespace silently drop "
                 "everything from and to the client (host gone, no FIN, no RST, no ICMP). The "
                 "client (TCP_USER_TIMEOUT=3000 ms, tcp_retries2=5) writes 100 bytes and blocks "
                 "in recv(): retransmissions with exponential back-off until the kernel gives "
                 "up. ss is also recorded while the client is retransmitting."),
    patterns=["half-open"],
    vantage="client",
    port=7011,
)


def server(r):
    ls = r.listen_socket()
    r.ready()
    c = r.accept(ls)
    r.recv(c)
    r.send(c, b"200 OK\n")


def client(r):
    s = r.connect_to()
    r.send(s, b"GET /a\n")
    r.recv(s)
    r.user_timeout(s, 3000)
    r.sync("write")
    r.send(s, b"x" * 100)
    r.recv(s)
    r.send(s, b"y" * 10)


def drive(d):
    d.wait("client", "write")
    d.nft("server", "in ip saddr 10.99.0.1 drop", "out ip daddr 10.99.0.1 drop")
    d.release("client", "write")
    d.sleep(1.5)
    d.snapshot("retransmitting")


def checks(d):
    data = [p for p in d.tcp_from("client") if p["len"] == 100]
    mid = d.snap("retransmitting")
    return [
        ("client data sent more than 3 times (retransmissions)", len(data), len(data) > 3),
        ("no answer from the server after the rules", len([p for p in d.tcp_from("server") if data and p["ts"] > data[0]["ts"]]),
         not [p for p in d.tcp_from("server") if data and p["ts"] > data[0]["ts"]]),
        ("client recv got ETIMEDOUT", d.errors("client", "recv"), d.errors("client", "recv") == ["ETIMEDOUT"]),
        ("server still ESTABLISHED at the end", d.state("server"), d.state("server") == "ESTAB"),
        ("client ESTABLISHED with a retransmit timer while retransmitting",
         d.state("client", "retransmitting"), d.state("client", "retransmitting") == "ESTAB"),
    ]
