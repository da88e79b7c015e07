"""The server reads EOF but never close()s: CLOSE-WAIT vs FIN-WAIT-2."""
import socket

META = dict(
    description=("Client sends a request, reads the answer and close()s. The server reads "
                 "the EOF and never calls close(); it holds the socket for 3.5 s. The "
                 "server socket has SO_KEEPALIVE (TCP_KEEPIDLE=1, TCP_KEEPINTVL=1) so "
                 "keep-alive probes and the client's ACKs keep packets flowing while the "
                 "connection sits in CLOSE-WAIT, showing how long it stayed there. ss is "
                 "recorded and the capture stopped before the server process exits, so "
                 "the capture never contains a FIN from the server."),
    patterns=["close-wait-stuck"],
    vantage="server",
    port=7006,
    sysctl={"client": {"net.ipv4.tcp_fin_timeout": 10}},
)


def server(r):
    ls = r.listen_socket()
    r.ready()
    c = r.accept(ls)
    r.keepalive(c, 1, 1, 9)
    r.recv(c)
    r.send(c, b"HTTP/1.0 200 OK\r\n\r\nhello\n")
    r.recv(c)                     # returns b"": EOF, ignored
    r.note("application ignores EOF and never calls close()")
    r.sleep(3.5, "socket left open in CLOSE-WAIT")


def client(r):
    s = r.connect_to()
    r.send(s, b"GET / HTTP/1.0\r\n\r\n")
    r.recv(s)
    r.close(s)


def checks(d):
    cfin = d.tcp_from("client", "F")
    last = d.packets()[-1]["ts"] if d.packets() else None
    return [
        ("server socket in CLOSE-WAIT at the end", d.state("server"), d.state("server") == "CLOSE-WAIT"),
        ("client socket in FIN-WAIT-2 at the end", d.state("client"), d.state("client") == "FIN-WAIT-2"),
        ("no FIN from the server in the capture", len(d.tcp_from("server", "F")), not d.tcp_from("server", "F")),
        ("capture continues >= 3 s after the client's FIN",
         round(last - cfin[0]["ts"], 3) if cfin else None, bool(cfin) and last - cfin[0]["ts"] >= 3.0),
        ("server recv returned EOF", [e.get("result") for e in d.evs("server", "recv")][-1:],
         [e.get("result") for e in d.evs("server", "recv")][-1:] == ["eof"]),
    ]
