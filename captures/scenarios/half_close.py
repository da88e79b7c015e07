"""Client shutdown(SHUT_WR); the server keeps sending, then closes."""
import socket

META = dict(
    description=("Client sends a request and calls shutdown(SHUT_WR) (FIN); the server reads "
                 "to EOF, then sends three 100-byte chunks 100 ms apart and close()s; the "
                 "client reads everything to EOF and close()s."),
    patterns=["half-close"],
    vantage="server",
    port=7004,
)


def server(r):
    ls = r.listen_socket()
    r.ready()
    c = r.accept(ls)
    r.recv_until_eof(c)
    for i in range(3):
        r.sleep(0.1)
        r.send(c, bytes([65 + i]) * 100)
    r.close(c)


def client(r):
    s = r.connect_to()
    r.send(s, b"upload: 64 bytes of request then shutdown(SHUT_WR)........\n")
    r.shutdown(s, socket.SHUT_WR)
    r.recv_until_eof(s)
    r.close(s)


def checks(d):
    cfin = d.tcp_from("client", "F")
    later = [p for p in d.tcp_from("server") if cfin and p["ts"] > cfin[0]["ts"] and p["len"] > 0]
    got = sum(e.get("bytes", 0) for e in d.evs("client", "recv"))
    return [
        ("server sent data after the client's FIN (segments)", len(later), len(later) >= 3),
        ("client received 300 bytes after shutdown", got, got == 300),
        ("client socket in TIME-WAIT at the end", d.state("client"), d.state("client") == "TIME-WAIT"),
        ("server socket gone at the end", d.state("server"), d.state("server") is None),
        ("no RST", len(d.tcp_from("client", "R") + d.tcp_from("server", "R")),
         not (d.tcp_from("client", "R") + d.tcp_from("server", "R"))),
    ]
