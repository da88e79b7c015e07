"""SYNs silently dropped: connect() times out."""
META = dict(
    description=("The server listens on port 7014 but an nft rule in the server namespace "
                 "silently drops every packet from the client to that port. The client "
                 "(tcp_syn_retries=1 in its namespace, tcp_syn_linear_timeouts left at the "
                 "kernel default) connect()s and blocks until the kernel gives up."),
    patterns=["syn-timeout"],
    vantage="server",
    port=7014,
    nft={"server": ["in ip saddr 10.99.0.1 tcp dport 7014 drop"]},
    # With tcp_syn_linear_timeouts (default 4 on 6.x) SYNs are resent 1 s apart and
    # the give-up is time based, ((2 << syn_retries) - 1) s: syn_retries=2 means
    # 6 SYNs and ETIMEDOUT after 7 s here; 1 keeps the scenario at 3 s.
    sysctl={"client": {"net.ipv4.tcp_syn_retries": 1}},
)


def server(r):
    r.listen_socket()
    r.ready()


def client(r):
    r.connect_to(bind_first=True)


def checks(d):
    syns = d.tcp_from("client", "S")
    return [
        ("client connect got ETIMEDOUT", d.errors("client", "connect"), d.errors("client", "connect") == ["ETIMEDOUT"]),
        ("SYN retransmitted (more than one SYN)", len(syns), len(syns) >= 2),
        ("no answer from the server", len(d.tcp_from("server")), not d.tcp_from("server")),
    ]
