"""peer-reset through VXLAN on UDP 8472 (Linux's legacy default port), captured on the underlay."""
from peer_reset import META as BASE, server, client, drive  # noqa: F401
from peer_reset import checks as base_checks

META = dict(
    BASE,
    description=("peer-reset's programs, unchanged, through VXLAN on UDP port 8472 (the port "
                 "Linux used before IANA assigned 4789; `dstport 8472`), VNI 8472: the "
                 "addresses 10.99.0.1 and 10.99.0.2 are on the kernel's own vxlan devices "
                 "(MTU 1450) over a veth underlay (10.98.0.1 - 10.98.0.2), and the capture is "
                 "taken on the client's underlay veth. The nft rule that drops the server's "
                 "FIN/RST sees the inner packet before it is encapsulated. "
                 + BASE["description"]),
    port=7051,
    topology="tunnel",
    directory="tunnel",
    tunnel={"type": "vxlan", "vni": 8472, "port": 8472},
)


def checks(d):
    return base_checks(d) + d.tunnel_checks()
