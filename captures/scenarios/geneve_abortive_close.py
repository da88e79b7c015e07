"""abortive-close-unread through Geneve (VNI 4242, UDP 6081), captured on the underlay."""
from abortive_close_unread import META as BASE, server, client  # noqa: F401
from abortive_close_unread import checks as base_checks

META = dict(
    BASE,
    description=("abortive-close-unread's programs, unchanged, through Geneve (RFC 8926): the "
                 "addresses 10.99.0.1 and 10.99.0.2 are on the kernel's own geneve devices "
                 "(VNI 4242, UDP port 6081, no options, MTU 1450) over a veth underlay "
                 "(10.98.0.1 - 10.98.0.2); the capture is taken on the client's underlay veth. "
                 + BASE["description"]),
    port=7052,
    topology="tunnel",
    directory="tunnel",
    tunnel={"type": "geneve", "vni": 4242, "port": 6081},
)


def checks(d):
    return base_checks(d) + d.tunnel_checks()
