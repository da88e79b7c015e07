"""The server's accept queue is full when a handshake completes, and it resets such connections."""
from accept_queue_full import LATE_PORT, client, drive  # noqa: F401
from listen_queue_full import serve

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
    # listen-queue-full's server, accepting the one connection that got in.
    serve(r, 1)


def checks(d):
    stats = getattr(d, "listen_stats", {})
    recvs = [e.get("result") or e.get("error") for e in d.evs("client", "recv")]
    return [
        ("the client's recv() on the first connection got ECONNRESET, the second its answer", recvs, recvs == ["ECONNRESET", "ok"]),
        ("the server accepted one connection", len(d.evs("server", "accept")), len(d.evs("server", "accept")) == 1),
        ("the server's kernel counted listen overflows", stats, stats.get("TcpExtListenOverflows", 0) > 0),
        ("no other socket call failed", d.errors("client")[1:] + d.errors("server"), not d.errors("client")[1:] and not d.errors("server")),
    ]
