"""tcpdump starts on a connection that is already established and has carried data."""
META = dict(
    description=("Client connects, sends a first request and reads a 3000-byte answer; only "
                 "then (0.2 s later, at a sync point) does tcpdump start on the server's veth. "
                 "The client sends a second request, reads another 3000-byte answer and "
                 "close()s; the server reads EOF and close()s. The capture has no handshake: "
                 "it begins in the middle of an established connection."),
    patterns=["healthy"],
    vantage="server",
    port=7032,
    late_capture=True,
)

SIZE = 3000


def server(r):
    ls = r.listen_socket()
    r.ready()
    c = r.accept(ls)
    for _ in range(2):
        r.recv(c)
        r.sendall(c, b"m" * SIZE)
    r.recv_until_eof(c)
    r.close(c)


def read_answer(r, s):
    got = 0
    while got < SIZE:
        d = r.recv(s)
        if not d:
            break
        got += len(d)


def client(r):
    s = r.connect_to()
    r.send(s, b"GET /first\r\n\r\n")
    read_answer(r, s)
    r.sync("midstream")
    r.send(s, b"GET /second\r\n\r\n")
    read_answer(r, s)
    r.close(s)


def drive(d):
    d.wait("client", "midstream")
    d.sleep(0.2)           # the first exchange's last ACKs are long gone
    d.start_captures()
    d.release("client", "midstream")


def checks(d):
    pk = [p for p in d.packets("server") if p["proto"] == "tcp"]
    cap = d.capture_info[0]
    conn = [e["ts"] for e in d.evs("client", "connect") if e.get("result") == "ok"]
    first_recv = [e["ts"] for e in d.evs("client", "recv") if e.get("bytes")]
    cdata = sum(p["len"] for p in d.tcp_from("client", None, "server"))
    sdata = sum(p["len"] for p in d.tcp_from("server", None, "server"))
    return [
        ("no SYN in the capture", sum("S" in p["flags"] for p in pk), not any("S" in p["flags"] for p in pk)),
        ("tcpdump started after the connect() and the first answer",
         round(cap["started_ts"] - conn[0], 3) if conn else None,
         bool(conn and first_recv and cap["started_ts"] > conn[0] and cap["started_ts"] > first_recv[0])),
        ("the capture shows the second request and answer only", [cdata, sdata],
         cdata == len(b"GET /second\r\n\r\n") and sdata == SIZE),
        ("both FINs, no RST", [sum("F" in p["flags"] for p in pk), sum("R" in p["flags"] for p in pk)],
         sum("F" in p["flags"] for p in pk) == 2 and not any("R" in p["flags"] for p in pk)),
        ("no socket call failed on either side", d.errors("client") + d.errors("server"),
         not d.errors("client") and not d.errors("server")),
        ("client TIME-WAIT, server socket gone at the end", [d.state("client"), d.state("server")],
         d.state("client") == "TIME-WAIT" and d.state("server") is None),
    ]
