"""Three connections from the same fixed client port to the same server port."""
META = dict(
    description=("The client binds 10.99.0.1:40404 with SO_REUSEADDR for each of three "
                 "connections to 10.99.0.2:7017. Connection 1: the server closes first, so "
                 "the server holds the 4-tuple in TIME-WAIT; connection 2 reuses the 4-tuple "
                 "while that TIME-WAIT exists (its SYN is accepted through it) and ends with "
                 "the client's SO_LINGER {1,0} close (RST); connection 3 reuses it again and "
                 "ends with a clean client-first close. ss is recorded before each reconnect."),
    patterns=["port-reuse"],
    vantage="server",
    port=7017,
)

CPORT = 40404


def server(r):
    ls = r.listen_socket()
    r.ready()
    for i in (1, 2, 3):
        c = r.accept(ls)
        r.recv(c)
        r.send(c, b"reply %d\n" % i)
        if i == 1:
            r.close(c)
        else:
            r.recv(c)
            r.close(c)


def client(r):
    for i in (1, 2, 3):
        if i > 1:
            r.sync(f"reconnect-{i}")
        s = r.socket()
        r.reuseaddr(s)
        r.bind(s, (r.client_addr, CPORT))
        if not r.connect(s, (r.server_addr, r.port)):
            return
        r.send(s, b"request %d\n" % i)
        r.recv(s)
        if i == 1:
            r.recv(s)
            r.close(s)
        elif i == 2:
            r.linger0(s)
            r.close(s)
        else:
            r.sleep(0.05)
            r.close(s)


def drive(d):
    for i in (2, 3):
        d.wait("client", f"reconnect-{i}")
        d.sleep(0.2)
        d.snapshot(f"before-conn{i}")
        d.release("client", f"reconnect-{i}")


def checks(d):
    syns = [p for p in d.tcp_from("client", "S")]
    ports = sorted({p["sport"] for p in syns})
    return [
        ("three SYNs, all from client port 40404", [len(syns), ports], len(syns) == 3 and ports == [CPORT]),
        ("server held the 4-tuple in TIME-WAIT before connection 2", d.state("server", "before-conn2", 0),
         d.state("server", "before-conn2", 0) == "TIME-WAIT"),
        ("all three connects succeeded", [e.get("result") or e.get("error") for e in d.evs("client", "connect")],
         [e.get("result") for e in d.evs("client", "connect")] == ["ok"] * 3),
        ("connection 2 ended with a client RST", len(d.tcp_from("client", "R")), len(d.tcp_from("client", "R")) >= 1),
        ("client in TIME-WAIT at the end (connection 3)", d.state("client", "final", 2), d.state("client", "final", 2) == "TIME-WAIT"),
    ]
