"""The receiver stops reading: window 0 and zero-window probes for ~3 s."""
META = dict(
    description=("The server sets SO_RCVBUF=4096 on its listening socket, accept()s and does "
                 "not read for 3 s. The client sets SO_SNDBUF=4096 and sendall()s 20000 bytes, "
                 "so it stays blocked in the write while the server's window "
                 "drops to 0 and the client sends zero-window probes. Then the server reads "
                 "everything to EOF; the client close()s after sendall() returns, then the "
                 "server close()s. ss is also recorded during the stall."),
    patterns=["zero-window"],
    vantage="client",
    port=7016,
)


def server(r):
    ls = r.listen_socket(rcvbuf=4096)
    r.ready()
    c = r.accept(ls)
    r.sync("stalled")
    r.recv_until_eof(c)
    r.close(c)


def client(r):
    s = r.socket()
    r.sndbuf(s, 4096)
    r.connect(s, (r.server_addr, r.port))
    r.sendall(s, bytes(range(256)) * 78 + b"z" * 32)
    r.close(s)


def drive(d):
    d.wait("server", "stalled")
    d.sleep(2.0)
    d.snapshot("stalled")
    d.sleep(1.0)
    d.release("server", "stalled")


def checks(d):
    zw = [p for p in d.tcp_from("server") if p["win"] == 0]
    zw_t = zw[0]["ts"] if zw else None
    probes = [p for p in d.tcp_from("client") if zw_t and p["ts"] > zw_t and p["len"] <= 1
              and not set(p["flags"]) & set("SFR")]
    got = sum(e.get("bytes", 0) for e in d.evs("server", "recv"))
    return [
        ("server advertised window 0", len(zw), bool(zw)),
        ("client sent zero-window probes", len(probes), len(probes) >= 2),
        ("server eventually read all 20000 bytes", got, got == 20000),
        ("client send-q non-empty during the stall",
         [s["send_q"] for s in d.snap("stalled")["client"]["sockets"] if s["state"] == "ESTAB"],
         any(s["send_q"] > 0 for s in d.snap("stalled")["client"]["sockets"] if s["state"] == "ESTAB")),
        ("client socket in TIME-WAIT at the end", d.state("client"), d.state("client") == "TIME-WAIT"),
    ]
