"""A router's firewall forgets an idle connection and silently drops what follows."""

from middlebox_idle_reset import IDLE, client, invalid_counter, server  # noqa: F401

META = dict(
    description=("Routed topology. The router tracks connections (nf_conntrack_tcp_timeout_established=3, "
                 "nf_conntrack_tcp_loose=0) and its forward chain has `ct state invalid counter drop`. After "
                 "a request/response the client stays idle for 4.5 s, then sends 100 bytes and "
                 "calls recv(). The router's conntrack entry has expired and it drops the segment "
                 "and every retransmission: the client (tcp_retries2=3) retransmits until its "
                 "kernel gives up with ETIMEDOUT, without a RST. The server, alive all along, "
                 "sees nothing and stays ESTABLISHED. Captured on the client's veth; ss and the "
                 "router's conntrack table are recorded before the idle period, after the entry "
                 "expired, during the retransmissions and at the end."),
    patterns=["half-open"],
    topology="routed",
    vantage="client",
    port=7034,
    sysctl={"router": {"net.netfilter.nf_conntrack_tcp_timeout_established": 3,
                       "net.netfilter.nf_conntrack_tcp_loose": 0},
            "client": {"net.ipv4.tcp_retries2": 3}},
    nft={"router": ["forward ct state invalid counter drop"]},
    timeout=35,
)


def drive(d):
    d.wait("client", "idle")
    d.sleep(0.1)
    d.snapshot("before-idle")
    d.release("client", "idle")
    d.sleep(3.6)
    d.snapshot("conntrack-expired")
    d.sleep(IDLE - 3.6 + 1.5)
    d.snapshot("retransmitting")
    d.wait("client", "hold")
    d.release("server", "done")


def conntrack_has(d, label, port):
    snap = d.snap(label)
    return [l for l in snap["router"]["conntrack"] if f"dport={port}" in l]


def timer(d, label):
    c = d.connections()[0]
    for s in d.snap(label)["client"]["sockets"]:
        if s["local"] == c["client"] and s["peer"] == c["server"]:
            return s["timer"]
    return None


def observe(d):
    data = [p for p in d.tcp_from("client", None, "client") if p["len"] == 100]
    return {"client_data_transmissions": len(data),
            "router_dropped_packets": invalid_counter(d),
            "retransmission_gaps_s": [round(b["ts"] - a["ts"], 3) for a, b in zip(data, data[1:])]}


def checks(d):
    port = d.cfg["port"]
    data = [p for p in d.tcp_from("client", None, "client") if p["len"] == 100]
    after = [p for p in d.tcp_from("server", None, "client") if data and p["ts"] > data[0]["ts"]]
    t = timer(d, "retransmitting")
    return [
        ("conntrack entry before the idle period, none after 3.6 s",
         [len(conntrack_has(d, "before-idle", port)), len(conntrack_has(d, "conntrack-expired", port))],
         len(conntrack_has(d, "before-idle", port)) == 1 and not conntrack_has(d, "conntrack-expired", port)),
        ("client data sent more than 3 times (retransmissions)", len(data), len(data) > 3),
        ("nothing from the server after the client's data", len(after), not after),
        ("no RST from the client when it gave up", len(d.tcp_from("client", "R", "client")),
         not d.tcp_from("client", "R", "client")),
        ("client ESTABLISHED with a retransmission timer while retransmitting",
         [d.state("client", "retransmitting"), t],
         d.state("client", "retransmitting") == "ESTAB" and bool(t) and t["name"] == "on" and (t["retrans"] or 0) > 0),
        ("client recv ETIMEDOUT", d.errors("client"), d.errors("client") == ["ETIMEDOUT"]),
        ("server saw no error and stayed ESTABLISHED in every snapshot",
         [d.errors("server")] + [d.state("server", s["label"]) for s in d.snapshots],
         not d.errors("server") and all(d.state("server", s["label"]) == "ESTAB" for s in d.snapshots)),
        ("the router's drop rule matched every transmission of the data", [invalid_counter(d), len(data)],
         invalid_counter(d) == len(data)),
        ("client socket gone at the end", d.state("client"), d.state("client") is None),
    ]
