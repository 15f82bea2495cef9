#!/usr/bin/python3
"""Run a command with its standard error on a pseudo-terminal.

    ontty.py ERRFILE COMMAND [ARG...]   (stdin and stdout are passed on)

Everything the command wrote to the terminal is saved in ERRFILE, bytes
as they were (carriage returns and escape sequences included). Exits with
the command's exit status. For tests of what outpost shows a person at a
terminal, which it must not show anyone else.
"""
import os
import pty
import subprocess
import sys


def main():
    errfile, argv = sys.argv[1], sys.argv[2:]
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stderr=slave)
    os.close(slave)
    data = bytearray()
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the command closed its end
            break
        if not chunk:
            break
        data += chunk
    status = proc.wait()
    with open(errfile, "wb") as f:
        f.write(data)
    sys.exit(status if status >= 0 else 128 - status)


if __name__ == "__main__":
    main()
