"""A healthy exchange captured with tcpdump -Q out on the client: only the client's packets."""
META = dict(
    description=("Client sends a request; the server answers with 16384 bytes and, after the "
                 "client's close(), reads EOF and close()s. tcpdump on the client's veth runs "
                 "with `-Q out`, so the capture holds only the packets the client sent (its "
                 "SYN, request, ACKs and FIN): the server's data shows only in the client's "
                 "acknowledgment numbers."),
    patterns=["healthy"],
    vantage="client",
    captures=[{"vantage": "client", "file": "one-sided.pcap", "direction": "out"}],
    port=7031,
)

REQ = b"GET /16k HTTP/1.1\r\nHost: tcpsleuth\r\n\r\n"
SIZE = 16384


def server(r):
    ls = r.listen_socket()
    r.ready()
    c = r.accept(ls)
    r.recv(c)
    r.sendall(c, b"d" * SIZE)
    r.recv_until_eof(c)
    r.close(c)


def client(r):
    s = r.connect_to()
    r.send(s, REQ)
    got = 0
    while got < SIZE:
        d = r.recv(s)
        if not d:
            break
        got += len(d)
    r.close(s)


def checks(d):
    pk = [p for p in d.packets("client") if p["proto"] == "tcp"]
    srcs = sorted({p["src"] for p in pk})
    syn = next((p for p in pk if p["flags"] == "S"), None)
    acks = [p["ack"] for p in pk if "A" in p["flags"]]
    # the server's ISN is not in this capture; the span of the client's ACK numbers is the data it got
    acked = (max(acks) - min(acks)) % 2**32 if acks else 0
    got = sum(e.get("bytes", 0) for e in d.evs("client", "recv"))
    return [
        ("every captured packet was sent by the client", srcs, srcs == [d.cfg["client_addr"]]),
        ("the client's SYN, data and FIN are in the capture",
         [bool(syn), sum(p["len"] for p in pk), sum("F" in p["flags"] for p in pk)],
         bool(syn) and sum(p["len"] for p in pk) == len(REQ) and sum("F" in p["flags"] for p in pk) == 1),
        ("the client's ACK numbers advance by the server's data + FIN", acked, acked == SIZE + 1),
        ("the client read all the server's bytes", got, got == SIZE),
        ("no socket call failed on either side", d.errors("client") + d.errors("server"),
         not d.errors("client") and not d.errors("server")),
        ("client TIME-WAIT, server socket gone at the end", [d.state("client"), d.state("server")],
         d.state("client") == "TIME-WAIT" and d.state("server") is None),
    ]
