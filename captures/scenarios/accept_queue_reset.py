"""The server's accept queue is full when a handshake completes, and it resets such connections."""
from accept_queue_full import LATE_PORT, REQ

META = dict(
    description=("As accept-queue-full, with net.ipv4.tcp_abort_on_overflow=1 on the server: "
                 "its kernel answers what completes a handshake while the accept queue is full "
                 "with a RST instead of dropping it. The client connect()s from port "
                 f"{LATE_PORT} (non-blocking) while an nft rule in its own namespace drops its "
                 "handshake ACK, then connects again, which fills the queue (backlog 0, the "
                 "application accept()s once, 2.5 s later); the rule goes and the client sends "
                 "a request on both, then reads both answers."),
    patterns=["peer-reset"],
    vantage="server",
    port=7026,
    sysctl={"server": {"net.ipv4.tcp_abort_on_overflow": 1}},
    nft={"client": [f"out tcp sport {LATE_PORT} tcp flags & (fin|syn|rst|psh|ack) == ack drop"]},
)


def server(r):
    ls = r.socket()
    r.reuseaddr(ls)
    r.bind(ls, (r.server_addr, r.port))
    r.listen(ls, 0)
    r.ready()
    r.sleep(2.5, "before accept()")
    c = r.accept(ls)
    r.recv(c)
    r.send(c, b"200 OK\n")
    r.recv_until_eof(c)
    r.close(c)


def client(r):
    late = r.socket()
    r.bind(late, (r.client_addr, LATE_PORT))
    r.connect_start(late)
    r.connect_finish(late)
    first = r.connect_to()
    r.sync("connected")
    for s in (late, first):
        r.send(s, REQ)
    for s in (late, first):
        r.recv(s)
    r.sync("answered")
    for s in (late, first):
        r.close(s)


def drive(d):
    d.wait("client", "connected")
    d.nft_flush("client")
    d.release("client", "connected")
    d.wait("client", "answered")
    d.listen_stats = d.nstat("server", "TcpExtListenOverflows", "TcpExtListenDrops")
    d.release("client", "answered")


def checks(d):
    stats = getattr(d, "listen_stats", {})
    return [
        ("the client's recv() on the first connection got ECONNRESET, the second its answer",
         [e.get("result") or e.get("error") for e in d.evs("client", "recv")],
         [e.get("result") or e.get("error") for e in d.evs("client", "recv")] == ["ECONNRESET", "ok"]),
        ("the server accepted one connection", len(d.evs("server", "accept")), len(d.evs("server", "accept")) == 1),
        ("the server's kernel counted listen overflows", stats, stats.get("TcpExtListenOverflows", 0) > 0),
        ("no other socket call failed", d.errors("client")[1:] + d.errors("server"), not d.errors("client")[1:] and not d.errors("server")),
    ]
