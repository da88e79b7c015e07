"""connection-refused through ERSPAN type III (session 43), captured on the underlay."""
from connection_refused import META as BASE, server, client  # noqa: F401
from connection_refused import checks as base_checks

META = dict(
    BASE,
    description=("connection-refused's programs, unchanged, through ERSPAN type III: the "
                 "addresses 10.99.0.1 and 10.99.0.2 are on the kernel's own erspan devices "
                 "(erspan_ver 2: GRE protocol 0x22EB with sequence numbers, then the 12-byte "
                 "ERSPAN III header with session id 43, direction ingress, hardware id 5; MTU "
                 "1446) over a veth underlay (10.98.0.1 - 10.98.0.2); each side's erspan device "
                 "sends and receives, so both directions travel in ERSPAN. The server namespace "
                 "has no listener on port 7055; the client binds an ephemeral port and "
                 "connect()s. The capture is taken on the client's underlay veth."),
    port=7055,
    topology="tunnel",
    directory="tunnel",
    tunnel={"type": "erspan", "version": 2, "session": 43, "direction": "ingress", "hwid": 5},
)


def checks(d):
    return base_checks(d) + d.tunnel_checks()
