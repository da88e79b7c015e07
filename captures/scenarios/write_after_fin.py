"""The client closes; the server ignores EOF and keeps writing: RST, then EPIPE."""
META = dict(
    description=("Client sends a request and close()s (FIN). The server reads the request "
                 "and the EOF, ignores it, and writes three times 200 ms apart, then reads "
                 "once more. Python ignores SIGPIPE, so the failing write shows up as an "
                 "error instead of killing the process. Captured on both sides."),
    patterns=["write-after-fin"],
    vantage="both",
    port=7007,
)


def server(r):
    ls = r.listen_socket()
    r.ready()
    c = r.accept(ls)
    r.recv(c)
    r.recv(c)                     # EOF, ignored
    for i in range(3):
        r.sleep(0.2)
        r.send(c, b"late reply part %d\n" % (i + 1))
    r.recv(c)


def client(r):
    s = r.connect_to()
    r.send(s, b"QUIT\r\n")
    r.sleep(0.05)
    r.close(s)


def checks(d):
    sends = d.evs("server", "send")
    cfin = d.tcp_from("client", "F", "client")
    rst = d.tcp_from("client", "R", "client")
    sdata = [p for p in d.tcp_from("server", None, "client") if p["len"] > 0]
    return [
        ("first write after EOF succeeded", sends[0].get("result") if sends else None,
         bool(sends) and sends[0].get("result") == "ok"),
        ("a later write failed with EPIPE", [e.get("error") for e in sends[1:]],
         "EPIPE" in [e.get("error") for e in sends[1:]]),
        ("client answered the server's data with RST",
         len(rst), bool(rst) and bool(sdata) and rst[0]["ts"] >= sdata[0]["ts"]),
        ("client FIN precedes the server's data", bool(cfin and sdata and cfin[0]["ts"] < sdata[0]["ts"]),
         bool(cfin and sdata and cfin[0]["ts"] < sdata[0]["ts"])),
        ("no socket left on either side", [d.state("client"), d.state("server")],
         d.state("client") is None and d.state("server") is None),
    ]
