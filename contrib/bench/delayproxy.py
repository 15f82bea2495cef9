#!/usr/bin/python3
"""A delay proxy on loopback: what a client sends reaches the server DELAY
ms later, and the server's answers come back DELAY ms later, so one round
trip costs 2 x DELAY, as across a real network (no loss, no bandwidth
limit). Order is kept; the end of the stream is passed on with the same
delay.

    delayproxy.py PORT_FILE TARGET_PORT DELAY_MS

Listens on 127.0.0.1 (an ephemeral port, written to PORT_FILE) until
killed. Both of its sockets have TCP_NODELAY, so the proxy adds no Nagle
stall of its own."""
import os
import queue
import socket
import sys
import threading
import time


def pump(src, dst, delay):
    """Forward src to dst, each piece delay seconds after it arrived."""
    pending = queue.Queue()

    def writer():
        while True:
            due, data = pending.get()
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            try:
                if data is None:
                    dst.shutdown(socket.SHUT_WR)
                    return
                dst.sendall(data)
            except OSError:
                return

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    while True:
        try:
            data = src.recv(65536)
        except OSError:
            data = b""
        pending.put((time.monotonic() + delay, data or None))
        if not data:
            break
    t.join()


def serve(client, target, delay):
    try:
        server = socket.create_connection(("127.0.0.1", target))
    except OSError:
        client.close()
        return
    for s in (client, server):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    up = threading.Thread(target=pump, args=(client, server, delay), daemon=True)
    up.start()
    pump(server, client, delay)
    up.join()
    client.close()
    server.close()


def main():
    port_file, target, delay_ms = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    with open(port_file + ".tmp", "w") as f:
        f.write("%d\n" % listener.getsockname()[1])
    os.rename(port_file + ".tmp", port_file)
    while True:
        client, _ = listener.accept()
        threading.Thread(target=serve, args=(client, target, delay_ms / 1000.0),
                         daemon=True).start()


if __name__ == "__main__":
    main()
