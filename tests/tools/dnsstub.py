#!/usr/bin/python3
"""A stub DNS server for outpost's tests (Python standard library only).

    dnsstub.py ZONE.json [--host 127.0.0.1] [--port 53] [--ready FILE]

Answers UDP queries from ZONE.json, which maps names to records:

    {"_submissions._tcp.example.org": {"SRV": [[0, 1, 465, "mail.example.org"]]},
     "example.net": {"MX": [[10, "aspmx.l.google.com"]]}}

A name in the zone without the type asked gets an empty answer (NODATA);
a name not in it gets NXDOMAIN. Every query is logged on stdout as
"QUERY name TYPE". It is meant for a private network namespace, where it
can have port 53 to itself.
"""

import argparse
import json
import os
import socket
import struct
import sys

TYPES = {"SRV": 33, "MX": 15}
NAMES = {v: k for k, v in TYPES.items()}


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\0"


def read_question(msg):
    labels, i = [], 12
    while msg[i]:
        n = msg[i]
        labels.append(msg[i + 1:i + 1 + n].decode("ascii", "replace"))
        i += 1 + n
    qtype, qclass = struct.unpack("!HH", msg[i + 1:i + 5])
    return ".".join(labels), qtype, msg[12:i + 5]


def rdata(qtype, rec):
    if qtype == TYPES["SRV"]:
        prio, weight, port, target = rec
        return struct.pack("!HHH", prio, weight, port) + encode_name(target)
    prio, target = rec
    return struct.pack("!H", prio) + encode_name(target)


def answer(zone, msg):
    qid, flags = struct.unpack("!HH", msg[:4])
    name, qtype, question = read_question(msg)
    print("QUERY %s %s" % (name, NAMES.get(qtype, qtype)), flush=True)
    entry = zone.get(name.lower())
    records = (entry or {}).get(NAMES.get(qtype, ""), [])
    rcode = 0 if entry is not None else 3
    out_flags = 0x8000 | 0x0400 | (flags & 0x0100) | 0x0080 | rcode
    body = b""
    for rec in records:
        data = rdata(qtype, rec)
        body += b"\xc0\x0c" + struct.pack("!HHIH", qtype, 1, 300, len(data)) + data
    return struct.pack("!HHHHHH", qid, out_flags, 1, len(records), 0, 0) + question + body


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("zone")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=53)
    ap.add_argument("--ready", help="created once the socket is bound")
    args = ap.parse_args()
    zone = {k.lower().rstrip("."): v for k, v in json.load(open(args.zone)).items()}
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((args.host, args.port))
    if args.ready:
        open(args.ready + ".tmp", "w").close()
        os.rename(args.ready + ".tmp", args.ready)
    while True:
        msg, peer = sock.recvfrom(4096)
        try:
            sock.sendto(answer(zone, msg), peer)
        except (IndexError, struct.error, ValueError) as e:
            print("BAD QUERY %r" % e, file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
