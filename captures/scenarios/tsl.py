#!/usr/bin/env python3
"""Runtime for the tcpsleuth test-capture scenarios.

Three entry points, all used by ../make-captures.sh:

  tsl.py list                      names of all scenarios, in run order
  tsl.py attempts NAME             how many times make-captures.sh may retry NAME
  tsl.py topology NAME             "direct" (one veth pair), "routed" (via a router)
                                   or "tunnel" (through a tunnel over the veth pair)
  tsl.py family NAME               4 or 6: the scenario's address family
  tsl.py tunnel NAME SIDE          for topology "tunnel": the tunnel device's MTU, layer
                                   (l2/l3) and `ip link add` type arguments for SIDE
  tsl.py drive NAME --ns-client NS --ns-server NS --if-client IF --if-server IF
               --out DIR [--attempt N]
      Runs in the root namespace. Starts tcpdump in the vantage namespace(s),
      starts the two role processes (`tsl.py role ...`) inside the
      namespaces, coordinates them, adds/removes nft rules, records
      `ss -tanoi` from both namespaces before anything is torn down, and
      writes DIR/NAME.truth.json from what was observed. With --topology routed
      (and --ns-router, --ns-wire) it also runs the links' delay lines
      (`tsl.py wire`) and can capture on the router's SPAN port (vantage "path").
  tsl.py role NAME SIDE CONFIG_JSON
      Runs inside a namespace (via `ip netns exec`). Executes the scenario's
      client() or server() function with real blocking sockets and prints
      one JSON line per socket call: {"side":..,"call":..,"result":"ok",..}
      or {"side":..,"call":..,"error":"ECONNRESET","exception":..}.
  tsl.py wire DELAY_MS IF_A:IF_B [IF_C:IF_D ...]
      Runs inside the routed topology's link namespace: copies every frame
      received on IF_A to IF_B and back, DELAY_MS later (a link's latency;
      this kernel has no netem). Prints one JSON line when ready and one
      with its counters when it gets SIGTERM.

Each scenario is a module NAME.py (dashes become underscores) beside this
file defining META, server(r), client(r), optionally drive(d) and checks(d).
Nothing in a truth file is written by hand: events, ss output, sysctl
values and pcap statistics are what the programs and the kernel reported.
The checks are the scenario's intent compared with what was observed; a
failed check is recorded (ok: false) and makes make-captures.sh fail.
"""
import errno
import importlib
import json
import os
import platform
import queue
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

CLIENT4, SERVER4 = "10.99.0.1", "10.99.0.2"
CLIENT6, SERVER6 = "fd00:99::1", "fd00:99::2"
# routed topology (META topology="routed"): one router between two subnets
ROUTED = {
    "client4": "10.99.1.1", "server4": "10.99.2.2",
    "client6": "fd00:99:1::1", "server6": "fd00:99:2::2",
    "router": {"r-c": ["10.99.1.254/24", "fd00:99:1::fe/64"],
               "r-s": ["10.99.2.254/24", "fd00:99:2::fe/64"]},
    "macs": {"client veth-c": "02:99:01:00:00:01", "router r-c": "02:99:01:00:00:fe",
             "router r-s": "02:99:02:00:00:fe", "server veth-s": "02:99:02:00:00:02"},
    "link_delay_ms": 10,
    "span": "span0",
}

# tunnel topology (META topology="tunnel"): the scenario's addresses above live on
# a tunnel device, tnl0, in each namespace; the veth pair between them is the
# underlay and carries only the encapsulated packets.
UNDERLAY = {"client": "10.98.0.1", "server": "10.98.0.2"}
UNDERLAY_MACS = {"client veth-c": "02:98:00:00:00:01", "server veth-s": "02:98:00:00:00:02"}
TUNNEL_DEV = "tnl0"
TUNNEL_MACS = {"client": "02:99:00:00:00:01", "server": "02:99:00:00:00:02"}


# Bytes each encapsulation adds in front of the inner IP packet (outer IPv4
# header included): the tunnel device's MTU is 1500 minus this.
def tunnel_overhead(t):
    kind = t["type"]
    if kind in ("vxlan", "geneve"):
        return 20 + 8 + 8 + 14                      # IPv4, UDP, VXLAN/Geneve (no options), Ethernet
    if kind == "gretap":
        return 20 + 4 + 4 * bool(t.get("key") is not None) + 4 * bool(t.get("seq")) \
            + 4 * bool(t.get("csum")) + 14
    if kind == "erspan":
        return 20 + 8 + (8 if t.get("version", 1) == 1 else 12) + 14   # GRE with seq, ERSPAN II/III
    if kind in ("ipip", "sit"):
        return 20
    raise ValueError(f"unknown tunnel type {kind!r}")


def tunnel_spec(meta):
    """META tunnel with its defaults filled in (None for other topologies)."""
    if meta.get("topology") != "tunnel":
        return None
    t = dict(meta["tunnel"])
    kind = t["type"]
    if kind == "vxlan":
        t.setdefault("port", 4789)
    elif kind == "geneve":
        t.setdefault("port", 6081)
    elif kind == "erspan":
        t.setdefault("version", 1)
        t["seq"] = True                             # ERSPAN always has a GRE sequence number
    t["mtu"] = 1500 - tunnel_overhead(t)
    t["layer"] = "l3" if kind in ("ipip", "sit") else "l2"
    return t


def tunnel_link_args(t, side):
    """`ip link add tnl0 ...` arguments after `type` for one side of the tunnel."""
    local = UNDERLAY[side]
    remote = UNDERLAY["server" if side == "client" else "client"]
    dev = "veth-c" if side == "client" else "veth-s"
    kind = t["type"]
    if kind == "vxlan":
        return ["vxlan", "id", str(t["vni"]), "local", local, "remote", remote,
                "dstport", str(t["port"]), "dev", dev]
    if kind == "geneve":
        return ["geneve", "id", str(t["vni"]), "remote", remote, "dstport", str(t["port"])]
    if kind == "gretap":
        return (["gretap", "local", local, "remote", remote]
                + (["key", str(t["key"])] if t.get("key") is not None else [])
                + (["seq"] if t.get("seq") else []) + (["csum"] if t.get("csum") else []))
    if kind == "erspan":
        args = ["erspan", "local", local, "remote", remote, "seq", "key", str(t["session"]),
                "erspan_ver", str(t["version"])]
        if t["version"] == 1:
            args += ["erspan", str(t.get("index", 0))]
        else:
            args += ["erspan_dir", t.get("direction", "ingress"), "erspan_hwid", str(t.get("hwid", 0))]
        return args
    if kind in ("ipip", "sit"):
        return [kind, "local", local, "remote", remote, "ttl", "64"]
    raise ValueError(f"unknown tunnel type {kind!r}")


def tunnel_filter(t):
    """The capture filter on the underlay: the tunnel's packets and nothing else."""
    if t["type"] in ("vxlan", "geneve"):
        return f"udp port {t['port']}"
    return {"gretap": "ip proto 47", "erspan": "ip proto 47", "ipip": "ip proto 4",
            "sit": "ip proto 41"}[t["type"]]


# UDP destination ports read_pcap() decapsulates as VXLAN or Geneve
UDP_TUNNEL_PORTS = {4789: "vxlan", 8472: "vxlan", 6081: "geneve"}

# Only TCP, ICMP and ICMPv6 error messages (types < 128): no ARP, neighbour
# discovery or MLD noise in the captures.
PCAP_FILTER = "tcp or icmp or (icmp6 and ip6[40] < 128)"

