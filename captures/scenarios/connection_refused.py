"""Nothing listens on the port: SYN answered by RST+ACK."""
META = dict(
    description=("The server namespace has no listener on port 7013; the client binds an "
                 "ephemeral port and connect()s."),
    patterns=["connection-refused"],
    vantage="client",
    port=7013,
)


def server(r):
    r.note("no socket listens on the port")
    r.ready()


def client(r):
    r.connect_to(bind_first=True)


def checks(d):
    rst = d.tcp_from("server", "R")
    return [
        ("client connect got ECONNREFUSED", d.errors("client", "connect"), d.errors("client", "connect") == ["ECONNREFUSED"]),
        ("SYN answered by RST+ACK", [p["flags"] for p in rst], bool(rst) and "A" in rst[0]["flags"]),
    ]
