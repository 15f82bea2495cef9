#!/usr/bin/python3
"""The floor: a minimal SMTP submission client that waits only where the
RFCs make it wait. With PIPELINING, MAIL, every RCPT and DATA go as one
group (RFC 2920 3.1); with CHUNKING and one recipient the "BDAT n LAST"
chunk joins that group (RFC 3030), with more it follows the RCPT replies;
QUIT goes with the end of the message and its 221 is not read. AUTH PLAIN
with an initial response (RFC 4954), not pipelined. TLS sessions are
resumed from the previous run when --resume is given. TCP_QUICKACK is set
before each read, so no delayed ACK holds a reply.

    floor.py --port P --mode plain|starttls|smtps --runs N --message FILE
             [--rcpts N] [--user U --password P --ca CA.pem] [--resume]

The message is read and made CRLF before the clock starts. Prints, for
each run, the milliseconds from connect to the final reply: the time a
client cannot go below, without the start-up of a process."""
import argparse
import base64
import socket
import ssl
import sys
import time


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            # no delayed ACK of ours may hold the server's next segment
            # (re-armed: the kernel clears it)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            data = self.sock.recv(65536)
            if not data:
                sys.exit("floor.py: the server closed the connection")
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self):
        """One reply (all its lines): its code and last line."""
        while True:
            line = self.line()
            if line[3:4] != b"-":
                return int(line[:3]), line

    def expect(self, *codes):
        code, line = self.reply()
        if code not in codes:
            sys.exit("floor.py: the server said " + line.decode(errors="replace"))
        return line


def ehlo(c):
    """EHLO; the keywords the server offers."""
    c.send(b"EHLO floor.example\r\n")
    caps = set()
    while True:
        line = c.line()
        if line[:1] != b"2":
            sys.exit("floor.py: EHLO refused: " + line.decode(errors="replace"))
        caps.add(line[4:].split(b" ")[0].upper())
        if line[3:4] != b"-":
            return caps


def one_run(o, text, ctx, session):
    start = time.perf_counter()
    sock = socket.create_connection(("127.0.0.1", o.port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if o.mode == "smtps":
        sock = ctx.wrap_socket(sock, server_hostname="127.0.0.1", session=session)
    c = Conn(sock)
    c.expect(220)
    caps = ehlo(c)
    if o.mode == "starttls":
        c.send(b"STARTTLS\r\n")
        c.expect(220)
        c.sock = ctx.wrap_socket(c.sock, server_hostname="127.0.0.1", session=session)
        caps = ehlo(c)
    if o.user:
        token = base64.b64encode(b"\0" + o.user.encode() + b"\0" + o.password.encode())
        c.send(b"AUTH PLAIN " + token + b"\r\n")
        c.expect(235)
    rcpts = [b"rcpt%d@example.test" % i for i in range(o.rcpts)]
    group = b"MAIL FROM:<sender@example.com>\r\n" + b"".join(
        b"RCPT TO:<" + r + b">\r\n" for r in rcpts)
    pipelining, chunking = b"PIPELINING" in caps, b"CHUNKING" in caps
    if not pipelining:
        sys.exit("floor.py: the server does not offer PIPELINING")
    bdat = b"BDAT %d LAST\r\n" % len(text) + text
    if chunking and len(rcpts) == 1:
        c.send(group + bdat + b"QUIT\r\n")
        for _ in range(1 + len(rcpts)):
            c.expect(250)
    elif chunking:
        c.send(group)
        for _ in range(1 + len(rcpts)):
            c.expect(250)
        c.send(bdat + b"QUIT\r\n")
    else:
        c.send(group + b"DATA\r\n")
        for _ in range(1 + len(rcpts)):
            c.expect(250)
        c.expect(354)
        stuffed = text.replace(b"\r\n.", b"\r\n..")
        if stuffed.startswith(b"."):
            stuffed = b"." + stuffed
        c.send(stuffed + b".\r\nQUIT\r\n")
    c.expect(250)
    elapsed = (time.perf_counter() - start) * 1000
    session = getattr(c.sock, "session", None)
    c.sock.close()
    return elapsed, session


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--mode", choices=("plain", "starttls", "smtps"), required=True)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--message", required=True)
    ap.add_argument("--rcpts", type=int, default=1)
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--ca")
    ap.add_argument("--resume", action="store_true")
    o = ap.parse_args()
    text = open(o.message, "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if not text.endswith(b"\r\n"):
        text += b"\r\n"
    ctx = None
    if o.mode != "plain":
        ctx = ssl.create_default_context(cafile=o.ca)
    session = None
    for _ in range(o.runs + 1):  # the first is a warm-up (and gets a ticket)
        ms, s = one_run(o, text, ctx, session if o.resume else None)
        if _ > 0:
            print("%.3f" % ms)
        session = s


if __name__ == "__main__":
    main()
