"""half-open through IP-in-IP (protocol 4), captured on the underlay."""
from half_open import META as BASE, server, client, drive  # noqa: F401
from half_open import checks as base_checks

META = dict(
    BASE,
    description=("half-open's programs, unchanged, through IP-in-IP: the addresses 10.99.0.1 "
                 "and 10.99.0.2 are on the kernel's own ipip devices (IPv4 in IPv4, protocol "
                 "4, MTU 1480) over a veth underlay (10.98.0.1 - 10.98.0.2); the capture is "
                 "taken on the client's underlay veth. The nft rules match the inner addresses: "
                 "they drop the decapsulated packets from the client and the server's packets "
                 "to it before encapsulation. " + BASE["description"]),
    port=7056,
    topology="tunnel",
    directory="tunnel",
    tunnel={"type": "ipip"},
)


def checks(d):
    return base_checks(d) + d.tunnel_checks()
