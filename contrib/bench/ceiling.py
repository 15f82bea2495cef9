#!/usr/bin/python3
"""The most a server allows: a minimal SMTP client that sends a message
prepared in memory (already CRLF, needing no dot-stuffing) in 1 MiB writes.

    ceiling.py PORT FILE

The message is read and converted before the clock starts; prints the
seconds from connect to the reply to QUIT."""
import socket
import sys
import time

port, path = int(sys.argv[1]), sys.argv[2]
data = open(path, "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
if data.startswith(b".") or b"\r\n." in data:
    sys.exit("ceiling.py: the message needs dot-stuffing; use one that does not")


def reply(f):
    while True:
        line = f.readline()
        if not line:
            sys.exit("ceiling.py: the server closed the connection")
        if line[3:4] != b"-":
            if line[:1] not in (b"2", b"3"):
                sys.exit("ceiling.py: the server said " + line.decode(errors="replace"))
            return


start = time.perf_counter()
s = socket.create_connection(("127.0.0.1", port))
f = s.makefile("rb")
reply(f)
for cmd in (b"EHLO ceiling.example", b"MAIL FROM:<sender@example.com>",
            b"RCPT TO:<rcpt@example.test>", b"DATA"):
    s.sendall(cmd + b"\r\n")
    reply(f)
view = memoryview(data)
for i in range(0, len(data), 1 << 20):
    s.sendall(view[i:i + (1 << 20)])
s.sendall(b".\r\nQUIT\r\n")
reply(f)
reply(f)
print("%.3f" % (time.perf_counter() - start))
