"""One stale tuple poked 20 times with a bare ACK; the server's kernel answers each with a RST."""
import socket
import struct

COUNT = 20
INTERVAL = 0.15
SPORT = 45036
SEQ, ACK = 0x5EED0001, 0x0BADF00D

META = dict(
    description=("The server listens on its port and has no connection at all. A raw socket "
                 "(SOCK_RAW, IPPROTO_TCP; the TCP header built by the script, the IP header by "
                 "the kernel) in the client namespace sends a bare ACK (seq 0x5EED0001, ack "
                 "0x0BADF00D, window 502, no options, no payload) from 10.99.0.1:45036 to the "
                 "server's port 20 times, 150 ms apart: a stale tuple that something keeps "
                 "poking. The server's kernel has no socket for it and answers each with a RST; "
                 "the client's kernel, which has no socket for it either, ignores the RSTs. "
                 "Captured on the server's veth. The server's kernel counter TcpOutRsts is read "
                 "with nstat at the end."),
    patterns=["stray-rst"],
    vantage="server",
    port=7036,
)


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def bare_ack(src, dst, sport, dport):
    hdr = struct.pack("!HHIIBBHHH", sport, dport, SEQ, ACK, 5 << 4, 0x10, 502, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(hdr))
    return hdr[:16] + struct.pack("!H", checksum(pseudo + hdr)) + hdr[18:]


def server(r):
    ls = r.listen_socket()
    r.ready()
    r.sync("done")           # the listener stays; no connection is ever accepted


def client(r):
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    seg = bare_ack(r.client_addr, r.server_addr, SPORT, r.port)
    for i in range(COUNT):
        try:
            n = raw.sendto(seg, (r.server_addr, 0))
            r.ev("raw_send", sock="raw", bytes=n, result="ok", flags="A", seq=SEQ, ack=ACK,
                 local=f"{r.client_addr}:{SPORT}", peer=f"{r.server_addr}:{r.port}")
        except OSError as e:
            r._fail("raw_send", None, e)
        if i < COUNT - 1:
            r.sleep(INTERVAL)
    r.sleep(0.2, "the last RST arrives")
    raw.close()


def drive(d):
    d.wait("client", "hold")
    d.release("server", "done")


def observe(d):
    n = d.nstat("server", "TcpOutRsts", "TcpInSegs", "TcpActiveOpens", "TcpPassiveOpens")
    return {"server_kernel_nstat": n,
            "server_rsts_in_capture": len(d.tcp_from("server", "R", "server")),
            "raw_acks_sent": len([e for e in d.evs("client", "raw_send") if e.get("result") == "ok"])}


def checks(d):
    acks = [p for p in d.tcp_from("client", None, "server") if p["flags"] == "A" and p["sport"] == SPORT]
    rsts = d.tcp_from("server", "R", "server")
    n = d.nstat("server", "TcpOutRsts")
    answered = [any(r["ts"] >= a["ts"] and r["seq"] == a["ack"] and r["dport"] == SPORT for r in rsts) for a in acks]
    listeners = [s["state"] for s in d.snap("final")["server"]["sockets"]]
    return [
        (f"{COUNT} raw ACKs sent and captured", [len(d.evs("client", "raw_send")), len(acks)],
         len(d.evs("client", "raw_send")) == COUNT and len(acks) == COUNT),
        ("each answered by a RST with seq = its ack number", sum(answered), all(answered) and len(rsts) == COUNT),
        ("the server's kernel counted as many RSTs sent (nstat TcpOutRsts)", n.get("TcpOutRsts"),
         n.get("TcpOutRsts") == COUNT),
        ("nothing but the ACKs and the RSTs in the capture", len(d.packets("server")),
         len(d.packets("server")) == 2 * COUNT),
        ("the server holds only its listener", listeners, listeners == ["LISTEN"]),
        ("no socket call failed", d.errors("client") + d.errors("server"),
         not d.errors("client") and not d.errors("server")),
    ]
