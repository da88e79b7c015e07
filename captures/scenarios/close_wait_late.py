"""The application notices the peer's close late: CLOSE-WAIT for ~3.5 s, then close()."""
META = dict(
    description=("Client sends a request and close()s. The server reads the request and "
                 "end-of-file, then waits 3.5 s before it close()s, so its socket sits in "
                 "CLOSE-WAIT (the client's in FIN-WAIT-2) until then. ss is also recorded "
                 "during the wait."),
    patterns=["close-wait-stuck"],
    vantage="server",
    port=7020,
)

REQ = b"GET /late tcpsleuth\r\n\r\n"


def server(r):
    ls = r.listen_socket()
    r.ready()
    c = r.accept(ls)
    r.recv_until_eof(c)
    r.sync("eof")
    r.sleep(3.5, "before close()")
    r.close(c)


def client(r):
    s = r.connect_to()
    r.send(s, REQ)
    r.close(s)


def drive(d):
    d.wait("server", "eof")
    d.release("server", "eof")
    d.sleep(2.0)
    d.snapshot("waiting")


def checks(d):
    fins = [p for p in d.tcp_from("server", "F")]
    cfins = [p for p in d.tcp_from("client", "F")]
    return [
        ("server CLOSE-WAIT, client FIN-WAIT-2 during the wait",
         [d.state("server", "waiting"), d.state("client", "waiting")],
         d.state("server", "waiting") == "CLOSE-WAIT" and d.state("client", "waiting") == "FIN-WAIT-2"),
        ("server FIN more than 3 s after the client's", round(fins[0]["ts"] - cfins[0]["ts"], 3) if fins and cfins else None,
         bool(fins and cfins and fins[0]["ts"] - cfins[0]["ts"] > 3)),
        ("server read EOF", [e.get("result") for e in d.evs("server", "recv")][-1:],
         [e.get("result") for e in d.evs("server", "recv")][-1:] == ["eof"]),
        ("no socket call failed on either side", d.errors("client") + d.errors("server"),
         not d.errors("client") and not d.errors("server")),
        ("client socket in TIME-WAIT at the end", d.state("client"), d.state("client") == "TIME-WAIT"),
    ]
