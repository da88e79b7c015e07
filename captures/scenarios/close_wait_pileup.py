"""40 connections; the server never close()s 15 of them after EOF: a pile of CLOSE-WAIT sockets."""
COUNT = 40
HOLD = 3.5


def leaked(i):
    return i % 8 in (1, 4, 6)            # 15 of 40


META = dict(
    description=("The client makes 40 connections to the same server port one after the "
                 "other; on each it sends a request, reads the answer and close()s. The server "
                 "accept()s each, answers and reads EOF; for 25 of them it close()s, for 15 "
                 "(numbers 1, 4, 6, 9, 12, 14, ... : i % 8 in {1, 4, 6}) it never does, so they sit "
                 "in CLOSE-WAIT (the client's in FIN-WAIT-2). The server then holds everything "
                 "open for 3.5 s. Every accepted socket has SO_KEEPALIVE (TCP_KEEPIDLE=1, "
                 "TCP_KEEPINTVL=1), so the leaked ones' keep-alive probes and the client's ACKs "
                 "show in the capture how long they stay in CLOSE-WAIT. Captured on the "
                 "server's veth; ss recorded after the pile-up and at the end."),
    patterns=["close-wait-stuck"],
    vantage="server",
    port=7040,
    sysctl={"client": {"net.ipv4.tcp_fin_timeout": 10}},
)


def server(r):
    ls = r.listen_socket()
    r.ready()
    for i in range(COUNT):
        c = r.accept(ls)
        r.keepalive(c, 1, 1, 9)
        r.recv(c)
        r.send(c, b"HTTP/1.0 200 OK\r\n\r\nconn %d\n" % i)
        r.recv(c)                            # EOF
        if leaked(i):
            r.note(f"connection {i}: EOF ignored, never close()d")
        else:
            r.close(c)
    r.sync("piled")
    r.sleep(HOLD, "15 sockets left in CLOSE-WAIT")


def client(r):
    for i in range(COUNT):
        s = r.connect_to()
        r.send(s, b"GET /%d HTTP/1.0\r\n\r\n" % i)
        r.recv(s)
        r.close(s)


def drive(d):
    d.wait("server", "piled")
    d.release("server", "piled")
    d.sleep(1.0)
    d.snapshot("piled-up")


def close_wait(d, label):
    return [s for s in d.snap(label)["server"]["sockets"] if s["state"] == "CLOSE-WAIT"]


def observe(d):
    cw = close_wait(d, "final")
    return {"close_wait_sockets": len(cw),
            "close_wait_peers": sorted(s["peer"] for s in cw),
            "close_wait_sockets_after_pileup": len(close_wait(d, "piled-up"))}


def checks(d):
    conns = d.connections()
    want = sorted(conns[i]["client"] for i in range(len(conns)) if leaked(i))
    cw = close_wait(d, "final")
    pk = d.packets("server")
    cfin = {}
    for p in d.tcp_from("client", "F", "server"):
        cfin.setdefault(f"{p['src']}:{p['sport']}", p["ts"])
    sfin_to = {f"{p['dst']}:{p['dport']}" for p in d.tcp_from("server", "F", "server")}
    stuck = [pk[-1]["ts"] - cfin[c] for c in want if c in cfin] if pk else []
    return [
        ("40 connections made", len(conns), len(conns) == COUNT and all(c["connect"] == "ok" for c in conns)),
        ("15 CLOSE-WAIT sockets in the server's final ss, exactly the leaked ones",
         len(cw), sorted(s["peer"] for s in cw) == want and len(want) == 15),
        ("no server FIN for the leaked ones, one for each of the others",
         [len([c for c in want if c in sfin_to]), len(sfin_to)],
         not [c for c in want if c in sfin_to] and len(sfin_to) == COUNT - 15),
        ("every leaked one in CLOSE-WAIT more than 2 s at the end of the capture",
         round(min(stuck), 3) if stuck else None, len(stuck) == 15 and min(stuck) > 2),
        ("no socket call failed on either side", d.errors("client") + d.errors("server"),
         not d.errors("client") and not d.errors("server")),
        ("the last connection: client TIME-WAIT, server gone", [d.state("client", conn=COUNT - 1), d.state("server", conn=COUNT - 1)],
         d.state("client", conn=COUNT - 1) == "TIME-WAIT" and d.state("server", conn=COUNT - 1) is None),
    ]