ORDER = [
    "healthy-client-close",
    "healthy-server-close",
    "healthy-ipv6",
    "half-close",
    "simultaneous-close",
    "close-wait-stuck",
    "write-after-fin",
    "abortive-close-linger",
    "abortive-close-unread",
    "peer-reset",
    "half-open",
    "half-open-keepalive",
    "connection-refused",
    "syn-timeout",
    "handshake-abort",
    "zero-window",
    "port-reuse",
    "icmp-unreachable",
    "lossy-transfer",
    "close-wait-late",
    "syn-answered-late",
    "half-open-recovers",
    "half-open-reset",
    "listen-queue-full",
    "accept-queue-full",
    "accept-queue-reset",
    "vantage",
    "one-sided",
    "midstream-start",
    "middlebox-idle-reset",
    "middlebox-idle-drop",
    "tls-style-close",
    "stray-rst-storm",
    "close-wait-pileup",
    "busy-server",
    # tunnel topology: the same programs, captured on the underlay
    "vxlan-close-wait",
    "vxlan-8472-peer-reset",
    # these need a kernel with the device (captures/vm/make-captures-vm.sh)
    "geneve-abortive-close",
    "gretap-close-wait",
    "erspan-abortive-close",
    "erspan3-connection-refused",
    "ipip-half-open",
    "sit-connection-refused",
    "sit-healthy-ipv6",
]

SYSCTLS = [
    "net.ipv4.tcp_retries2",
    "net.ipv4.tcp_syn_retries",
    "net.ipv4.tcp_synack_retries",
    "net.ipv4.tcp_syn_linear_timeouts",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
    "net.ipv4.tcp_tw_reuse",
    "net.ipv4.tcp_abort_on_overflow",
    "net.ipv4.tcp_timestamps",
    "net.ipv4.tcp_sack",
    "net.ipv4.tcp_window_scaling",
    "net.ipv4.tcp_congestion_control",
    "net.ipv4.tcp_invalid_ratelimit",
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_wmem",
    "net.ipv4.icmp_ratelimit",
    "net.ipv6.icmp.ratelimit",
]


def load(name):
    return importlib.import_module(name.replace("-", "_"))


def errname(e):
    if isinstance(e, OSError) and e.errno:
        return errno.errorcode.get(e.errno, str(e.errno))
    return type(e).__name__


