"""abortive-close-linger through ERSPAN type II (session 42), captured on the underlay."""
from abortive_close_linger import META as BASE, server, client  # noqa: F401
from abortive_close_linger import checks as base_checks

META = dict(
    BASE,
    description=("abortive-close-linger's programs, unchanged, through ERSPAN type II: the "
                 "addresses 10.99.0.1 and 10.99.0.2 are on the kernel's own erspan devices "
                 "(erspan_ver 1: GRE protocol 0x88BE with sequence numbers, then the 8-byte "
                 "ERSPAN II header with session id 42 and index 7; MTU 1450) over a veth "
                 "underlay (10.98.0.1 - 10.98.0.2). ERSPAN is meant for one-way port mirroring; "
                 "here, as Linux allows, each side's erspan device both sends and receives, so "
                 "the tunnel carries both directions of the connection like GRE-TAP. The "
                 "capture is taken on the server's underlay veth. " + BASE["description"]),
    port=7054,
    topology="tunnel",
    directory="tunnel",
    tunnel={"type": "erspan", "version": 1, "session": 42, "index": 7},
)


def checks(d):
    return base_checks(d) + d.tunnel_checks()
