#!/usr/bin/python3
"""A scripted SMTP server for outpost's tests (Python standard library only).

It listens on loopback with an ephemeral port, speaks enough ESMTP for a
submission client, records what it receives, and can be told to misbehave
at any step. Run it with the distribution's interpreter (/usr/bin/python3).

    smtpserver.py --port-file FILE --record DIR [--script SCRIPT.json]
                  [--host 127.0.0.1|::1] [--port N]

Recorded in DIR (each file is complete before the reply that follows it):
    session-N.log   the dialogue of connection N: "C: ..." / "S: ..." lines
                    (message data is not in it)
    msg-M.eml       message M as delivered: transparency dots removed,
                    without the terminating ".", CRLF exactly as received
    msg-M.raw       the same bytes as they came over the wire (with the
                    doubled dots and the terminating ".\\r\\n")
    msg-M.json      its envelope: session, helo, mail_from, mail_params,
                    rcpts

The script (JSON) may set:
    "greeting":  the 220 line (default "220 outpost-test ESMTP ready")
    "ehlo":      capability lines after the first EHLO line
                 (default PIPELINING, 8BITMIME, SIZE 104857600,
                 ENHANCEDSTATUSCODES); "ehlo": null makes EHLO fail with 502
    "ehlo_tls":  capability lines after TLS is up (default: as "ehlo")
    "lmtp":      {"refuse": [addresses]}: speak LMTP (LHLO; after the data,
                 one reply per recipient, 550 for those listed)
    "tls":       {"mode": "starttls" | "implicit", "cert": PEM, "key": PEM,
                  "client_ca": PEM (then a client certificate is required),
                  "min_version": "TLSv1_2", "max_version": "TLSv1_3",
                  "advertise": false (do not offer STARTTLS, but accept it),
                  "weak": true (OpenSSL's security level 0: TLS 1.0 and 1.1,
                  1024-bit keys and SHA-1 certificates can be used)}
                 With "starttls", EHLO offers STARTTLS until TLS is up.
    "auth":      {"user": U, "password": P, "mechanisms": ["PLAIN", ...],
                  "before_tls": false (offer AUTH before STARTTLS too),
                  "bad_server_signature": false (SCRAM: prove a wrong key)}
                 Mechanisms: PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256 and
                 SCRAM-SHA-256-PLUS (tls-unique, so TLS 1.2 only), XOAUTH2
                 and OAUTHBEARER (the password is the token, or with
                 "token_file": PATH, any token listed there: the scripted
                 OAuth provider's). A success is logged as "-- authenticated
                 as U with MECH"; each AUTH as "-- AUTH MECH with an initial
                 response of N bytes" or "without an initial response".
    "line_limit": N: an AUTH command line longer than N bytes (CRLF
                 included) gets "500 5.5.2 Line too long", as a server that
                 reads command lines only so far
    "max_rcpts": N: accept at most N recipients per transaction, then
                 "452 4.5.3 Error: too many recipients" (RFC 5321 4.5.3.1.10)
    "quit_wait": S: after QUIT, wait up to S seconds for the client to close
                 before answering; log "-- the client left without waiting
                 for the 221" or "-- the client waited for the 221"
    "data_without_rcpts": true: answer DATA with 354 even when no recipient
                 was accepted (then read the data, log "-- data for no
                 recipient: N bytes" and refuse it)
    "read_rate": bytes per second: read no faster than this (with a small
                 receive buffer), so a long message takes a while
    "faults":    a list of rules; the first that matches a step applies:
        {"at": STEP, "match": "substring of the command",
         "session": N, "times": K, "after": K, "in_tls": true|false,
         "reply": "451 4.3.0 Try later"     send this instead of the normal reply
         "raw": "bytes\\r\\n"                send exactly these bytes instead
         "action": "close" | "reset" | "stall" | "stall_noread",
         "handshake": true   (STARTTLS: start TLS even after a fault reply),
         "flood": "text", "flood_bytes": N, "tail": "text"
                             (after reply/raw: the text repeated to N bytes,
                              or without end when N is 0, then the tail)}
    "after": K lets the first K matching moments pass untouched.
    STEP is one of CONNECT (before the greeting), EHLO, HELO, STARTTLS,
    HANDSHAKE (instead of the server's side of the TLS handshake: "raw"
    is sent in plaintext, "stall" reads the ClientHello and never answers),
    AUTH (instead of running the mechanism), AUTH_CHALLENGE (instead of a
    334 challenge; "match": "round N" picks the Nth, counting from 1; a
    reply or raw that is not a 334 ends the exchange), AUTH_RESULT (the
    235 or 535 at the end), MAIL, RCPT,
    DATA (the reply to DATA), DATA_BODY (after the first line of message
    data), DATA_END (after the final "." or the last BDAT chunk), BDAT (the
    reply to a chunk that is not the last), RSET, QUIT, NOOP.
    BDAT (RFC 3030) is understood whenever it is used; offer it by putting
    CHUNKING in "ehlo". msg-M.raw is then the chunks' bytes, as msg-M.eml.
    "stall" keeps reading and never answers; "stall_noread" stops reading
    too, so the client's writes eventually block.

"-- session over" ends session-N.log: outpost does not wait for QUIT's 221,
so a test reading the whole dialogue waits for it (settled, tests/lib.sh).

"-- client's turn" in session-N.log: data came from the client after the
server had written: a round trip (the rounds of a TLS handshake are not
counted). A client that sends QUIT without waiting for its 221 waited once
per turn; see speed.sh.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import socket
import socketserver
import ssl
import sys
import threading
import time

from serving import announce_and_serve

MAX_LINE = 65536


class Recorder:
    """Numbers sessions and messages and writes their files atomically."""

    def __init__(self, directory):
        self.dir = directory
        self.lock = threading.Lock()
        self.sessions = 0
        self.messages = 0

    def new_session(self):
        with self.lock:
            self.sessions += 1
            return self.sessions

    def new_message(self):
        with self.lock:
            self.messages += 1
            return self.messages

    def write(self, name, data):
        path = os.path.join(self.dir, name)
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.rename(tmp, path)


class Closed(Exception):
    """The client went away, or a fault closed the connection."""


class Cancelled(Exception):
    """The client answered a challenge with "*"."""


class Aborted(Exception):
    """A fault replaced a challenge with a final reply: the exchange is over."""


def b64(data):
    return base64.b64encode(data).decode("ascii")


def scram_keys(password, salt, iterations):
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    return client_key, server_key


class Session(socketserver.BaseRequestHandler):
    # set on the class by main()
    script = {}
    recorder = None
    context = None
    context_lock = threading.Lock()

    def setup(self):
        self.sock = self.request
        if self.script.get("read_rate"):
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        self.buf = b""
        self.number = self.recorder.new_session()
        self.log_lines = []
        self.helo = None
        self.in_tls = False
        self.last_rule = None
        self.reset_transaction()

    def reset_transaction(self):
        self.mail_from = None
        self.mail_params = ""
        self.rcpts = []
        self.rcpt_params = []
        self.chunks = bytearray()

    # ---- transcript -----------------------------------------------------
    def log(self, line):
        self.log_lines.append(line)
        self.recorder.write("session-%d.log" % self.number,
                            ("\n".join(self.log_lines) + "\n").encode("utf-8", "replace"))

    # ---- I/O ------------------------------------------------------------
    def send_raw(self, data):
        try:
            self.sock.sendall(data)
        except OSError:
            raise Closed()
        self.answered = True

    def reply(self, text):
        for line in text.split("\n"):
            self.log("S: " + line)
        self.send_raw(text.replace("\n", "\r\n").encode("utf-8") + b"\r\n")

    def recv_more(self):
        try:
            data = self.sock.recv(65536)
        except OSError:
            raise Closed()
        if not data:
            raise Closed()
        if getattr(self, "answered", False):
            # Something came after the server last wrote: the client read
            # that (or, pipelining, had sent it at once and it would have
            # come with what came before: one write arrives whole on
            # loopback).
            self.log("-- client's turn")
            self.answered = False
        self.buf += data
        rate = self.script.get("read_rate")
        if rate:
            time.sleep(len(data) / rate)

    def read_line(self):
        """One line with its terminator (LF or CRLF), as bytes."""
        while b"\n" not in self.buf:
            if len(self.buf) > MAX_LINE:
                raise Closed()
            self.recv_more()
        i = self.buf.index(b"\n") + 1
        line, self.buf = self.buf[:i], self.buf[i:]
        return line

    # ---- faults ---------------------------------------------------------
    def fault(self, step, command=""):
        """The rule for this step, consumed if it has a count."""
        for rule in self.script.get("faults", []):
            if rule.get("at") != step:
                continue
            if "session" in rule and rule["session"] != self.number:
                continue
            if "in_tls" in rule and rule["in_tls"] != self.in_tls:
                continue
            if "match" in rule and rule["match"] not in command:
                continue
            if rule.get("after", 0) > 0:
                rule["after"] -= 1
                continue
            if rule.get("times", 1) <= 0:
                continue
            if "times" in rule:
                rule["times"] -= 1
            return rule
        return None

    def apply(self, step, normal_reply, command=""):
        """Answer a step, unless a fault says otherwise. Returns True when
        the normal reply was sent."""
        rule = self.fault(step, command)
        self.last_rule = rule
        if rule is None:
            if normal_reply is not None:
                self.reply(normal_reply)
            return True
        self.run_rule(step, rule)
        return False

    def run_rule(self, step, rule):
        """Send what a fault rule says, then do its action."""
        action = rule.get("action")
        if "reply" in rule:
            self.reply(rule["reply"])
        elif "raw" in rule:
            self.log("S(raw): " + repr(rule["raw"]))
            self.send_raw(rule["raw"].encode("latin-1"))
        if "flood" in rule:
            self.flood(rule)
        if action == "close":
            self.log("-- closed by fault at %s" % step)
            raise Closed()
        if action == "reset":
            self.log("-- reset by fault at %s" % step)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 b"\x01\x00\x00\x00\x00\x00\x00\x00")
            raise Closed()
        if action == "stall":
            self.log("-- stalled at %s" % step)
            while True:
                self.recv_more()
                self.buf = b""
        if action == "stall_noread":
            self.log("-- stalled (not reading) at %s" % step)
            while True:
                time.sleep(3600)

    def flood(self, rule):
        """Send rule["flood"] over and over: rule["flood_bytes"] bytes of
        it, or without end (until the client goes away) when that is 0;
        then rule["tail"]."""
        unit = rule["flood"].encode("latin-1")
        block = unit * max(1, 65536 // len(unit))
        total = rule.get("flood_bytes", 0)
        self.log("-- flooding %s bytes of %r" % (total or "endless", rule["flood"][:20]))
        sent = 0
        while total == 0 or sent < total:
            chunk = block if total == 0 else block[:total - sent]
            self.send_raw(chunk)
            sent += len(chunk)
        self.send_raw(rule.get("tail", "").encode("latin-1"))

    # ---- the dialogue ---------------------------------------------------
    # ---- TLS ------------------------------------------------------------
    def tls_context(self):
        # One context for the server's life, as a real server has: its
        # session ticket key is what lets a client resume (RFC 8446 2.2).
        with Session.context_lock:
            if Session.context is None:
                Session.context = self.new_tls_context()
        return Session.context

    def new_tls_context(self):
        conf = self.script["tls"]
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if conf.get("weak"):
            # OpenSSL refuses TLS 1.0/1.1, 1024-bit keys and SHA-1 otherwise
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.load_cert_chain(conf["cert"], conf["key"])
        if "min_version" in conf:
            ctx.minimum_version = getattr(ssl.TLSVersion, conf["min_version"])
        if "max_version" in conf:
            ctx.maximum_version = getattr(ssl.TLSVersion, conf["max_version"])
        if "client_ca" in conf:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(conf["client_ca"])

        def note_sni(sock, name, context):
            if name:
                sock.outpost_session.log("-- SNI: %s" % name)
        ctx.sni_callback = note_sni
        return ctx

    def start_tls(self):
        if self.buf:
            # RFC 3207: anything the client sent after STARTTLS is discarded
            self.log("-- discarded %d bytes sent before the handshake" % len(self.buf))
            self.buf = b""
        rule = self.fault("HANDSHAKE")
        if rule is not None:
            self.run_rule("HANDSHAKE", rule)
            raise Closed()
        try:
            ctx = self.tls_context()
            tls = ctx.wrap_socket(self.sock, server_side=True, do_handshake_on_connect=False)
            tls.outpost_session = self  # for the SNI callback
            tls.do_handshake()
            self.sock = tls
        except (ssl.SSLError, OSError) as e:
            self.log("-- TLS handshake failed: %s" % e)
            raise Closed()
        self.in_tls = True
        if self.sock.session_reused:
            self.log("-- TLS session resumed")
        peer = self.sock.getpeercert()
        subject = ""
        if peer:
            subject = ",".join("%s=%s" % kv for rdn in peer.get("subject", ()) for kv in rdn)
        self.log("-- TLS: %s %s%s" % (self.sock.version(), self.sock.cipher()[0],
                                       " client " + subject if subject else ""))
        # RFC 3207: forget everything learned before TLS
        self.helo = None
        self.reset_transaction()

    def handle(self):
        try:
            if self.script.get("tls", {}).get("mode") == "implicit":
                self.start_tls()
            self.dialogue()
        except Closed:
            pass
        finally:
            self.log("-- session over")
            try:
                self.sock.close()
            except OSError:
                pass

    def dialogue(self):
        greeting = self.script.get("greeting", "220 outpost-test ESMTP ready")
        self.apply("CONNECT", greeting)
        while True:
            raw = self.read_line()
            line = raw.rstrip(b"\r\n").decode("utf-8", "replace")
            self.log("C: " + line)
            verb = line.split(" ", 1)[0].upper()
            arg = line[len(verb) + 1:] if " " in line else ""
            handler = getattr(self, "cmd_" + verb, None)
            if handler is None:
                self.reply("500 5.5.2 Command not recognized")
                continue
            handler(line, arg)

    def capabilities(self):
        caps = self.script.get("ehlo", ["PIPELINING", "8BITMIME", "SIZE 104857600",
                                        "ENHANCEDSTATUSCODES"])
        if self.in_tls and "ehlo_tls" in self.script:
            caps = self.script["ehlo_tls"]
        tls = self.script.get("tls", {})
        if (caps is not None and not self.in_tls and tls.get("mode") == "starttls"
                and tls.get("advertise", True)):
            caps = list(caps) + ["STARTTLS"]
        auth = self.script.get("auth")
        if (caps is not None and auth and (self.in_tls or auth.get("before_tls")
                                           or tls.get("mode") != "starttls")):
            caps = list(caps) + ["AUTH " + " ".join(auth["mechanisms"])]
        return caps

    def cmd_EHLO(self, line, arg):
        caps = self.capabilities()
        if caps is None:
            self.apply("EHLO", "502 5.5.2 Error: command not recognized", line)
            return
        self.helo = arg
        lines = ["outpost-test greets " + arg] + list(caps)
        text = "\n".join(("250-" if i < len(lines) - 1 else "250 ") + l
                         for i, l in enumerate(lines))
        self.apply("EHLO", text, line)

    def cmd_LHLO(self, line, arg):
        if "lmtp" not in self.script:
            self.reply("500 5.5.2 Command not recognized")
            return
        self.cmd_EHLO(line, arg)

    def cmd_HELO(self, line, arg):
        self.helo = arg
        self.apply("HELO", "250 outpost-test", line)

    def cmd_STARTTLS(self, line, arg):
        if self.script.get("tls", {}).get("mode") != "starttls" or self.in_tls:
            self.reply("502 5.5.1 STARTTLS not available")
            return
        sent = self.apply("STARTTLS", "220 2.0.0 Ready to start TLS", line)
        if sent or (self.last_rule or {}).get("handshake"):
            self.start_tls()

    # ---- AUTH -------------------------------------------------------------
    def challenge(self, data):
        """Send a 334 challenge, return the decoded answer."""
        self.rounds += 1
        rule = self.fault("AUTH_CHALLENGE", "round %d" % self.rounds)
        if rule:
            self.run_rule("AUTH_CHALLENGE", rule)
            if not rule.get("reply", rule.get("raw", "")).startswith("334"):
                raise Aborted()
        else:
            self.reply("334 " + b64(data))
        answer = self.read_line().rstrip(b"\r\n").decode("ascii", "replace")
        self.log("C: " + answer)
        if answer == "*":
            raise Cancelled()
        try:
            return base64.b64decode(answer, validate=True)
        except ValueError:
            return b""

    def initial(self, initial):
        if initial is None:
            return self.challenge(b"")
        return b"" if initial == "=" else base64.b64decode(initial)

    def auth_PLAIN(self, conf, initial):
        parts = self.initial(initial).split(b"\0")
        return len(parts) == 3 and parts[1:] == [conf["user"].encode(), conf["password"].encode()]

    def auth_LOGIN(self, conf, initial):
        user = self.challenge(b"Username:") if initial is None else base64.b64decode(initial)
        password = self.challenge(b"Password:")
        return user == conf["user"].encode() and password == conf["password"].encode()

    def auth_CRAM_MD5(self, conf, initial):
        nonce = ("<%d.%f@outpost-test>" % (os.getpid(), time.time())).encode()
        user, _, digest = self.challenge(nonce).decode().partition(" ")
        want = hmac.new(conf["password"].encode(), nonce, "md5").hexdigest()
        return user == conf["user"] and hmac.compare_digest(digest, want)

    def auth_SCRAM_SHA_256(self, conf, initial, plus=False):
        first = self.initial(initial).decode()
        gs2_flag, authzid, bare = first.split(",", 2)
        if plus != gs2_flag.startswith("p="):
            return False
        attrs = dict(a.split("=", 1) for a in bare.split(","))
        if attrs.get("n") != conf["user"]:
            return False
        nonce = attrs["r"] + b64(os.urandom(12))
        salt, iterations = os.urandom(16), 4096
        server_first = "r=%s,s=%s,i=%d" % (nonce, b64(salt), iterations)
        final = self.challenge(server_first.encode()).decode()
        without_proof, _, proof = final.rpartition(",p=")
        fattrs = dict(a.split("=", 1) for a in without_proof.split(","))
        cbind = (gs2_flag + "," + authzid + ",").encode()
        if plus:
            cbind += self.sock.get_channel_binding("tls-unique")
            self.log("-- channel binding: tls-unique")
        if fattrs.get("c") != b64(cbind) or fattrs.get("r") != nonce:
            return False
        client_key, server_key = scram_keys(conf["password"], salt, iterations)
        message = ",".join((bare, server_first, without_proof)).encode()
        signature = hmac.new(hashlib.sha256(client_key).digest(), message, "sha256").digest()
        expected = bytes(a ^ b for a, b in zip(client_key, signature))
        if not hmac.compare_digest(base64.b64decode(proof), expected):
            return False
        if conf.get("bad_server_signature"):
            server_key = b"wrong" + server_key
        verifier = hmac.new(server_key, message, "sha256").digest()
        self.challenge(("v=" + b64(verifier)).encode())
        return True

    def auth_SCRAM_SHA_256_PLUS(self, conf, initial):
        return self.auth_SCRAM_SHA_256(conf, initial, plus=True)

    def oauth_failure(self):
        """RFC 7628: a JSON error as a challenge, then the client's reply."""
        self.challenge(b'{"status":"invalid_token","scope":"mail"}')
        return False

    def good_tokens(self, conf):
        """The tokens accepted: the password, or those in "token_file"
        (the scripted OAuth provider's tokens good now)."""
        if "token_file" in conf:
            try:
                with open(conf["token_file"]) as f:
                    return set(line.strip() for line in f if line.strip())
            except OSError:
                return set()
        return {conf["password"]}

    def auth_XOAUTH2(self, conf, initial):
        text = self.initial(initial).decode()
        prefix, suffix = "user=%s\x01auth=Bearer " % conf["user"], "\x01\x01"
        ok = (text.startswith(prefix) and text.endswith(suffix)
              and text[len(prefix):-len(suffix)] in self.good_tokens(conf))
        return ok or self.oauth_failure()

    def auth_OAUTHBEARER(self, conf, initial):
        text = self.initial(initial).decode()
        token = text.split("\x01auth=Bearer ", 1)[-1][:-2] if "\x01auth=Bearer " in text else ""
        ok = (text.startswith("n,a=%s," % conf["user"]) and text.endswith("\x01\x01")
              and token in self.good_tokens(conf))
        return ok or self.oauth_failure()

    def cmd_AUTH(self, line, arg):
        conf = self.script.get("auth")
        mech, _, initial = arg.partition(" ")
        mech = mech.upper()
        if not conf or mech not in conf["mechanisms"]:
            self.reply("504 5.5.4 Unrecognized authentication type")
            return
        limit = self.script.get("line_limit")
        if limit and len(line) + 2 > limit:
            self.reply("500 5.5.2 Line too long")
            return
        self.log("-- AUTH %s %s" % (mech, "with an initial response of %d bytes" % len(initial)
                                     if initial else "without an initial response"))
        if not self.apply("AUTH", None, line):
            return
        self.rounds = 0
        try:
            ok = getattr(self, "auth_" + mech.replace("-", "_"))(conf, initial or None)
        except Cancelled:
            self.reply("501 5.7.0 Authentication cancelled")
            return
        except Aborted:
            return
        except (ValueError, KeyError, UnicodeDecodeError):
            ok = False
        if not ok:
            self.apply("AUTH_RESULT", "535 5.7.8 Error: authentication failed: authentication failure")
        elif self.apply("AUTH_RESULT", "235 2.7.0 Authentication successful"):
            self.log("-- authenticated as %s with %s" % (conf["user"], mech))

    def cmd_MAIL(self, line, arg):
        if not arg.upper().startswith("FROM:"):
            self.reply("501 5.5.4 Syntax: MAIL FROM:<address>")
            return
        if self.apply("MAIL", None, line):
            rest = arg[5:].strip()
            addr, _, params = rest.partition(" ")
            self.mail_from = addr.strip("<>")
            self.mail_params = params.strip()
            self.rcpts = []
            self.reply("250 2.1.0 Ok")

    def cmd_RCPT(self, line, arg):
        if self.mail_from is None:
            self.reply("503 5.5.1 Error: need MAIL command")
            return
        if not arg.upper().startswith("TO:"):
            self.reply("501 5.5.4 Syntax: RCPT TO:<address>")
            return
        if self.apply("RCPT", None, line):
            limit = self.script.get("max_rcpts")
            if limit is not None and len(self.rcpts) >= limit:
                self.reply("452 4.5.3 Error: too many recipients")
                return
            addr, _, params = arg[3:].strip().partition(" ")
            self.rcpts.append(addr.strip("<>"))
            self.rcpt_params.append(params.strip())
            self.reply("250 2.1.5 Ok")

    def cmd_DATA(self, line, arg):
        if not self.rcpts and self.script.get("data_without_rcpts"):
            # Some servers answer 354 even so (RFC 2920 3.1 warns of them)
            self.reply("354 End data with <CR><LF>.<CR><LF>")
            size = 0
            while True:
                chunk = self.read_line()
                if chunk in (b".\r\n", b".\n"):
                    break
                size += len(chunk)
            self.log("-- data for no recipient: %d bytes" % size)
            self.reply("554 5.5.1 Error: no valid recipients")
            return
        if not self.rcpts:
            self.reply("554 5.5.1 Error: no valid recipients")
            return
        if not self.apply("DATA", "354 End data with <CR><LF>.<CR><LF>", line):
            return
        raw = bytearray()
        body = bytearray()
        first = True
        while True:
            try:
                chunk = self.read_line()
            except Closed:
                self.log("-- closed during the data, after %d bytes" % len(raw))
                raise
            raw += chunk
            if chunk in (b".\r\n", b".\n"):
                break
            body += chunk[1:] if chunk.startswith(b".") else chunk
            if first:
                first = False
                self.apply("DATA_BODY", None)
        self.deliver(bytes(raw), bytes(body))

    def deliver(self, raw, body):
        """Record a complete message and give the final reply(ies)."""
        n = self.recorder.new_message()
        self.recorder.write("msg-%d.raw" % n, raw)
        self.recorder.write("msg-%d.eml" % n, body)
        envelope = {"session": self.number, "helo": self.helo, "mail_from": self.mail_from,
                    "mail_params": self.mail_params, "rcpts": self.rcpts,
                    "rcpt_params": self.rcpt_params}
        self.recorder.write("msg-%d.json" % n, json.dumps(envelope).encode())
        self.log("-- message %d: %d bytes" % (n, len(body)))
        rcpts = self.rcpts
        self.reset_transaction()
        if "lmtp" in self.script:
            refuse = self.script["lmtp"].get("refuse", [])
            for r in rcpts:
                self.reply("550 5.1.1 <%s> mailbox unavailable" % r if r in refuse
                           else "250 2.0.0 <%s> delivered as %d" % (r, n))
            return
        self.apply("DATA_END", "250 2.0.0 Ok: queued as %d" % n)

    def read_exactly(self, n):
        while len(self.buf) < n:
            self.recv_more()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def cmd_BDAT(self, line, arg):
        """RFC 3030: "BDAT size [LAST]", then exactly size bytes of data."""
        words = arg.split()
        if not words or not words[0].isdigit() or len(words) > 2 or \
                (len(words) == 2 and words[1].upper() != "LAST"):
            self.reply("501 5.5.4 Syntax: BDAT size [LAST]")
            return
        data = self.read_exactly(int(words[0]))
        self.log("-- BDAT chunk: %d bytes%s" % (len(data), " (last)" if len(words) == 2 else ""))
        self.chunks += data
        if not self.rcpts:
            self.chunks = bytearray()
            self.reply("554 5.5.1 Error: no valid recipients")
            return
        if len(words) == 1:
            self.apply("BDAT", "250 2.0.0 %d bytes received" % len(data), line)
            return
        body, self.chunks = bytes(self.chunks), bytearray()
        self.deliver(body, body)

    def cmd_RSET(self, line, arg):
        self.reset_transaction()
        self.apply("RSET", "250 2.0.0 Ok", line)

    def cmd_NOOP(self, line, arg):
        self.apply("NOOP", "250 2.0.0 Ok", line)

    def cmd_QUIT(self, line, arg):
        wait = self.script.get("quit_wait")
        if wait and not self.buf:
            # Does the client go without the 221? (it has nothing to learn)
            self.sock.settimeout(wait)
            try:
                left = self.sock.recv(1) == b""
            except socket.timeout:
                left = False
            except OSError:
                left = True
            self.sock.settimeout(None)
            self.log("-- the client left without waiting for the 221" if left
                     else "-- the client waited for the 221")
            if left:
                raise Closed()
        self.apply("QUIT", "221 2.0.0 Bye", line)
        raise Closed()


