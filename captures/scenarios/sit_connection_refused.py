"""connection-refused over IPv6 through SIT (6in4, protocol 41), captured on the underlay."""
from connection_refused import server, client  # noqa: F401
from connection_refused import checks as base_checks

META = dict(
    description=("IPv6 inside IPv4: the addresses fd00:99::1 and fd00:99::2 are on the "
                 "kernel's own sit devices (6in4, protocol 41, MTU 1480) over an IPv4 veth "
                 "underlay (10.98.0.1 - 10.98.0.2). The server namespace has no listener on "
                 "port 7057; the client binds an ephemeral port and connect()s to "
                 "[fd00:99::2]:7057. The capture is taken on the client's underlay veth."),
    patterns=["connection-refused"],
    vantage="client",
    family=6,
    port=7057,
    topology="tunnel",
    directory="tunnel",
    tunnel={"type": "sit"},
)


def checks(d):
    return base_checks(d) + d.tunnel_checks()
