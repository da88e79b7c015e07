"""A healthy bulk transfer through a policer: bursts of loss, recovered by SACK."""
META = dict(
    description=("The client sends a request; the server answers with 256 KiB and close()s; the "
                 "client reads to EOF and close()s. An nft rule in the client namespace "
                 "polices what the server sends (limit rate over 2000/second, burst 40 "
                 "packets, drop), so runs of consecutive segments are lost and the server "
                 "retransmits several lost segments back to back between two of the client's "
                 "ACKs (SACK and RACK loss recovery). Nothing is wrong with either peer: "
                 "both answer throughout and everything arrives."),
    patterns=["healthy"],
    vantage="server",
    port=7019,
    nft={"client": ["in ip saddr 10.99.0.2 limit rate over 2000/second burst 40 packets drop"]},
    attempts=3,
)

SIZE = 256 * 1024
REQ = b"GET /big tcpsleuth\r\n\r\n"


def server(r):
    ls = r.listen_socket()
    r.ready()
    c = r.accept(ls)
    r.recv(c)
    r.sendall(c, b"b" * SIZE)
    r.close(c)


def client(r):
    s = r.connect_to()
    r.send(s, REQ)
    r.recv_until_eof(s)
    r.close(s)


def _retransmission_runs(d):
    """Lengths of the runs of server segments sent again with no client segment between them."""
    runs, run, top = [], 0, None
    for p in d.packets():
        if p["proto"] != "tcp":
            continue
        if p["src"] == d.cfg["client_addr"]:
            if run:
                runs.append(run)
            run = 0
            continue
        if p["len"] == 0:
            continue
        end = (p["seq"] + p["len"]) & 0xFFFFFFFF
        again = top is not None and ((p["seq"] - top) & 0xFFFFFFFF) >= 0x80000000
        if again:
            run += 1
        if top is None or ((end - top) & 0xFFFFFFFF) < 0x80000000:
            top = end
    if run:
        runs.append(run)
    return runs


def checks(d):
    got = sum(e.get("bytes", 0) for e in d.evs("client", "recv"))
    runs = _retransmission_runs(d)
    return [
        ("client read all 256 KiB, then EOF", got, got == SIZE),
        ("no socket call failed on either side", d.errors("client") + d.errors("server"),
         not d.errors("client") and not d.errors("server")),
        ("server retransmitted segments", sum(runs), sum(runs) > 0),
        ("a run of at least 3 server retransmissions with no client segment between them",
         max(runs, default=0), max(runs, default=0) >= 3),
        ("server socket in TIME-WAIT at the end", d.state("server"), d.state("server") == "TIME-WAIT"),
    ]