def fmt_addr(sa):
    host, port = sa[0], sa[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def now():
    return round(time.time(), 6)


# --------------------------------------------------------------------------
# Role side: runs inside a namespace.
# --------------------------------------------------------------------------

class Err:
    """Returned by a Role wrapper when the socket call failed."""

    def __init__(self, name, exc):
        self.name, self.exc = name, exc

    def __bool__(self):
        return False

    def __repr__(self):
        return f"Err({self.name})"


class Role:
    def __init__(self, side, cfg):
        self.side = side
        self.cfg = cfg
        self.family = socket.AF_INET6 if cfg["family"] == 6 else socket.AF_INET
        self.client_addr = cfg["client_addr"]
        self.server_addr = cfg["server_addr"]
        self.port = cfg["port"]
        self.socks = []          # every socket stays referenced until exit
        self.ids = {}
        self.connecting = {}     # id(socket) -> time its non-blocking connect() began
        # a scenario may run several threads (busy-server): one JSON line per
        # write, and one socket id per socket, even then
        self.lock = threading.RLock()

    # -- logging ----------------------------------------------------------
    def ev(self, call, **kw):
        rec = {"ts": now(), "side": self.side, "call": call}
        rec.update(kw)
        line = json.dumps(rec) + "\n"
        with self.lock:
            sys.stdout.write(line)
            sys.stdout.flush()

    def note(self, text, **kw):
        self.ev("note", text=text, **kw)

    def _sid(self, s):
        return self.ids.get(id(s), "?")

    def _names(self, s):
        d = {}
        try:
            d["local"] = fmt_addr(s.getsockname())
        except OSError:
            pass
        try:
            d["peer"] = fmt_addr(s.getpeername())
        except OSError:
            pass
        return d

    def _fail(self, call, s, e, **kw):
        fields = {"sock": self._sid(s)} if s is not None else {}
        fields.update(kw)
        self.ev(call, error=errname(e), exception=f"{type(e).__name__}: {e}", **fields)
        return Err(errname(e), e)

    def sync(self, name, **info):
        """Tell the driver we reached `name`, block until it releases us."""
        self.ev("sync", name=name, **info)
        line = sys.stdin.readline()
        return json.loads(line) if line.strip() else {}

    def ready(self):
        self.sync("ready")

    # -- sockets ----------------------------------------------------------
    def _register(self, s):
        with self.lock:
            self.socks.append(s)
            self.ids[id(s)] = f"s{len(self.socks)}"

    def socket(self):
        s = socket.socket(self.family, socket.SOCK_STREAM)
        self._register(s)
        self.ev("socket", sock=self._sid(s), result="ok",
                family="AF_INET6" if self.family == socket.AF_INET6 else "AF_INET")
        return s

    def setsockopt(self, s, optname, level, opt, value, shown=None):
        try:
            s.setsockopt(level, opt, value)
        except OSError as e:
            return self._fail("setsockopt", s, e, option=optname)
        self.ev("setsockopt", sock=self._sid(s), option=optname,
                value=shown if shown is not None else value, result="ok")
        return True

    def getsockopt_int(self, s, optname, level, opt):
        v = s.getsockopt(level, opt)
        self.ev("getsockopt", sock=self._sid(s), option=optname, value=v, result="ok")
        return v

    def reuseaddr(self, s):
        return self.setsockopt(s, "SO_REUSEADDR", socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)

    def linger0(self, s):
        return self.setsockopt(s, "SO_LINGER", socket.SOL_SOCKET, socket.SO_LINGER,
                               struct.pack("ii", 1, 0), shown={"l_onoff": 1, "l_linger": 0})

    def user_timeout(self, s, ms):
        return self.setsockopt(s, "TCP_USER_TIMEOUT", socket.IPPROTO_TCP,
                               socket.TCP_USER_TIMEOUT, ms)

    def keepalive(self, s, idle, intvl, cnt):
        self.setsockopt(s, "SO_KEEPALIVE", socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        self.setsockopt(s, "TCP_KEEPIDLE", socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, idle)
        self.setsockopt(s, "TCP_KEEPINTVL", socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, intvl)
        self.setsockopt(s, "TCP_KEEPCNT", socket.IPPROTO_TCP, socket.TCP_KEEPCNT, cnt)

    def rcvbuf(self, s, n):
        self.setsockopt(s, "SO_RCVBUF", socket.SOL_SOCKET, socket.SO_RCVBUF, n)
        return self.getsockopt_int(s, "SO_RCVBUF", socket.SOL_SOCKET, socket.SO_RCVBUF)

    def sndbuf(self, s, n):
        self.setsockopt(s, "SO_SNDBUF", socket.SOL_SOCKET, socket.SO_SNDBUF, n)
        return self.getsockopt_int(s, "SO_SNDBUF", socket.SOL_SOCKET, socket.SO_SNDBUF)

    def bind(self, s, addr):
        try:
            s.bind(addr)
        except OSError as e:
            return self._fail("bind", s, e, addr=fmt_addr(addr))
        self.ev("bind", sock=self._sid(s), result="ok", **self._names(s))
        return True

    def listen(self, s, backlog=8):
        try:
            s.listen(backlog)
        except OSError as e:
            return self._fail("listen", s, e)
        self.ev("listen", sock=self._sid(s), backlog=backlog, result="ok", **self._names(s))
        return True

    def listen_socket(self, rcvbuf=None):
        s = self.socket()
        self.reuseaddr(s)
        if rcvbuf:
            self.rcvbuf(s, rcvbuf)
        self.bind(s, (self.server_addr, self.port))
        self.listen(s)
        return s

    def connect(self, s, addr):
        t0 = time.time()
        try:
            s.connect(addr)
        except OSError as e:
            return self._fail("connect", s, e, addr=fmt_addr(addr),
                              elapsed=round(time.time() - t0, 6), **self._names(s))
        self.ev("connect", sock=self._sid(s), result="ok",
                elapsed=round(time.time() - t0, 6), **self._names(s))
        return True

    def connect_to(self, bind_port=None, bind_first=False):
        s = self.socket()
        if bind_port is not None or bind_first:
            self.bind(s, (self.client_addr, bind_port or 0))
        r = self.connect(s, (self.server_addr, self.port))
        return s if r else r

    def connect_start(self, s):
        """A non-blocking connect() to the server: the SYN goes out and the call returns at once."""
        addr = (self.server_addr, self.port)
        s.setblocking(False)
        self.connecting[id(s)] = time.time()
        err = s.connect_ex(addr)
        self.ev("connect_start", sock=self._sid(s), addr=fmt_addr(addr),
                result="ok" if err == 0 else errno.errorcode.get(err, str(err)), **self._names(s))
        return err

    def connect_finish(self, s, timeout=30):
        """Wait for a connect_start()ed socket: connect()'s outcome, as select() and SO_ERROR give it."""
        t0 = self.connecting.pop(id(s))
        select.select([], [s], [], timeout)
        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        s.setblocking(True)
        if err:
            return self._fail("connect", s, OSError(err, os.strerror(err)), nonblocking=True,
                              elapsed=round(time.time() - t0, 6), **self._names(s))
        self.ev("connect", sock=self._sid(s), result="ok", nonblocking=True,
                elapsed=round(time.time() - t0, 6), **self._names(s))
        return True

    def accept(self, ls, timeout=None):
        if timeout is not None:
            ls.settimeout(timeout)
        t0 = time.time()
        try:
            c, _ = ls.accept()
        except OSError as e:
            return self._fail("accept", ls, e, elapsed=round(time.time() - t0, 6))
        c.setblocking(True)
        self._register(c)
        self.ev("accept", sock=self._sid(ls), new_sock=self._sid(c), result="ok",
                **self._names(c))
        return c

    def send(self, s, data):
        try:
            n = s.send(data)
        except OSError as e:
            return self._fail("send", s, e, bytes=len(data))
        self.ev("send", sock=self._sid(s), bytes=n, result="ok")
        return n

    def sendall(self, s, data):
        t0 = time.time()
        try:
            s.sendall(data)
        except OSError as e:
            return self._fail("sendall", s, e, bytes=len(data),
                              elapsed=round(time.time() - t0, 6))
        self.ev("sendall", sock=self._sid(s), bytes=len(data), result="ok",
                elapsed=round(time.time() - t0, 6))
        return len(data)

    def recv(self, s, n=65536):
        t0 = time.time()
        try:
            d = s.recv(n)
        except OSError as e:
            return self._fail("recv", s, e, elapsed=round(time.time() - t0, 6))
        if d:
            self.ev("recv", sock=self._sid(s), bytes=len(d), result="ok",
                    elapsed=round(time.time() - t0, 6))
        else:
            self.ev("recv", sock=self._sid(s), bytes=0, result="eof",
                    elapsed=round(time.time() - t0, 6))
        return d

    def recv_until_eof(self, s):
        total = 0
        while True:
            d = self.recv(s)
            if not d:
                return total if d == b"" else d
            total += len(d)

    def shutdown(self, s, how):
        hows = {socket.SHUT_RD: "SHUT_RD", socket.SHUT_WR: "SHUT_WR", socket.SHUT_RDWR: "SHUT_RDWR"}
        try:
            s.shutdown(how)
        except OSError as e:
            return self._fail("shutdown", s, e, how=hows[how])
        self.ev("shutdown", sock=self._sid(s), how=hows[how], result="ok")
        return True

    def close(self, s):
        names = self._names(s)
        try:
            s.close()
        except OSError as e:
            return self._fail("close", s, e)
        self.ev("close", sock=self._sid(s), result="ok", **names)
        return True

    def sleep(self, sec, why=""):
        self.ev("sleep", seconds=sec, **({"why": why} if why else {}))
        time.sleep(sec)


def role_main(name, side, cfg_json):
    # a Ctrl-C on the terminal reaches the whole process group: the roles leave
    # stopping to the driver, so that the scenario is recorded consistently
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    cfg = json.loads(cfg_json)
    mod = load(name)
    r = Role(side, cfg)
    r.ev("start", pid=os.getpid(), sigpipe=str(signal.getsignal(signal.SIGPIPE)))
    try:
        getattr(mod, side)(r)
    except Exception:  # recorded, the driver fails the scenario
        r.ev("crash", traceback=traceback.format_exc())
    r.sync("hold")   # keep every socket open until the driver has recorded ss
    r.ev("exit")


# --------------------------------------------------------------------------
# pcap reading (for statistics and intent checks only).
# --------------------------------------------------------------------------

def read_pcap(path, stats=None):
    """The TCP and ICMP packets of a pcap file, tunnels decapsulated. `stats`, a dict,
    gets "frames": every record in the file, parsed or not."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return []
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        en = "<"
    else:
        en = ">"
    nsec = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack(en + "I", data[20:24])[0]
    off, out, frames = 24, [], 0
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(en + "IIII", data[off:off + 16])
        off += 16
        frames += 1
        frame = data[off:off + incl]
        off += incl
        ts = sec + frac / (1e9 if nsec else 1e6)
        p = parse_frame(frame, linktype)
        if p is not None:
            p["ts"] = ts
            out.append(p)
    if stats is not None:
        stats["frames"] = frames
    return out


def _ip6(b):
    return socket.inet_ntop(socket.AF_INET6, b)


def _ip4(b):
    return socket.inet_ntop(socket.AF_INET, b)


def parse_frame(frame, linktype):
    if linktype != 1 or len(frame) < 14:
        return None
    return parse_ether(frame)


def parse_ether(frame):
    if len(frame) < 14:
        return None
    etype = struct.unpack("!H", frame[12:14])[0]
    off = 14
    if etype == 0x8100 and len(frame) >= 18:       # one 802.1Q tag
        etype = struct.unpack("!H", frame[16:18])[0]
        off = 18
    return parse_ip(frame[off:], etype)


def parse_gre(body):
    """(encapsulation fields, inner ethertype, inner bytes) of a GRE packet, or None."""
    if len(body) < 4:
        return None
    flags, proto = struct.unpack("!HH", body[:4])
    off, f = 4, {"encap": "gre", "gre_proto": f"0x{proto:04x}"}
    if flags & 0x8000:
        off += 4
    if flags & 0x2000:
        f["key"] = struct.unpack("!I", body[off:off + 4])[0]
        off += 4
    if flags & 0x1000:
        f["gre_seq"] = struct.unpack("!I", body[off:off + 4])[0]
        off += 4
    inner = body[off:]
    if proto == 0x88BE and len(inner) >= 8:         # ERSPAN type II
        w0, w1 = struct.unpack("!II", inner[:8])
        f.update(encap="erspan", erspan_ver=w0 >> 28, session=w0 & 0x3FF, index=w1 & 0xFFFFF)
        return f, 0x6558, inner[8:]
    if proto == 0x22EB and len(inner) >= 12:        # ERSPAN type III
        w0, _ts, w2 = struct.unpack("!III", inner[:12])
        f.update(encap="erspan", erspan_ver=w0 >> 28, session=w0 & 0x3FF,
                 hwid=(w2 >> 4) & 0x3F, direction="egress" if w2 & 0x8 else "ingress")
        return f, 0x6558, inner[12 + (8 if w2 & 1 else 0):]
    return f, proto, inner


def parse_ip(pkt, etype, outer=None):
    if etype == 0x6558:                              # transparent Ethernet bridging
        p = parse_ether(pkt)
        if p is not None and outer is not None:
            p["outer"] = outer
        return p
    if etype == 0x0800 and len(pkt) >= 20:
        ihl = (pkt[0] & 15) * 4
        total = struct.unpack("!H", pkt[2:4])[0]
        proto, src, dst = pkt[9], _ip4(pkt[12:16]), _ip4(pkt[16:20])
        ttl = pkt[8]
        body = pkt[ihl:total]
        icmp_proto = 1
    elif etype == 0x86DD and len(pkt) >= 40:
        plen = struct.unpack("!H", pkt[4:6])[0]
        proto, src, dst = pkt[6], _ip6(pkt[8:24]), _ip6(pkt[24:40])
        ttl = pkt[7]
        body = pkt[40:40 + plen]
        icmp_proto = 58
    else:
        return None
    # a tunnel: the packet that counts is the one inside, with the outer header noted
    encap = None
    if proto in (4, 41):
        encap = ({"encap": "ipip" if proto == 4 else "sit"}, 0x0800 if proto == 4 else 0x86DD, body)
    elif proto == 47:
        encap = parse_gre(body)
    elif proto == 17 and len(body) >= 16:
        sport, dport = struct.unpack("!HH", body[:4])
        kind = UDP_TUNNEL_PORTS.get(dport)
        if kind == "vxlan":
            encap = ({"encap": "vxlan", "sport": sport, "dport": dport,
                      "vni": struct.unpack("!I", body[12:16])[0] >> 8}, 0x6558, body[16:])
        elif kind == "geneve":
            g = body[8:]
            optlen = (g[0] & 0x3F) * 4
            encap = ({"encap": "geneve", "sport": sport, "dport": dport,
                      "vni": struct.unpack("!I", g[4:8])[0] >> 8, "options_len": optlen},
                     struct.unpack("!H", g[2:4])[0], g[8 + optlen:])
    if encap is not None:
        fields, inner_type, inner = encap
        o = {"src": src, "dst": dst, "ip_proto": proto, "ttl": ttl, **fields}
        p = parse_ip(inner, inner_type, o)
        if p is not None and "outer" not in p:
            p["outer"] = o
        return p
    if proto == 6 and len(body) >= 20:
        sport, dport, seq, ack, offf, flags, win = struct.unpack("!HHIIBBH", body[:16])
        hl = (offf >> 4) * 4
        fl = "".join(c for b, c in ((1, "F"), (2, "S"), (4, "R"), (8, "P"), (16, "A"), (32, "U"))
                     if flags & b)
        return {"proto": "tcp", "src": src, "dst": dst, "sport": sport, "dport": dport,
                "seq": seq, "ack": ack, "flags": fl, "win": win, "len": len(body) - hl,
                "ttl": ttl}
    if proto == icmp_proto and len(body) >= 8:
        p = {"proto": "icmp" if proto == 1 else "icmp6", "src": src, "dst": dst,
             "type": body[0], "code": body[1], "ttl": ttl}
        inner = parse_ip(body[8:], 0x0800 if proto == 1 else 0x86DD) if len(body) > 28 else None
        if inner:
            p["quoted"] = {k: inner.get(k) for k in ("src", "dst", "sport", "dport", "seq")}
        return p
    return None


# --------------------------------------------------------------------------
# ss parsing.
# --------------------------------------------------------------------------

def parse_ss(raw):
    socks = []
    for line in raw.splitlines():
        if not line.strip() or line.startswith("State"):
            continue
        if line[0] in " \t":
            continue            # the -i detail line: kept in "raw" only
        parts = line.split()
        if len(parts) < 5:
            continue
        entry = {"state": parts[0], "recv_q": int(parts[1]), "send_q": int(parts[2]),
                 "local": parts[3], "peer": parts[4], "timer": None}
        m = re.search(r"timer:\(([^)]*)\)", line)
        if m:
            f = m.group(1).split(",")
            entry["timer"] = {"name": f[0], "expires": f[1] if len(f) > 1 else None,
                              "retrans": int(f[2]) if len(f) > 2 and f[2].isdigit() else None,
                              "raw": m.group(0)}
        socks.append(entry)
    return socks


def port_of(addr):
    return int(addr.rsplit(":", 1)[1]) if addr and ":" in addr else None


# --------------------------------------------------------------------------
# Driver side: runs in the root namespace.
# --------------------------------------------------------------------------

class ScenarioError(Exception):
    pass


class Interrupted(ScenarioError):
    pass


def _on_signal(signum, _frame):
    # first SIGINT/SIGTERM: abort the scenario but still stop tcpdump, the roles
    # and write what was observed; further signals are ignored during cleanup
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Interrupted(f"interrupted by {signal.Signals(signum).name}")


class Driver:
    def __init__(self, name, args):
        self.name = name
        self.mod = load(name)
        self.meta = self.mod.META
        self.args = args
        self.ns = {"client": args.ns_client, "server": args.ns_server}
        self.ifname = {"client": args.if_client, "server": args.if_server}
        self.topology = self.meta.get("topology", "direct")
        if self.topology != getattr(args, "topology", "direct"):
            raise SystemExit(f"{name}: META topology {self.topology!r}, but the namespaces "
                             f"were set up as {getattr(args, 'topology', 'direct')!r}")
        fam = self.meta.get("family", 4)
        self.tunnel = tunnel_spec(self.meta)
        self.pcap_filter = PCAP_FILTER
        if self.tunnel:
            self.pcap_filter = tunnel_filter(self.tunnel)
            if self.tunnel.get("port"):
                UDP_TUNNEL_PORTS[self.tunnel["port"]] = self.tunnel["type"]
        if self.topology == "routed":
            # the router's namespace; "path" captures run on its SPAN port
            self.ns.update(router=args.ns_router, path=args.ns_router, wire=args.ns_wire)
            self.ifname["path"] = ROUTED["span"]
            client_addr = ROUTED["client6"] if fam == 6 else ROUTED["client4"]
            server_addr = ROUTED["server6"] if fam == 6 else ROUTED["server4"]
        else:
            client_addr = CLIENT6 if fam == 6 else CLIENT4
            server_addr = SERVER6 if fam == 6 else SERVER4
        self.cfg = {
            "family": fam,
            "client_addr": client_addr,
            "server_addr": server_addr,
            "port": self.meta["port"],
        }
        # META directory: the files go to a subdirectory of --out (captures/tunnel/)
        self.outdir = os.path.join(args.out, self.meta.get("directory", ""))
        os.makedirs(self.outdir, exist_ok=True)
        self.wire = None
        self.wire_stats = None
        self.plan = self.capture_plan()
        self.captures_started = False
        self.events = []
        self.actions = []
        self.snapshots = []
        self.syncs = {"client": {}, "server": {}}
        self.cv = threading.Condition()
        self.procs = {}
        self.stderr = {"client": [], "server": []}
        self.dumps = []
        self.nft_ready = set()
        self.t_start = time.time()
        self.deadline = self.t_start + self.meta.get("timeout", 25)

    # -- helpers usable from scenario drive() -----------------------------
    def run_ns(self, side, *cmd, record=True, check=True, stdin=None):
        full = ["ip", "netns", "exec", self.ns[side], *cmd]
        p = subprocess.run(full, input=stdin, capture_output=True, text=True)
        if record:
            self.actions.append({"ts": now(), "side": side, "command": " ".join(cmd)
                                 + (f" <<< {stdin.strip()}" if stdin else ""),
                                 "rc": p.returncode,
                                 **({"stderr": p.stderr.strip()} if p.stderr.strip() else {})})
        if check and p.returncode != 0:
            raise ScenarioError(f"{' '.join(full)} failed: {p.stderr.strip()}")
        return p.stdout

    def sysctl(self, side, key, value):
        self.run_ns(side, "sysctl", "-w", f"{key}={value}")

    def nft(self, side, *rules):
        if side not in self.nft_ready:
            self.run_ns(side, "nft", "-f", "-", stdin=(
                "add table inet tsl\n"
                "add chain inet tsl in { type filter hook input priority 0; policy accept; }\n"
                "add chain inet tsl out { type filter hook output priority 0; policy accept; }\n"
                + ("add chain inet tsl forward { type filter hook forward priority 0; policy accept; }\n"
                   if side == "router" else "")))
            self.nft_ready.add(side)
        for rule in rules:
            self.run_ns(side, "nft", "add", "rule", "inet", "tsl", *rule.split())

    def nstat(self, side, *counters):
        """The absolute values of nstat `counters` in `side`'s namespace, as a dict (not recorded as an action)."""
        out = self.run_ns(side, "nstat", "-az", *counters, record=False)
        rows = (line.split() for line in out.splitlines())
        return {r[0]: int(r[1]) for r in rows if len(r) >= 2 and r[0] in counters}

    def nft_flush(self, side):
        self.run_ns(side, "nft", "flush", "table", "inet", "tsl")

    def sleep(self, sec):
        time.sleep(sec)

    def wait(self, side, name, timeout=None):
        limit = self.deadline if timeout is None else min(self.deadline, time.time() + timeout)
        with self.cv:
            while name not in self.syncs[side]:
                proc = self.procs.get(side)
                if proc is not None and proc.poll() is not None:
                    raise ScenarioError(f"{side} exited before sync {name!r}")
                left = limit - time.time()
                if left <= 0:
                    raise ScenarioError(f"timeout waiting for {side} sync {name!r}")
                self.cv.wait(min(left, 0.2))
            return self.syncs[side][name]

    def release(self, side, name, **payload):
        p = self.procs[side]
        p.stdin.write(json.dumps({"name": name, **payload}) + "\n")
        p.stdin.flush()

    def snapshot(self, label):
        snap = {"label": label, "ts": now()}
        for side in ("client", "server"):
            raw = self.run_ns(side, "ss", "-tanoi", record=False)
            snap[side] = {"namespace_role": side, "raw": raw, "sockets": parse_ss(raw)}
        if self.topology == "routed":
            # the router's connection tracking table (empty unless a rule uses ct)
            raw = self.run_ns("router", "cat", "/proc/net/nf_conntrack", record=False, check=False)
            snap["router"] = {"namespace_role": "router",
                              "conntrack": [l for l in raw.splitlines() if l.strip()]}
            if "router" in self.nft_ready:
                # the scenario's rules with their counters, while every socket is still open
                snap["router"]["nft"] = self.run_ns("router", "nft", "list", "table", "inet", "tsl",
                                                    record=False, check=False)
        self.snapshots.append(snap)
        return snap

    # -- processes --------------------------------------------------------
    def _reader(self, side, stream):
        for line in stream:
            line = line.rstrip("\n")
            try:
                rec = json.loads(line)
            except ValueError:
                rec = {"ts": now(), "side": side, "call": "stdout", "text": line}
            with self.cv:
                if rec.get("call") == "sync":
                    self.syncs[side][rec["name"]] = rec
                else:
                    self.events.append(rec)
                self.cv.notify_all()
        with self.cv:
            self.cv.notify_all()

    def _err_reader(self, side, stream):
        for line in stream:
            self.stderr[side].append(line.rstrip("\n"))

    def spawn(self, side):
        cmd = ["ip", "netns", "exec", self.ns[side], sys.executable, "-u",
               os.path.join(HERE, "tsl.py"), "role", self.name, side, json.dumps(self.cfg)]
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, bufsize=1)
        self.procs[side] = p
        threading.Thread(target=self._reader, args=(side, p.stdout), daemon=True).start()
        threading.Thread(target=self._err_reader, args=(side, p.stderr), daemon=True).start()

    def capture_plan(self):
        """The captures to take: META `captures` (a list of {vantage, file, direction}) or
        one per side named by META `vantage` (client, server, both)."""
        if "captures" in self.meta:
            plan = [dict(c) for c in self.meta["captures"]]
        elif self.meta["vantage"] == "both":
            plan = [{"vantage": "client", "file": f"{self.name}.pcap"},
                    {"vantage": "server", "file": f"{self.name}.server.pcap"}]
        else:
            plan = [{"vantage": self.meta["vantage"], "file": f"{self.name}.pcap"}]
        for c in plan:
            if c["vantage"] == "path" and self.topology != "routed":
                raise SystemExit(f"{self.name}: a path capture needs topology='routed'")
        return plan

    def start_captures(self):
        """Start every capture of the plan (at once, or from drive() with META late_capture)."""
        if self.captures_started:
            return
        self.captures_started = True
        for c in self.plan:
            self.start_capture(c["vantage"], os.path.join(self.outdir, c["file"]),
                               c.get("direction"))

    def start_capture(self, side, path, direction=None):
        cmd = ["ip", "netns", "exec", self.ns[side], "tcpdump", "-i", self.ifname[side],
               "-w", path, "-U", "-s", "0", "--immediate-mode", "-Z", "root", "-n",
               *(["-Q", direction] if direction else []), self.pcap_filter]
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        t0 = time.time()
        errs = []
        while True:
            line = p.stderr.readline()
            if not line:
                raise ScenarioError(f"tcpdump failed: {''.join(errs)}")
            errs.append(line)
            if "listening on" in line:
                break
            if time.time() - t0 > 5:
                raise ScenarioError("tcpdump did not start")
        self.dumps.append({"side": side, "path": path, "proc": p, "started": now()})

    def start_wire(self):
        """The routed topology's two links: frames copied between the veth ends after a delay."""
        cmd = ["ip", "netns", "exec", self.ns["wire"], sys.executable, "-u",
               os.path.join(HERE, "tsl.py"), "wire", str(ROUTED["link_delay_ms"]),
               "w-c:w-rc", "w-s:w-rs"]
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        self.wire = p
        line = p.stdout.readline()
        if not line or not json.loads(line).get("ready"):
            raise ScenarioError(f"link delay line did not start: {p.stderr.read() if p.poll() is not None else line}")

    def stop_wire(self):
        p = self.wire
        if p is None:
            return
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
        try:
            out, err = p.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
        for line in (out or "").splitlines():
            try:
                self.wire_stats = json.loads(line)
            except ValueError:
                pass
        if err and err.strip():
            self.stderr.setdefault("wire", []).extend(err.strip().splitlines())

    def stop_captures(self):
        for d in self.dumps:
            p = d["proc"]
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
            try:
                _, err = p.communicate(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                _, err = p.communicate()
            d["stats"] = [l for l in (err or "").splitlines() if "packets" in l]

    def stop_roles(self):
        for side, p in self.procs.items():
            if p.poll() is None:
                try:
                    self.release(side, "hold")
                except (BrokenPipeError, OSError):
                    pass
        for side, p in self.procs.items():
            try:
                p.wait(timeout=0.2 if self.interrupted else 3)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    # -- queries for checks -----------------------------------------------
    def evs(self, side=None, call=None):
        return [e for e in self.events
                if (side is None or e.get("side") == side) and (call is None or e.get("call") == call)]

    def connections(self):
        """Client endpoint of each connection, from the client's connect events."""
        out = []
        for e in self.evs("client"):
            if e["call"] in ("connect",) and e.get("local"):
                out.append({"client": e["local"],
                            # a failed connect() has no peer: the address it was given
                            "server": e.get("peer") or e.get("addr")
                                      or fmt_addr((self.cfg["server_addr"], self.cfg["port"])),
                            "connect": e.get("result") or e.get("error")})
        return out

    def snap(self, label="final"):
        for s in self.snapshots:
            if s["label"] == label:
                return s
        return None

    def state(self, side, label="final", conn=0):
        """ss state of connection #conn as seen in namespace `side`, None if absent."""
        conns = self.connections()
        if not conns:
            return None
        c, srv = conns[conn]["client"], conns[conn]["server"]
        local, peer = (c, srv) if side == "client" else (srv, c)
        snap = self.snap(label)
        for s in snap[side]["sockets"]:
            if s["local"] == local and s["peer"] == peer:
                return s["state"]
        return None

    def errors(self, side, call=None):
        return [e["error"] for e in self.evs(side, call) if "error" in e]

    def packets(self, vantage=None):
        for c in self.capture_info:
            if vantage is None or c["vantage"] == vantage:
                return c["_packets"]
        return []

    def tcp_from(self, side, flag=None, vantage=None):
        addr = self.cfg["client_addr"] if side == "client" else self.cfg["server_addr"]
        return [p for p in self.packets(vantage) if p["proto"] == "tcp" and p["src"] == addr
                and (flag is None or flag in p["flags"])]

    # -- main -------------------------------------------------------------
    def run(self):
        meta = self.meta
        out = self.outdir
        files = [(c["vantage"], c["file"]) for c in self.plan]
        # remove a stale server-side file of an earlier run with a different vantage
        stale = os.path.join(out, f"{self.name}.server.pcap")
        if f"{self.name}.server.pcap" not in [f for _, f in files] and os.path.exists(stale):
            os.unlink(stale)
        error = None
        self.interrupted = False
        signal.signal(signal.SIGINT, _on_signal)
        signal.signal(signal.SIGTERM, _on_signal)
        try:
            if self.topology == "routed":
                self.start_wire()
            for side, kv in meta.get("sysctl", {}).items():
                for k, v in kv.items():
                    self.sysctl(side, k, v)
            for side, rules in meta.get("nft", {}).items():
                self.nft(side, *rules)
            for side, spec in meta.get("tc", {}).items():
                self.run_ns(side, "tc", "qdisc", "add", "dev", self.ifname[side], *spec.split())
            if not meta.get("late_capture"):
                self.start_captures()
            self.spawn("server")
            self.wait("server", "ready")
            self.release("server", "ready")
            self.spawn("client")
            if hasattr(self.mod, "drive"):
                self.mod.drive(self)
            if not self.captures_started:
                raise ScenarioError("drive() never started the captures (META late_capture)")
            self.wait("client", "hold")
            self.wait("server", "hold")
            time.sleep(meta.get("settle", 0.3))
        except Interrupted as e:
            error = str(e)
            self.interrupted = True
        except ScenarioError as e:
            error = str(e)
        except Exception:
            error = traceback.format_exc()
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            self.snapshot("final")
        except Exception:
            error = (error or "") + "\nss failed: " + traceback.format_exc()
        self.stop_captures()
        self.stop_roles()
        self.stop_wire()
        time.sleep(0.05)
        return self.finish(files, error)

    def ttl_summary(self, pk):
        """IP TTL / hop limit counts of the packets from each side's address (RSTs apart too)."""
        out = {}
        for side, addr in (("client", self.cfg["client_addr"]), ("server", self.cfg["server_addr"])):
            allc, rstc = {}, {}
            for p in pk:
                if p["src"] == addr and "ttl" in p:
                    allc[str(p["ttl"])] = allc.get(str(p["ttl"]), 0) + 1
                    if p["proto"] == "tcp" and "R" in p["flags"]:
                        rstc[str(p["ttl"])] = rstc.get(str(p["ttl"]), 0) + 1
            out[side] = {"all": allc, "rst": rstc}
        return out

    def handshake_timing(self, pk):
        """Milliseconds SYN -> SYN-ACK -> ACK of the first handshake in the capture (None: none)."""
        ca, sa = self.cfg["client_addr"], self.cfg["server_addr"]
        syn = next((p for p in pk if p["proto"] == "tcp" and p["src"] == ca and p["flags"] == "S"), None)
        if syn is None:
            return None
        sa_ = next((p for p in pk if p["proto"] == "tcp" and p["src"] == sa and p["flags"] == "SA"
                    and p["dport"] == syn["sport"] and p["ts"] >= syn["ts"]), None)
        if sa_ is None:
            return {"syn_ts": round(syn["ts"], 6), "syn_to_synack_ms": None, "synack_to_ack_ms": None}
        ack = next((p for p in pk if p["proto"] == "tcp" and p["src"] == ca and "A" in p["flags"]
                    and "S" not in p["flags"] and p["sport"] == syn["sport"]
                    and p["ack"] == (sa_["seq"] + 1) % 2**32 and p["ts"] >= sa_["ts"]), None)
        return {"syn_ts": round(syn["ts"], 6),
                "syn_to_synack_ms": round((sa_["ts"] - syn["ts"]) * 1000, 3),
                "synack_to_ack_ms": round((ack["ts"] - sa_["ts"]) * 1000, 3) if ack else None}

    def tunnel_checks(self):
        """For a tunnel scenario's checks(): each capture holds nothing but packets in the
        scenario's own encapsulation (type, VNI/key/session, port) between the underlay addresses."""
        t = self.tunnel
        want = {"vxlan": {"encap": "vxlan", "vni": t.get("vni"), "dport": t.get("port")},
                "geneve": {"encap": "geneve", "vni": t.get("vni"), "dport": t.get("port")},
                "gretap": {"encap": "gre", "gre_proto": "0x6558", "key": t.get("key")},
                "erspan": {"encap": "erspan", "erspan_ver": t.get("version"), "session": t.get("session")},
                "ipip": {"encap": "ipip"}, "sit": {"encap": "sit"}}[t["type"]]
        want = {k: v for k, v in want.items() if v is not None}
        ends = {(UNDERLAY["client"], UNDERLAY["server"]), (UNDERLAY["server"], UNDERLAY["client"])}
        out = []
        for c in self.capture_info:
            pk = c["_packets"]
            bad = [p for p in pk if not p.get("outer")
                   or (p["outer"]["src"], p["outer"]["dst"]) not in ends
                   or any(p["outer"].get(k) != v for k, v in want.items())
                   or (t["type"] in ("gretap", "erspan") and t.get("seq") and "gre_seq" not in p["outer"])]
            out.append((" ".join([f"{c['file']}: every frame is TCP/ICMP inside {t['type']}",
                                  *(f"{k}={v}" for k, v in want.items() if k != "encap")]),
                        {"frames": c.get("frames"), "decapsulated": len(pk), "other": len(bad)},
                        bool(pk) and c.get("frames") == len(pk) and not bad))
        return out

    def encap_summary(self, pk):
        """How the captured packets were encapsulated: packet counts per distinct outer header."""
        groups = {}
        for p in pk:
            o = p.get("outer")
            if o is None:
                key = ("none",)
                rec = {"encap": None}
            else:
                # the UDP source port (a flow hash for VXLAN/Geneve) and the GRE
                # sequence number change per flow/packet: not part of the group
                rec = {k: v for k, v in o.items() if k not in ("sport", "gre_seq", "ttl")}
                rec["inner"] = f"{p['src']} -> {p['dst']}"
                key = tuple(sorted((k, str(v)) for k, v in rec.items()))
            g = groups.setdefault(key, {**rec, "packets": 0})
            g["packets"] += 1
            if o is not None:
                if "sport" in o:
                    g.setdefault("udp_sports", [])
                    if o["sport"] not in g["udp_sports"]:
                        g["udp_sports"].append(o["sport"])
                if "gre_seq" in o:
                    g["gre_seq_first"] = min(g.get("gre_seq_first", o["gre_seq"]), o["gre_seq"])
                    g["gre_seq_last"] = max(g.get("gre_seq_last", o["gre_seq"]), o["gre_seq"])
                g.setdefault("outer_ttl", [])
                if o["ttl"] not in g["outer_ttl"]:
                    g["outer_ttl"].append(o["ttl"])
        return list(groups.values())

    def tunnel_info(self):
        """What the tunnel topology was and what the kernels reported about it (None otherwise)."""
        if not self.tunnel:
            return None
        t = self.tunnel
        def rd(side, *cmd):
            try:
                return self.run_ns(side, *cmd, record=False, check=False)
            except Exception as e:  # recorded, not fatal
                return f"failed: {e}"
        spec = {k: v for k, v in t.items() if k not in ("mtu", "layer")}
        return {
            **spec,
            "device": TUNNEL_DEV,
            "made_by": f"the kernel's own {t['type']} device in each namespace, {platform.release()}",
            "layer": "ethernet frames inside" if t["layer"] == "l2" else "IP packets inside",
            "mtu": t["mtu"],
            "overhead_bytes": 1500 - t["mtu"],
            "underlay": {"client": {"address": UNDERLAY["client"] + "/24", "interface": self.ifname["client"]},
                         "server": {"address": UNDERLAY["server"] + "/24", "interface": self.ifname["server"]},
                         "macs": UNDERLAY_MACS, "mtu": 1500},
            **({"inner_macs": {f"client {TUNNEL_DEV}": TUNNEL_MACS["client"],
                               f"server {TUNNEL_DEV}": TUNNEL_MACS["server"]}} if t["layer"] == "l2" else {}),
            "ip_link_add": {side: f"ip link add {TUNNEL_DEV} mtu {t['mtu']} "
                            + (f"address {TUNNEL_MACS[side]} " if t["layer"] == "l2" else "")
                            + "type " + " ".join(tunnel_link_args(t, side))
                            for side in ("client", "server")},
            # read back from the kernels after the run
            "ip_details": {side: rd(side, "ip", "-d", "link", "show", TUNNEL_DEV).strip()
                           for side in ("client", "server")},
            "ip_stats": {side: rd(side, "ip", "-s", "link", "show", TUNNEL_DEV).strip()
                         for side in ("client", "server")},
        }

    def router_info(self):
        """What the routed topology was and what its router reported (None for direct)."""
        if self.topology != "routed":
            return None
        def rd(*cmd):
            try:
                return self.run_ns("router", *cmd, record=False, check=False)
            except Exception as e:  # recorded, not fatal
                return f"failed: {e}"
        keys = ["net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding",
                "net.netfilter.nf_conntrack_tcp_loose", "net.netfilter.nf_conntrack_tcp_be_liberal",
                "net.netfilter.nf_conntrack_tcp_timeout_established",
                "net.netfilter.nf_conntrack_count"]
        return {
            "namespace": self.ns["router"],
            "link_namespace": self.ns["wire"],
            "client": {"address": ROUTED["client4"], "address6": ROUTED["client6"],
                       "gateway": "10.99.1.254", "interface": self.ifname["client"]},
            "server": {"address": ROUTED["server4"], "address6": ROUTED["server6"],
                       "gateway": "10.99.2.254", "interface": self.ifname["server"]},
            "interfaces": ROUTED["router"],
            "macs": ROUTED["macs"],
            "link_delay_ms": {"client<->router": ROUTED["link_delay_ms"],
                              "router<->server": ROUTED["link_delay_ms"],
                              "note": "each direction of each link, by `tsl.py wire` in the link namespace"},
            "span": {"interface": ROUTED["span"],
                     "source": "tc clsact egress on r-c and r-s: u32 match all, action mirred egress mirror dev span0",
                     "note": "every frame the router transmits, i.e. after forwarding (TTL already decremented)"},
            # read back after the run (the rules and their counters: the ss snapshots' "router")
            "sysctl": {k: (rd("sysctl", "-n", k).strip() or None) for k in keys},
            "wire": self.wire_stats,
        }

    def finish(self, files, error):
        meta = self.meta
        self.events.sort(key=lambda e: e.get("ts", 0))
        self.capture_info = []
        connected = [e["ts"] for e in self.evs("client", "connect") if e.get("result") == "ok"]
        for (side, fn), d, plan in zip(files, self.dumps, self.plan):
            path = os.path.join(self.outdir, fn)
            pstats = {}
            pk = read_pcap(path, pstats) if os.path.exists(path) else []
            extra = {}
            if self.tunnel:
                extra["frames"] = pstats.get("frames", 0)
                extra["encapsulation"] = self.encap_summary(pk)
            if plan.get("direction"):
                # tcpdump -Q: only the packets this host sent (out) or received (in)
                extra["direction"] = plan["direction"]
                extra["one_sided"] = plan["direction"]
            self.capture_info.append({
                "file": fn, "vantage": side, "namespace_role": "router" if side == "path" else side,
                "interface": self.ifname[side], "filter": self.pcap_filter, **extra,
                "started_ts": d.get("started"),
                # a connection was already established when tcpdump started listening
                "started_after_handshake": bool(connected and d.get("started") and min(connected) < d["started"]),
                "ttl": self.ttl_summary(pk),
                "handshake": self.handshake_timing(pk),
                "packets": len(pk),
                "tcp_packets": sum(1 for p in pk if p["proto"] == "tcp"),
                "icmp_packets": sum(1 for p in pk if p["proto"] != "tcp"),
                "bytes": os.path.getsize(path) if os.path.exists(path) else 0,
                "first_ts": round(pk[0]["ts"], 6) if pk else None,
                "last_ts": round(pk[-1]["ts"], 6) if pk else None,
                "tcpdump_stats": d.get("stats", []),
                "_packets": pk,
            })
        checks = []
        crashed = [e for e in self.events if e.get("call") == "crash"]
        if error is None and not crashed and hasattr(self.mod, "checks"):
            try:
                for desc, observed, ok in self.mod.checks(self):
                    checks.append({"check": desc, "observed": observed, "ok": bool(ok)})
            except Exception:
                error = "checks raised: " + traceback.format_exc()
        sysctl = {}
        for side in ("client", "server"):
            sysctl[side] = {}
            for k in SYSCTLS:
                try:
                    sysctl[side][k] = self.run_ns(side, "sysctl", "-n", k, record=False,
                                                  check=False).strip() or None
                except Exception:
                    sysctl[side][k] = None
        summary = {}
        for side in ("client", "server"):
            lines = []
            for e in self.evs(side):
                if e["call"] in ("start", "exit", "getsockopt"):
                    continue
                if e["call"] == "note":
                    lines.append(f"note: {e['text']}")
                    continue
                if e["call"] == "sleep":
                    lines.append(f"sleep {e['seconds']}s")
                    continue
                extra = ""
                if "bytes" in e:
                    extra = f" {e['bytes']} bytes"
                if "how" in e:
                    extra += f" {e['how']}"
                if "option" in e:
                    extra += f" {e['option']}={json.dumps(e.get('value'))}"
                res = e.get("error") or e.get("result") or ""
                lines.append(f"{e['call']}{extra} -> {res}")
            summary[side] = lines
        final = self.snap("final")
        router = self.router_info()
        tunnel = self.tunnel_info()
        observed_extra = {}
        if error is None and not crashed and hasattr(self.mod, "observe"):
            try:
                observed_extra = self.mod.observe(self)
            except Exception:
                error = "observe raised: " + traceback.format_exc()
        truth = {
            "scenario": self.name,
            "description": meta["description"],
            "patterns": meta["patterns"],
            "vantage": meta["vantage"],
            "topology": self.topology,
            "family": "ipv6" if self.cfg["family"] == 6 else "ipv4",
            "client": {"address": self.cfg["client_addr"],
                       "endpoints": sorted({c["client"] for c in self.connections()})},
            "server": {"address": self.cfg["server_addr"], "port": self.cfg["port"],
                       "endpoint": fmt_addr((self.cfg["server_addr"], self.cfg["port"]))},
            "connections": self.connections(),
            "captures": [{k: v for k, v in c.items() if not k.startswith("_")}
                         for c in self.capture_info],
            "observed": {
                "client": {"calls": summary["client"], "errors": self.errors("client")},
                "server": {"calls": summary["server"], "errors": self.errors("server")},
                "final_ss": {side: [{k: s[k] for k in ("state", "local", "peer", "timer", "recv_q", "send_q")}
                                    for s in final[side]["sockets"]] if final else None
                             for side in ("client", "server")},
                **observed_extra,
            },
            "events": self.events,
            "driver_actions": self.actions,
            "ss": self.snapshots,
            "sysctl": sysctl,
            **({"router": router} if router else {}),
            **({"tunnel": tunnel} if tunnel else {}),
            "checks": checks,
            "intent_met": bool(checks) and all(c["ok"] for c in checks) and error is None,
            "error": error,
            "role_stderr": {k: v for k, v in self.stderr.items() if v} or None,
            "attempt": self.args.attempt,
            "environment": {
                "kernel": platform.release(),
                "python": platform.python_version(),
                "namespaces": {"client": self.ns["client"], "server": self.ns["server"],
                               **({"router": self.ns["router"], "links": self.ns["wire"]}
                                  if self.topology == "routed" else {})},
                "interfaces": {"client": self.ifname["client"], "server": self.ifname["server"],
                               **({"path": self.ifname["path"]} if self.topology == "routed" else {})},
                **({"tunnel_device": TUNNEL_DEV} if self.tunnel else {}),
                "mtu": 1500 if not self.tunnel else {"underlay": 1500, TUNNEL_DEV: self.tunnel["mtu"]},
                "offloads": "tso, gso, gro, tx/rx checksum offload disabled on both veth ends"
                            + (" (and on the router's and the links' veths)" if self.topology == "routed" else "")
                            + (f" and on both {TUNNEL_DEV} devices" if self.tunnel else ""),
                **({"machine": os.environ["TSL_MACHINE"]} if os.environ.get("TSL_MACHINE") else {}),
            },
            "generated_by": "captures/make-captures.sh",
            "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        with open(os.path.join(self.outdir, f"{self.name}.truth.json"), "w") as f:
            f.write(dumps(truth) + "\n")
        status = "ok" if truth["intent_met"] else "INTENT NOT MET"
        print(f"  {self.name}: {status}  ({', '.join(c['file'] + ':' + str(c['packets']) + ' pkts' for c in self.capture_info)})")
        for c in checks:
            print(f"    [{'x' if c['ok'] else ' '}] {c['check']}: {json.dumps(c['observed'])}")
        if error:
            print(f"    error: {error}")
        for side, lines in self.stderr.items():
            for l in lines[-10:]:
                print(f"    {side} stderr: {l}")
        if self.interrupted:
            return 130
        if error:
            return 1
        return 0 if truth["intent_met"] else 3


def wire_main(delay_ms, pairs):
    """A link's latency without netem: every frame received on one veth end is sent
    out of its partner delay_ms later, in order, in both directions."""
    import heapq
    delay = delay_ms / 1000.0
    socks, peer, stats = {}, {}, {}
    for pair in pairs:
        a, b = pair.split(":")
        for n in (a, b):
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
            s.bind((n, 0x0003))            # ETH_P_ALL, on this interface only
            s.setblocking(False)
            socks[n] = s
        peer[a], peer[b] = b, a
        stats[f"{a}->{b}"] = 0
        stats[f"{b}->{a}"] = 0
    byfd = {s.fileno(): n for n, s in socks.items()}
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    heap, seq, late_max = [], 0, 0.0
    print(json.dumps({"ready": True, "delay_ms": delay_ms, "links": pairs}), flush=True)
    while not stop:
        timeout = max(0.0, heap[0][0] - time.monotonic()) if heap else 0.5
        try:
            ready, _, _ = select.select(list(socks.values()), [], [], timeout)
        except InterruptedError:
            continue
        for s in ready:
            name = byfd[s.fileno()]
            while True:
                try:
                    frame, addr = s.recvfrom(65535)
                except BlockingIOError:
                    break
                if addr[2] == socket.PACKET_OUTGOING:
                    continue           # our own copy of what we sent
                seq += 1
                heapq.heappush(heap, (time.monotonic() + delay, seq, peer[name], name, frame))
        t = time.monotonic()
        while heap and heap[0][0] <= t:
            due, _, out, src, frame = heapq.heappop(heap)
            socks[out].send(frame)
            stats[f"{src}->{out}"] += 1
            late_max = max(late_max, time.monotonic() - due)
    print(json.dumps({"frames": stats, "delay_ms": delay_ms, "max_late_ms": round(late_max * 1000, 3),
                      "dropped_at_stop": len(heap)}), flush=True)
    return 0


def dumps(obj, indent=0, width=110):
    """JSON with one line per small object/array: readable and compact."""
    flat = json.dumps(obj)
    if len(flat) + indent <= width or not isinstance(obj, (dict, list)) or not obj:
        return flat
    pad = " " * (indent + 1)
    if isinstance(obj, dict):
        items = [f"{pad}{json.dumps(k)}: {dumps(v, indent + 1, width)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    items = [pad + dumps(v, indent + 1, width) for v in obj]
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"


def main(argv):
    import argparse
    if len(argv) >= 2 and argv[1] == "list":
        print("\n".join(ORDER))
        return 0
    if len(argv) >= 3 and argv[1] == "attempts":
        print(load(argv[2]).META.get("attempts", 1))
        return 0
    if len(argv) >= 3 and argv[1] == "topology":
        print(load(argv[2]).META.get("topology", "direct"))
        return 0
    if len(argv) >= 3 and argv[1] == "family":
        print(load(argv[2]).META.get("family", 4))
        return 0
    if len(argv) >= 4 and argv[1] == "tunnel":
        t = tunnel_spec(load(argv[2]).META)
        if t is None:
            print(f"{argv[2]}: not a tunnel scenario", file=sys.stderr)
            return 2
        print(t["mtu"], t["layer"], t["type"], " ".join(tunnel_link_args(t, argv[3])))
        return 0
    if len(argv) >= 4 and argv[1] == "wire":
        return wire_main(float(argv[2]), argv[3:])
    if len(argv) >= 5 and argv[1] == "role":
        role_main(argv[2], argv[3], argv[4])
        return 0
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["drive"])
    ap.add_argument("name")
    ap.add_argument("--ns-client", required=True)
    ap.add_argument("--ns-server", required=True)
    ap.add_argument("--if-client", default="veth-c")
    ap.add_argument("--if-server", default="veth-s")
    ap.add_argument("--out", required=True)
    ap.add_argument("--attempt", type=int, default=1)
    ap.add_argument("--topology", choices=["direct", "routed", "tunnel"], default="direct")
    ap.add_argument("--ns-router")
    ap.add_argument("--ns-wire")
    args = ap.parse_args(argv[1:])
    if args.name not in ORDER:
        print(f"unknown scenario {args.name}", file=sys.stderr)
        return 2
    return Driver(args.name, args).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
