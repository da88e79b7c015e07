"""close-wait-stuck through a VXLAN tunnel (VNI 42, UDP 4789), captured on the underlay."""
from close_wait_stuck import META as BASE, server, client  # noqa: F401
from close_wait_stuck import checks as base_checks

META = dict(
    BASE,
    description=("close-wait-stuck's programs, unchanged, through VXLAN: the client's and the "
                 "server's addresses (10.99.0.1, 10.99.0.2) are on the kernel's own vxlan "
                 "devices (VNI 42, UDP port 4789, MTU 1450) over a veth underlay "
                 "(10.98.0.1 - 10.98.0.2), and the capture is taken on the server's underlay "
                 "veth, so every TCP segment is inside IPv4/UDP/VXLAN/Ethernet. "
                 + BASE["description"]),
    port=7050,
    topology="tunnel",
    directory="tunnel",
    tunnel={"type": "vxlan", "vni": 42, "port": 4789},
)


def checks(d):
    return base_checks(d) + d.tunnel_checks()
