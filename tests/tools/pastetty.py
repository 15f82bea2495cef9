#!/usr/bin/python3
"""Run a command on a pseudo-terminal (its controlling terminal, as in an
SSH session), and paste an address into it when it asks: once the command
has printed MARKER, the first "redirect ADDRESS" line of FILE (written by
tests/tools/browser.py in "print" mode) is typed in, with Enter.

    pastetty.py OUTFILE MARKER FILE COMMAND [ARG...]

Everything the command printed is saved in OUTFILE; exits with its status
(1 if it ran longer than 60 s)."""
import os
import pty
import select
import sys
import time


def main():
    outfile, marker, source, argv = sys.argv[1], sys.argv[2].encode(), sys.argv[3], sys.argv[4:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(argv[0], argv)
    out = bytearray()
    pasted = False
    deadline = time.time() + 60
    status = None
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            out += chunk
        if not pasted and marker in out and os.path.exists(source):
            for line in open(source):
                if line.startswith("redirect "):
                    os.write(fd, line[len("redirect "):].strip().encode() + b"\r")
                    pasted = True
                    break
    else:
        os.kill(pid, 9)
    _, st = os.waitpid(pid, 0)
    status = os.waitstatus_to_exitcode(st) if time.time() < deadline else 1
    with open(outfile, "wb") as f:
        f.write(out)
    sys.exit(status if status >= 0 else 128 - status)


if __name__ == "__main__":
    main()
