#!/usr/bin/env python3
"""Traffic for the benchmark capture: many concurrent real TCP connections.

server mode: accept connections; each client sends one request line
  "<size> <ending>\n" and the server sends <size> bytes, then ends as asked:
  fin    - wait for the client's close, then close (the common case)
  srvfin - the server closes first
  rst    - the server aborts with SO_LINGER 0 (RST)
  keep   - the server never closes (its socket is leaked: CLOSE-WAIT)
client mode: keep CONCURRENCY connections busy until TOTAL bytes were
  requested, with a mix of endings; some clients also reset.
Only addresses given on the command line are used (namespaces of the caller).
"""
import os
import random
import selectors
import socket
import struct
import sys
import time

CHUNK = 256 * 1024
PAYLOAD = bytes(random.Random(1).getrandbits(8) for _ in range(CHUNK))


def server(addr, port):
    sel = selectors.DefaultSelector()
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(4096)
    ls.setblocking(False)
    sel.register(ls, selectors.EVENT_READ, None)
    leaked = []
    state = {}  # sock -> dict(buf, left, ending, phase)
    while True:
        for key, ev in sel.select(timeout=1.0):
            s = key.fileobj
            if s is ls:
                try:
                    c, _ = ls.accept()
                except BlockingIOError:
                    continue
                c.setblocking(False)
                state[c] = {"buf": b"", "left": 0, "ending": "", "phase": "req"}
                sel.register(c, selectors.EVENT_READ, None)
                continue
            st = state.get(s)
            if st is None:
                continue
            if st["phase"] == "req" and ev & selectors.EVENT_READ:
                try:
                    d = s.recv(4096)
                except (ConnectionResetError, OSError):
                    d = b""
                if not d:
                    sel.unregister(s)
                    s.close()
                    del state[s]
                    continue
                st["buf"] += d
                if b"\n" in st["buf"]:
                    line = st["buf"].split(b"\n", 1)[0].decode()
                    size, ending = line.split()
                    st["left"] = int(size)
                    st["ending"] = ending
                    st["phase"] = "send"
                    sel.modify(s, selectors.EVENT_WRITE, None)
            elif st["phase"] == "send" and ev & selectors.EVENT_WRITE:
                try:
                    n = s.send(PAYLOAD[: min(CHUNK, st["left"])])
                except (BrokenPipeError, ConnectionResetError, OSError):
                    sel.unregister(s)
                    s.close()
                    del state[s]
                    continue
                st["left"] -= n
                if st["left"] <= 0:
                    e = st["ending"]
                    if e == "srvfin":
                        sel.unregister(s)
                        s.close()
                        del state[s]
                    elif e == "rst":
                        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        sel.unregister(s)
                        s.close()
                        del state[s]
                    elif e == "keep":
                        sel.unregister(s)
                        del state[s]
                        leaked.append(s)
                    else:
                        st["phase"] = "wait"
                        sel.modify(s, selectors.EVENT_READ, None)
            elif st["phase"] == "wait":
                try:
                    d = s.recv(65536)
                except (ConnectionResetError, OSError):
                    d = b""
                if not d:
                    sel.unregister(s)
                    s.close()
                    del state[s]


def client(addr, port, total, concurrency, seed):
    rnd = random.Random(seed)
    sel = selectors.DefaultSelector()
    requested = 0
    active = 0
    done = 0

    def start():
        nonlocal requested, active
        size = int(rnd.expovariate(1 / 48000)) + 100
        r = rnd.random()
        ending = "fin" if r < 0.80 else "srvfin" if r < 0.92 else "rst" if r < 0.97 else "keep"
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.setblocking(False)
        try:
            c.connect((addr, port))
        except BlockingIOError:
            pass
        requested += size
        active += 1
        sel.register(c, selectors.EVENT_WRITE, {"size": size, "ending": ending, "got": 0, "abort": rnd.random() < 0.01})

    while requested < total or active > 0:
        while requested < total and active < concurrency:
            start()
        for key, ev in sel.select(timeout=1.0):
            c = key.fileobj
            st = key.data
            if ev & selectors.EVENT_WRITE:
                try:
                    c.send(f"{st['size']} {st['ending']}\n".encode())
                    sel.modify(c, selectors.EVENT_READ, st)
                except OSError:
                    sel.unregister(c)
                    c.close()
                    active -= 1
                continue
            try:
                d = c.recv(262144)
            except (ConnectionResetError, OSError):
                d = b""
            st["got"] += len(d)
            finished = not d or st["got"] >= st["size"]
            if st["abort"] and st["got"] > 0:
                # A client that gives up mid-transfer: abortive close.
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                finished = True
            if finished and (st["ending"] != "srvfin" or not d or st["abort"]):
                sel.unregister(c)
                c.close()
                active -= 1
                done += 1
    print(f"client: {done} connections, {requested} bytes requested", file=sys.stderr)


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(sys.argv[2], int(sys.argv[3]))
    else:
        client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
