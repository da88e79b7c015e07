"""A busy server: 390 interleaved connections to three ports and a closed one; two
handlers leak their sockets in CLOSE-WAIT, some clients abort, some uploads are refused with a RST."""
import queue
import random
import threading
import time

CLOSED_PORT = 6000
# kind: (server port, connections, request path). The server tells the kinds apart
# by the request path only (a handler bug, not a plan), except ping-abort, which
# only its client knows about.
PLAN = {
    "web":        (8080, 90, b"/index"),      # client close()s, server close()s on EOF
    "web-leak":   (8080, 60, b"/export"),     # the server's /export handler never close()s
    "api":        (9090, 60, b"/v1/status"),
    "api-leak":   (9090, 40, b"/v1/report"),  # the server's /v1/report handler never close()s
    "upload":     (9090, 10, b"/v1/upload"),  # server close()s with the body unread: RST
    "ping":       (7000, 100, b"/ping"),      # clean FIN both ways
    "ping-abort": (7000, 20, b"/ping"),       # client SO_LINGER {1, 0} + close(): RST
    "refused":    (CLOSED_PORT, 10, None),    # nothing listens: RST+ACK, ECONNREFUSED
}
LEAKY = (b"/export/", b"/v1/report/")
LISTEN = {p: sum(n for k, (q, n, _) in PLAN.items() if q == p) for p in (8080, 9090, 7000)}
TOTAL = sum(n for _, n, _ in PLAN.values())
WORKERS = 8
THINK = (0.04, 0.2)        # s, each client worker between two connections
BODY = 1000                # upload body bytes, sent with the header in one segment
READ = 128                 # the server reads the request (line and headers) with recv(128)
HOLD = 4.5
SEED = 20240917

META = dict(
    description=(
        f"A busy server with listeners on 8080, 9090 and 7000 (backlog 128), nothing on {CLOSED_PORT}. "
        f"The client runs {WORKERS} threads that take {TOTAL} jobs, shuffled over the ports (fixed seed), from "
        f"one queue, each thread sleeping {THINK[0]}-{THINK[1]} s between two connections, so connections to "
        "all ports overlap. The server accept()s in one thread per port and handles each connection in its "
        f"own thread: recv({READ}) of the request, an answer, then recv() for EOF and close(). "
        "8080: 150 connections (90 GET /index, 60 GET /export); 9090: 110 (60 GET /v1/status, "
        f"40 GET /v1/report, 10 POST /v1/upload with a {BODY}-byte body); 7000: 120 GET /ping; "
        f"{CLOSED_PORT}: 10 connect()s (client bound first). On GET the client reads the answer and close()s. "
        "The server's /export and /v1/report handlers return after reading EOF without close(): "
        "100 sockets left in CLOSE-WAIT, each given SO_KEEPALIVE (TCP_KEEPIDLE=1, TCP_KEEPINTVL=1, "
        "TCP_KEEPCNT=9) so that their probes show in the capture how long they stay there. 20 of the "
        "/ping clients set SO_LINGER {1, 0} after reading the answer and close() (RST). For /v1/upload the "
        f"server reads only the first {READ} bytes, answers 413 and close()s with the rest of the body "
        f"unread (RST); its client recv()s twice. After the last connection the server holds everything "
        f"open for {HOLD} s. Client tcp_fin_timeout 30 s, so that the client's orphaned FIN-WAIT-2 "
        "sockets outlive the capture. Captured on the server's veth; ss recorded after the pile-up "
        "and at the end."),
    patterns=["close-wait-stuck", "abortive-close", "connection-refused"],
    vantage="server",
    port=8080,
    sysctl={"client": {"net.ipv4.tcp_fin_timeout": 30}},
    timeout=60,
)


def request(kind, i):
    path = PLAN[kind][2]
    if kind == "upload":
        head = b"POST %s/%d HTTP/1.1\r\nHost: busy\r\nContent-Length: %d\r\n\r\n" % (path, i, BODY)
        return head + bytes((i + k) % 26 + 97 for k in range(BODY))
    return b"GET %s/%d HTTP/1.1\r\nHost: busy\r\n\r\n" % (path, i)