class Pop3Session(Session):
    """With --pop3: just enough POP3 (RFC 1939, STLS from RFC 2595) for
    POP-before-SMTP. The script's "pop3" has user and password; its "tls"
    mode is "implicit" or "stls". A login is logged as "-- POP3 login U"."""

    def dialogue(self):
        conf = self.script["pop3"]
        self.reply("+OK outpost-test POP3 ready")
        user = None
        while True:
            line = self.read_line().rstrip(b"\r\n").decode("utf-8", "replace")
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            self.log("C: " + (line if verb != "PASS" else "PASS <hidden>"))
            if verb == "STLS" and self.script.get("tls", {}).get("mode") == "stls" \
                    and not self.in_tls:
                self.reply("+OK Begin TLS negotiation")
                self.start_tls()
            elif verb == "USER":
                user = arg
                self.reply("+OK")
            elif verb == "PASS":
                if user == conf["user"] and arg == conf["password"]:
                    self.log("-- POP3 login %s%s" % (user, " over TLS" if self.in_tls else ""))
                    self.reply("+OK logged in")
                else:
                    self.reply("-ERR [AUTH] Authentication failed.")
            elif verb == "QUIT":
                self.reply("+OK Bye")
                raise Closed()
            else:
                self.reply("-ERR unknown command")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class UnixServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="default: any free port")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--record", required=True)
    ap.add_argument("--script")
    ap.add_argument("--pop3", action="store_true", help="speak POP3 instead (see Pop3Session)")
    ap.add_argument("--unix", help="listen on this unix socket path instead of TCP")
    opts = ap.parse_args()

    Session.script = {}
    if opts.script:
        with open(opts.script) as f:
            Session.script = json.load(f)
    Session.recorder = Recorder(opts.record)

    handler = Pop3Session if opts.pop3 else Session
    if opts.unix:
        server = UnixServer(opts.unix, handler)
        port = 0
    else:
        if ":" in opts.host:
            Server.address_family = socket.AF_INET6
        server = Server((opts.host, opts.port), handler)
        port = server.server_address[1]
    return announce_and_serve(server, port, opts.port_file)


if __name__ == "__main__":
    sys.exit(main())
