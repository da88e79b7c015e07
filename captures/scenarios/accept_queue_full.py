"""The server's accept queue is full when a handshake completes: its kernel drops the ACK and the data."""
LATE_PORT = 47125

META = dict(
    description=("The server listen()s with a backlog of 0 and calls accept() only 2.5 s "
                 f"later. The client connect()s from port {LATE_PORT} (non-blocking), and an "
                 "nft rule in the client namespace drops its own handshake ACK, so the "
                 "server's kernel holds that connection in SYN-RECV while the client's is "
                 "ESTABLISHED. A second connect() completes and fills the accept queue; the "
                 "driver then removes the rule. Everything the client sends on the first "
                 "connection from then on (its request, its retransmissions, its ACKs of "
                 "the SYN-ACK the server sends again) reaches the server, whose kernel drops "
                 "it because the accept queue is full (counted in TcpExtListenOverflows), "
                 "until the application has accepted the second connection. Both connections "
                 "then carry the response, and the client close()s first. ss is recorded "
                 "while the queue is full, nstat's counters of the server namespace once "
                 "both responses came."),
    patterns=["listen-overflow"],
    vantage="server",
    port=7025,
    nft={"client": [f"out tcp sport {LATE_PORT} tcp flags & (fin|syn|rst|psh|ack) == ack drop"]},
)

# The same server as listen-queue-full: backlog 0, accept() 2.5 s after it listens.
from listen_queue_full import REQ, server  # noqa: E402,F401


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
    d.sleep(1.2)
    d.snapshot("queue-full")
    d.wait("client", "answered")
    d.listen_stats = d.nstat("server", "TcpExtListenOverflows", "TcpExtListenDrops")
    d.release("client", "answered")


def checks(d):
    conns = d.evs("client", "connect")
    recvs = d.evs("client", "recv")
    stats = getattr(d, "listen_stats", {})
    synacks = {}
    for p in d.tcp_from("server", "S"):
        synacks[p["dport"]] = synacks.get(p["dport"], 0) + 1
    late_data = [p for p in d.tcp_from("client") if p["sport"] == LATE_PORT and p["len"] > 0]
    return [
        ("both connect() calls succeeded at once", [(e.get("result"), e.get("elapsed")) for e in conns],
         len(conns) == 2 and all(e.get("result") == "ok" and e.get("elapsed", 9) < 0.5 for e in conns)),
        ("the server sent the first connection's SYN-ACK more than once, the second's once",
         synacks, synacks.get(LATE_PORT, 0) > 1 and sorted(synacks.values())[0] == 1),
        ("the first connection's request reached the server's wire more than once", len(late_data), len(late_data) > 1),
        ("client ESTABLISHED and server SYN-RECV for the first connection while the queue was full",
         (d.state("client", "queue-full", conn=0), d.state("server", "queue-full", conn=0)),
         d.state("client", "queue-full", conn=0) == "ESTAB" and d.state("server", "queue-full", conn=0) == "SYN-RECV"),
        ("both responses came, the first more than 1.5 s after its request (after the server's accept())",
         [(e.get("bytes"), e.get("elapsed")) for e in recvs],
         len(recvs) == 2 and all(e.get("bytes", 0) > 0 for e in recvs) and recvs[0].get("elapsed", 0) > 1.5),
        ("the server's kernel counted listen overflows", stats, stats.get("TcpExtListenOverflows", 0) > 0),
        ("no socket call failed on either side", d.errors("client") + d.errors("server"),
         not d.errors("client") and not d.errors("server")),
    ]