def server(r):
    listeners = {}
    for port in LISTEN:
        s = r.socket()
        r.reuseaddr(s)
        r.bind(s, (r.server_addr, port))
        r.listen(s, 128)
        listeners[port] = s
    r.note(f"nothing listens on port {CLOSED_PORT}")
    handlers = []
    hlock = threading.Lock()

    def serve(port, ls):
        for _ in range(LISTEN[port]):
            c = r.accept(ls)
            if not c:
                return
            t = threading.Thread(target=conn, args=(port, c))
            with hlock:
                handlers.append(t)
            t.start()

    def conn(port, c):
        req = r.recv(c, READ)
        if not req:                          # an error or EOF before any request
            r.close(c)
            return
        parts = req.split(b" ")
        path = parts[1] if len(parts) > 1 else b""
        if path.startswith(b"/v1/upload/"):
            r.send(c, b"HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\n\r\n")
            r.note(f"{port} {path.decode()}: 413, close() with {len(req)} of the request read", **r._names(c))
            r.close(c)
            return
        body = b"ok %s\n" % path
        r.send(c, b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        eof = r.recv(c)
        if eof == b"" and path.startswith(LEAKY):
            r.note(f"{port} {path.decode()}: EOF ignored, never close()d", **r._names(c))
            r.keepalive(c, 1, 1, 9)
            return
        r.close(c)

    r.ready()
    acceptors = [threading.Thread(target=serve, args=(p, s)) for p, s in listeners.items()]
    for t in acceptors:
        t.start()
    for t in acceptors:
        t.join()
    with hlock:
        started = list(handlers)
    for t in started:
        t.join()
    r.sync("piled")
    r.sleep(HOLD, "100 sockets left in CLOSE-WAIT")


def client(r):
    jobs = [(kind, i) for kind, (_, n, _) in PLAN.items() for i in range(n)]
    random.Random(SEED).shuffle(jobs)
    q = queue.Queue()
    for j in jobs:
        q.put(j)

    def one(kind, i):
        port = PLAN[kind][0]
        s = r.socket()
        if kind == "refused":
            r.bind(s, (r.client_addr, 0))
        if not r.connect(s, (r.server_addr, port)):
            r.close(s)
            return
        if kind == "upload":
            r.sendall(s, request(kind, i))
            if r.recv(s):
                r.recv(s)
        else:
            r.send(s, request(kind, i))
            r.recv(s)
        if kind == "ping-abort":
            r.linger0(s)
        r.close(s)

    def worker(w):
        rng = random.Random(SEED + 1 + w)
        while True:
            try:
                kind, i = q.get_nowait()
            except queue.Empty:
                return
            one(kind, i)
            time.sleep(rng.uniform(*THINK))

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def drive(d):
    d.wait("server", "piled")
    d.release("server", "piled")
    d.sleep(1.0)
    d.snapshot("piled-up")


# -- what was observed ------------------------------------------------------

def port_of(ep):
    return int(ep.rsplit(":", 1)[1])


def kinds(d):
    """Each client connection's key (client endpoint>server endpoint) -> what its client did."""
    by_sock, out = {}, {}
    for e in d.evs("client"):
        if e["call"] == "connect" and e.get("local"):
            key = f"{e['local']}>{e.get('peer') or e.get('addr')}"
            by_sock[e["sock"]] = key
            out[key] = "refused" if e.get("error") == "ECONNREFUSED" else (
                "error:" + e["error"] if "error" in e else "ok")
    for e in d.evs("client"):
        key = by_sock.get(e.get("sock"))
        if key is None:
            continue
        if e["call"] == "setsockopt" and e.get("option") == "SO_LINGER":
            out[key] = "client-abort"
        if e["call"] == "sendall":
            out[key] = "upload"
    return out


def leaked(d):
    """client endpoint>server endpoint of every connection the server said it never close()d."""
    return sorted(f"{e['peer']}>{e['local']}" for e in d.evs("server", "note")
                  if "never close()d" in e["text"])


def close_wait(d, label):
    return sorted(f"{s['peer']}>{s['local']}" for s in d.snap(label)["server"]["sockets"]
                  if s["state"] == "CLOSE-WAIT")


def per_conn(d):
    """Packets of each connection in the capture, by client endpoint>server endpoint."""
    out = {}
    ca = d.cfg["client_addr"]
    for p in d.packets("server"):
        if p["proto"] != "tcp":
            continue
        if p["src"] == ca:
            key, frm = f"{p['src']}:{p['sport']}>{p['dst']}:{p['dport']}", "client"
        else:
            key, frm = f"{p['dst']}:{p['dport']}>{p['src']}:{p['sport']}", "server"
        out.setdefault(key, []).append((frm, p))
    return out


def wire_outcome(pk):
    fl = {"client": "".join(p["flags"] for f, p in pk if f == "client"),
          "server": "".join(p["flags"] for f, p in pk if f == "server")}
    if "R" in fl["server"] and "S" not in fl["server"]:
        return "refused"
    if "R" in fl["client"]:
        return "client RST"
    if "R" in fl["server"]:
        return "server RST"
    if "F" in fl["client"] and "F" in fl["server"]:
        return "FIN both"
    if "F" in fl["client"]:
        return "client FIN only"
    return "other"


def observe(d):
    conns = d.connections()
    by_port = {}
    for c in conns:
        by_port.setdefault(str(port_of(c["server"])), 0)
        by_port[str(port_of(c["server"]))] += 1
    wire = {}
    for key, pk in per_conn(d).items():
        o = wire_outcome(pk)
        w = wire.setdefault(str(port_of(key.split(">")[1])), {})
        w[o] = w.get(o, 0) + 1
    cw = close_wait(d, "final")
    cwp = {}
    for k in cw:
        cwp[str(port_of(k.split(">")[1]))] = cwp.get(str(port_of(k.split(">")[1])), 0) + 1
    errs = {}
    for side in ("client", "server"):
        errs[side] = {}
        for e in d.evs(side):
            if "error" in e:
                k = f"{e['call']} {e['error']}"
                errs[side][k] = errs[side].get(k, 0) + 1
    pk = d.packets("server")
    return {
        "connections_per_port": by_port,
        "wire_outcomes_per_port": wire,
        "close_wait_sockets": len(cw),
        "close_wait_per_port": cwp,
        "close_wait_sockets_after_pileup": len(close_wait(d, "piled-up")),
        "errors_by_call": errs,
        "capture_seconds": round(pk[-1]["ts"] - pk[0]["ts"], 3) if pk else None,
    }


def checks(d):
    conns = d.connections()
    per_port = {}
    for c in conns:
        per_port[port_of(c["server"])] = per_port.get(port_of(c["server"]), 0) + 1
    want_ports = {p: sum(n for q, n, _ in PLAN.values() if q == p) for p in (8080, 9090, 7000, CLOSED_PORT)}
    k = kinds(d)
    bad_connect = [c for c in conns if (c["connect"] == "ok") == (port_of(c["server"]) == CLOSED_PORT)]
    leak = leaked(d)
    cw = close_wait(d, "final")
    conn_pk = per_conn(d)
    pk = d.packets("server")
    end = pk[-1]["ts"] if pk else 0
    stuck = []
    for key in leak:
        fins = [p["ts"] for f, p in conn_pk.get(key, []) if f == "client" and "F" in p["flags"]]
        sfin = [p for f, p in conn_pk.get(key, []) if f == "server" and ("F" in p["flags"] or "R" in p["flags"])]
        stuck.append((end - fins[0]) if fins and not sfin else -1)
    outcome = {key: wire_outcome(v) for key, v in conn_pk.items()}

    def count(port, what):
        return sum(1 for key, o in outcome.items() if port_of(key.split(">")[1]) == port and o == what)

    aborts = [key for key, v in k.items() if v == "client-abort"]
    uploads = [key for key, v in k.items() if v == "upload"]
    refused = [key for key, v in k.items() if v == "refused"]
    syn_ports = [p["dport"] for p in pk if p["proto"] == "tcp" and p["flags"] == "S"]
    switches = sum(1 for a, b in zip(syn_ports, syn_ports[1:]) if a != b)
    cerr = sorted(d.errors("client"))
    serr = sorted(d.errors("server"))
    size = sum(c["bytes"] for c in d.capture_info)
    return [
        ("connection attempts per server port", per_port, per_port == want_ports),
        ("every connect() ok except the 10 to the closed port, ECONNREFUSED",
         len(bad_connect), not bad_connect and len(refused) == 10),
        ("each refused SYN answered by RST+ACK", count(CLOSED_PORT, "refused"), count(CLOSED_PORT, "refused") == 10),
        ("100 CLOSE-WAIT sockets in the server's final ss (60 on 8080, 40 on 9090), exactly the leaked ones",
         [len(cw), sum(1 for x in cw if x.endswith(":8080")), sum(1 for x in cw if x.endswith(":9090"))],
         cw == leak and len(leak) == 100 and sum(1 for x in cw if x.endswith(":8080")) == 60),
        ("no server FIN or RST on a leaked one, each in CLOSE-WAIT more than 2 s at the end of the capture",
         round(min(stuck), 3) if stuck else None, len(stuck) == 100 and min(stuck) > 2),
        ("7000: 100 closed with FIN both ways, 20 reset by the client (SO_LINGER 0)",
         [count(7000, "FIN both"), count(7000, "client RST"), len(aborts)],
         count(7000, "FIN both") == 100 and count(7000, "client RST") == 20 and len(aborts) == 20
         and all(outcome.get(a) == "client RST" for a in aborts)),
        ("8080 and 9090: the non-leaked GETs closed with FIN both ways, the uploads reset by the server",
         [count(8080, "FIN both"), count(9090, "FIN both"), count(9090, "server RST")],
         count(8080, "FIN both") == 90 and count(9090, "FIN both") == 60 and count(9090, "server RST") == 10
         and all(outcome.get(u) == "server RST" for u in uploads)),
        ("errnos: client ECONNREFUSED x10 (connect) and ECONNRESET x10 (upload recv), server ECONNRESET x20 (recv)",
         {"client": cerr, "server": serr},
         cerr == ["ECONNREFUSED"] * 10 + ["ECONNRESET"] * 10 and serr == ["ECONNRESET"] * 20
         and d.errors("client", "connect") == ["ECONNREFUSED"] * 10),
        ("ports interleaved: the destination port changes between consecutive SYNs",
         [switches, len(syn_ports)], switches > len(syn_ports) // 2),
        ("capture under 20 s and 1.5 MB", [round(end - pk[0]["ts"], 3) if pk else None, size],
         bool(pk) and end - pk[0]["ts"] < 20 and size < 1_500_000),
    ]
