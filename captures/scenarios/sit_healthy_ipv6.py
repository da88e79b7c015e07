"""healthy-ipv6 through SIT (6in4, protocol 41), captured on the underlay."""
from healthy_ipv6 import META as BASE, server, client  # noqa: F401
from healthy_ipv6 import checks as base_checks

META = dict(
    BASE,
    description=("healthy-ipv6's programs, unchanged, through SIT: the addresses fd00:99::1 and "
                 "fd00:99::2 are on the kernel's own sit devices (6in4: IPv6 inside IPv4, "
                 "protocol 41, MTU 1480) over an IPv4 veth underlay (10.98.0.1 - 10.98.0.2); "
                 "the capture is taken on the client's underlay veth. " + BASE["description"]),
    port=7058,
    topology="tunnel",
    directory="tunnel",
    tunnel={"type": "sit"},
)


def checks(d):
    return base_checks(d) + d.tunnel_checks()
