"""TLS-style close: the client answers the server's close_notify + FIN with a last record; the server's kernel resets."""
META = dict(
    description=("Client sends a request. The server answers (200 bytes), sends a final "
                 "31-byte record (like a TLS close_notify alert) and close()s: FIN. The client "
                 "reads the answer, the record and end-of-file, then, like a TLS stack answering "
                 "close_notify, sends its own 31-byte record and close()s at once. The server's "
                 "socket is already closed, so its kernel answers that data with a RST. Neither "
                 "application sees an error. Captured on both sides."),
    patterns=["write-after-fin"],
    vantage="both",
    port=7035,
)

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 160\r\n\r\n" + b"t" * (200 - 40)
ALERT = b"\x15\x03\x03\x00\x1a" + bytes(range(26))          # 31 bytes, TLS 1.2 alert record shape


def server(r):
    ls = r.listen_socket()
    r.ready()
    c = r.accept(ls)
    r.recv(c)
    r.send(c, ANSWER)
    r.send(c, ALERT)
    r.close(c)


def client(r):
    s = r.connect_to()
    r.send(s, b"GET / HTTP/1.1\r\nHost: tcpsleuth\r\n\r\n")
    r.recv_until_eof(s)
    r.send(s, ALERT)
    r.close(s)


def observe(d):
    out = {}
    for v in ("client", "server"):
        rst = d.tcp_from("server", "R", v)
        out[f"{v}_capture"] = {"server_rsts": len(rst),
                               "client_fins": len(d.tcp_from("client", "F", v)),
                               "server_fins": len(d.tcp_from("server", "F", v))}
    out["server_nstat"] = d.nstat("server", "TcpOutRsts", "TcpExtTCPAbortOnData")
    return {"rst_by_server_kernel": out}


def checks(d):
    out = []
    recvs = [e.get("bytes") for e in d.evs("client", "recv")]
    sends = [(e.get("bytes"), e.get("result") or e.get("error")) for e in d.evs("client", "send")]
    for v in ("client", "server"):
        sfin = d.tcp_from("server", "F", v)
        cdata = [p for p in d.tcp_from("client", None, v) if p["len"] == len(ALERT)]
        rst = d.tcp_from("server", "R", v)
        out.append((f"{v} capture: server FIN, then the client's 31 bytes, then a RST from the server",
                    [bool(sfin), len(cdata), len(rst)],
                    bool(sfin and cdata and rst) and sfin[0]["ts"] < cdata[0]["ts"] < rst[0]["ts"]
                    and rst[0]["seq"] == cdata[0]["ack"]))
    out += [
        ("client read the answer, the record and EOF before its write", recvs[-1:], bool(recvs) and recvs[-1] == 0
         and sum(x or 0 for x in recvs) == len(ANSWER) + len(ALERT)),
        ("client's 31-byte send succeeded", sends[-1:], sends[-1:] == [(len(ALERT), "ok")]),
        ("the server's kernel counted one RST, for data on a closed socket (nstat)",
         d.nstat("server", "TcpOutRsts", "TcpExtTCPAbortOnData"),
         d.nstat("server", "TcpOutRsts", "TcpExtTCPAbortOnData") == {"TcpOutRsts": 1, "TcpExtTCPAbortOnData": 1}),
        ("no socket call failed on either side", d.errors("client") + d.errors("server"),
         not d.errors("client") and not d.errors("server")),
        ("both sockets gone at the end", [d.state("client"), d.state("server")],
         d.state("client") is None and d.state("server") is None),
    ]
    return out
