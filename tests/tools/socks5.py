#!/usr/bin/python3
"""A minimal SOCKS5 proxy for outpost's tests (RFC 1928, no authentication,
CONNECT only; Python standard library only). It only connects to loopback
targets, so a test can never reach out. Each request is logged to
LOG as "CONNECT host port".

    socks5.py --port-file FILE --log LOG
"""

import argparse
import ipaddress
import os
import socket
import socketserver
import struct
import sys
import threading


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


class Handler(socketserver.BaseRequestHandler):
    log_path = None

    def handle(self):
        c = self.request
        try:
            ver, nmethods = recv_exact(c, 2)
            methods = recv_exact(c, nmethods)
            if ver != 5 or 0 not in methods:
                c.sendall(b"\x05\xff")
                return
            c.sendall(b"\x05\x00")
            ver, cmd, _, atyp = recv_exact(c, 4)
            if atyp == 3:
                host = recv_exact(c, recv_exact(c, 1)[0]).decode()
            elif atyp == 1:
                host = socket.inet_ntoa(recv_exact(c, 4))
            else:
                host = socket.inet_ntop(socket.AF_INET6, recv_exact(c, 16))
            port = struct.unpack(">H", recv_exact(c, 2))[0]
            with open(self.log_path, "a") as f:
                f.write("CONNECT %s %d\n" % (host, port))
            target = "127.0.0.1" if host == "localhost" else host
            try:
                if cmd != 1 or not ipaddress.ip_address(target).is_loopback:
                    raise OSError("not allowed")
                up = socket.create_connection((target, port), timeout=10)
            except (OSError, ValueError):
                c.sendall(b"\x05\x02\x00\x01\x00\x00\x00\x00\x00\x00")
                return
            c.sendall(b"\x05\x00\x00\x01\x7f\x00\x00\x01" + struct.pack(">H", port))
            t = threading.Thread(target=pump, args=(up, c), daemon=True)
            t.start()
            pump(c, up)
            t.join()
            up.close()
        except (ConnectionError, OSError):
            pass


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    opts = ap.parse_args()
    Handler.log_path = opts.log
    server = Server(("127.0.0.1", 0), Handler)
    tmp = opts.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(tmp, opts.port_file)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
