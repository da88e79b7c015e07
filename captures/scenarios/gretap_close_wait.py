"""close-wait-stuck through GRE-TAP (key 42, sequence numbers), captured on the underlay."""
from close_wait_stuck import META as BASE, server, client  # noqa: F401
from close_wait_stuck import checks as base_checks

META = dict(
    BASE,
    description=("close-wait-stuck's programs, unchanged, through GRE-TAP: the addresses "
                 "10.99.0.1 and 10.99.0.2 are on the kernel's own gretap devices (Ethernet "
                 "over GRE, protocol 0x6558, with the RFC 2890 key 42 and sequence numbers, "
                 "MTU 1454) over a veth underlay (10.98.0.1 - 10.98.0.2); the capture is taken "
                 "on the server's underlay veth. " + BASE["description"]),
    port=7053,
    topology="tunnel",
    directory="tunnel",
    tunnel={"type": "gretap", "key": 42, "seq": True},
)


def checks(d):
    return base_checks(d) + d.tunnel_checks()
