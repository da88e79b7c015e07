"""The server's accept queue is full: the kernel drops SYNs until the application accepts."""
META = dict(
    description=("The server listen()s with a backlog of 0 and calls accept() only 2.5 s "
                 "later. The client's first connection completes and waits in the accept "
                 "queue, which is then full; the kernel drops the SYNs of its second "
                 "connection (counted in TcpExtListenOverflows and TcpExtListenDrops), "
                 "and connect() is answered only after the server has accepted the first. "
                 "Both connections then carry a request and a response, the client "
                 "close()s first. nstat's counters of the server namespace are recorded "
                 "after the second connect() returned."),
    patterns=["syn-timeout"],
    vantage="server",
    port=7024,
)

REQ = b"GET /queued tcpsleuth\r\n\r\n"


def serve(r, accepts):
    """Listen with a backlog of 0, accept `accepts` connections 2.5 s later, answer each request."""
    ls = r.socket()
    r.reuseaddr(ls)
    r.bind(ls, (r.server_addr, r.port))
    r.listen(ls, 0)
    r.ready()
    r.sleep(2.5, "before accept()")
    conns = [r.accept(ls) for _ in range(accepts)]
    for c in conns:
        r.recv(c)
        r.send(c, b"200 OK\n")
    for c in conns:
        r.recv_until_eof(c)
        r.close(c)


def server(r):
    serve(r, 2)


def client(r):
    first = r.connect_to()
    second = r.connect_to()
    r.sync("connected")
    for s in (first, second):
        r.send(s, REQ)
        r.recv(s)
    for s in (first, second):
        r.close(s)


def drive(d):
    d.sleep(1.2)
    d.snapshot("queue-full")
    d.wait("client", "connected")
    d.listen_stats = d.nstat("server", "TcpExtListenOverflows", "TcpExtListenDrops")
    d.release("client", "connected")


def checks(d):
    conns = d.evs("client", "connect")
    stats = getattr(d, "listen_stats", {})
    syns = {}
    for p in d.tcp_from("client", "S"):
        syns[p["sport"]] = syns.get(p["sport"], 0) + 1
    return [
        ("both connect() calls succeeded, the second after more than 2 s",
         [(e.get("result"), e.get("elapsed")) for e in conns],
         len(conns) == 2 and all(e.get("result") == "ok" for e in conns) and conns[1].get("elapsed", 0) > 2),
        ("the second connection's SYN was sent more than once", sorted(syns.values()),
         sorted(syns.values()) == [1, max(syns.values())] and max(syns.values()) > 1),
        ("client SYN-SENT while the queue was full", d.state("client", "queue-full", conn=1),
         d.state("client", "queue-full", conn=1) == "SYN-SENT"),
        ("the server's kernel counted listen overflows", stats, stats.get("TcpExtListenOverflows", 0) > 0),
        ("no socket call failed on either side", d.errors("client") + d.errors("server"),
         not d.errors("client") and not d.errors("server")),
    ]
