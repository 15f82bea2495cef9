#!/usr/bin/python3
"""A scripted OAuth 2.0 provider over HTTPS on loopback, for outpost's tests
(Python standard library only; run it with /usr/bin/python3).

    oauthprovider.py --port-file FILE --cert PEM --key PEM --dir DIR
                     [--script SCRIPT.json]

Endpoints:
    GET  /authorize   the authorization endpoint (RFC 6749 4.1, PKCE RFC
                      7636): checks the client, S256, the redirect (a
                      loopback http:// address), then redirects to it with
                      code and state (or error=access_denied with "deny")
    POST /token       grant_type authorization_code (the code, redirect_uri
                      and code_verifier checked), refresh_token (rotated
                      when "rotate": the old one is dead after use) and
                      urn:ietf:params:oauth:grant-type:device_code
                      (authorization_pending until approved; slow_down
                      when polled faster than the interval)
    POST /device      the device authorization endpoint (RFC 8628 3.1)
    GET  /approve?user_code=C   a person entering the code (the test's)
    POST /introspect  RFC 7662 for Dovecot's oauth2 passdb: token=T ->
                      {"active": true, "username": USER} while T is good
    POST /revoke      (a test's) every access token dies before its time;
                      refresh tokens stay good

The script (JSON) may set:
    "client_id" (default "outpost-test"), "client_secret" (none: a public
    client), "user" (default "joe@example.com"), "scope" (granted; default
    what was asked), "expires_in" (default 3600), "first_expires_in" (the
    first access token's, from a code: a short one makes the next send
    refresh), "token_size" (the access
    token's length, default 40), "rotate" (default true), "interval"
    (device polling, default 1), "deny" (the user refuses),
    "no_refresh_token", "expires_in_string" (send it as "3600"),
    "faults": [{"grant": "refresh_token"|"authorization_code"|"device_code"
                |"device", "status": N, "body": "raw text" | {"error": ...},
                "times": K, "after": J, "delay": S}]  after J requests of
                that kind, the next K answered so instead (after "delay"
                seconds)

Written in DIR: requests.log (one line per request: the path, the grant
type, what was decided; never a token), tokens (the access tokens good now,
one per line: the scripted SMTP server's "token_file"), refresh (the
refresh tokens good now).
"""

import argparse
import base64
import hashlib
import json
import os
import secrets
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from serving import announce_and_serve

LOCK = threading.Lock()


class State:
    def __init__(self, directory, script):
        self.dir = directory
        self.script = script
        self.codes = {}     # code -> (challenge, redirect_uri, scope)
        self.access = {}    # token -> expiry
        self.refresh = set()
        self.devices = {}   # device_code -> {"user_code", "approved", "last_poll", "interval"}
        self.faults = [dict(f) for f in script.get("faults", [])]

    def log(self, line):
        with open(os.path.join(self.dir, "requests.log"), "a") as f:
            f.write(line + "\n")

    def save(self):
        now = time.time()
        for name, tokens in (("tokens", [t for t, e in self.access.items() if e > now]),
                             ("refresh", sorted(self.refresh))):
            tmp = os.path.join(self.dir, name + ".tmp")
            with open(tmp, "w") as f:
                f.write("".join(t + "\n" for t in tokens))
            os.rename(tmp, os.path.join(self.dir, name))

    def fault(self, grant):
        for f in self.faults:
            if f.get("grant") == grant and f.get("after", 0) > 0:
                f["after"] -= 1
                continue
            if f.get("grant") == grant and f.get("times", 1) > 0:
                f["times"] = f.get("times", 1) - 1
                return f
        return None

    def issue(self, scope, first=False):
        """A new access token (and refresh token): the reply's fields;
        'first': the grant's first (its expiry may be "first_expires_in")."""
        size = self.script.get("token_size", 40)
        access = (secrets.token_urlsafe(size) + "x" * size)[:size]
        expires = self.script.get("expires_in", 3600)
        if first:
            expires = self.script.get("first_expires_in", expires)
        self.access[access] = time.time() + expires
        reply = {"access_token": access, "token_type": "Bearer",
                 "expires_in": str(expires) if self.script.get("expires_in_string") else expires,
                 "scope": self.script.get("scope", scope)}
        if not self.script.get("no_refresh_token"):
            refresh = "r-" + secrets.token_urlsafe(24)
            self.refresh.add(refresh)
            reply["refresh_token"] = refresh
        self.save()
        return reply


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None

    def log_message(self, fmt, *args):
        pass

    def send_json(self, status, obj):
        body = (obj if isinstance(obj, str) else json.dumps(obj)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def oauth_error(self, code, why, status=400):
        self.state.log("%s -> %s (%s)" % (self.path.split("?")[0], code, why))
        self.send_json(status, {"error": code, "error_description": why})

    def form(self):
        n = int(self.headers.get("Content-Length", "0"))
        return {k: v[0] for k, v in urllib.parse.parse_qs(self.rfile.read(n).decode(),
                                                          keep_blank_values=True).items()}

    def client_ok(self, f):
        s = self.state.script
        if f.get("client_id") != s.get("client_id", "outpost-test"):
            self.oauth_error("invalid_client", "unknown client " + f.get("client_id", ""), 401)
            return False
        if s.get("client_secret") and f.get("client_secret") != s["client_secret"]:
            self.oauth_error("invalid_client", "wrong client secret", 401)
            return False
        return True

    def apply_fault(self, grant):
        f = self.state.fault(grant)
        if not f:
            return False
        time.sleep(f.get("delay", 0))
        self.state.log("%s %s -> fault %s" % (self.path, grant, f.get("status", 400)))
        body = f.get("body", {"error": "server_error"})
        self.send_json(f.get("status", 400), body)
        return True

    # ---- GET ---------------------------------------------------------------
    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        with LOCK:
            if url.path == "/authorize":
                self.authorize(q)
            elif url.path == "/approve":
                self.approve(q)
            else:
                self.send_json(404, {"error": "not_found"})

    def authorize(self, q):
        s = self.state.script
        redirect = q.get("redirect_uri", "")
        r = urllib.parse.urlsplit(redirect)
        problems = []
        if q.get("response_type") != "code":
            problems.append("response_type")
        if q.get("client_id") != s.get("client_id", "outpost-test"):
            problems.append("client_id")
        if q.get("code_challenge_method") != "S256" or len(q.get("code_challenge", "")) != 43:
            problems.append("PKCE")
        if r.scheme != "http" or r.hostname not in ("127.0.0.1", "localhost", "::1") or not r.port:
            problems.append("redirect_uri")
        if not q.get("state"):
            problems.append("state")
        if problems:
            self.state.log("/authorize -> refused: " + ", ".join(problems))
            self.send_json(400, {"error": "invalid_request", "error_description":
                                 "bad " + ", ".join(problems)})
            return
        if s.get("deny"):
            params = {"error": "access_denied", "error_description": "The user said no",
                      "state": q["state"]}
        else:
            code = "c-" + secrets.token_urlsafe(16)
            self.state.codes[code] = (q["code_challenge"], redirect, q.get("scope", ""))
            params = {"code": code, "state": q["state"]}
        self.state.log("/authorize -> redirect (login_hint %s)" % q.get("login_hint", "-"))
        self.send_response(302)
        self.send_header("Location", redirect + "?" + urllib.parse.urlencode(params))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def approve(self, q):
        for d in self.state.devices.values():
            if d["user_code"] == q.get("user_code"):
                d["approved"] = True
                self.state.log("/approve -> approved")
                self.send_json(200, {"approved": True})
                return
        self.send_json(404, {"error": "no such code"})

    # ---- POST --------------------------------------------------------------
    def do_POST(self):
        path = urllib.parse.urlsplit(self.path).path
        f = self.form()
        with LOCK:
            if path == "/token":
                self.token(f)
            elif path == "/device":
                self.device(f)
            elif path == "/introspect":
                self.introspect(f)
            elif path == "/revoke":
                self.state.access.clear()  # (a test's: every access token dies early)
                self.state.save()
                self.state.log("/revoke -> access tokens revoked")
                self.send_json(200, {"revoked": True})
            else:
                self.send_json(404, {"error": "not_found"})

    def token(self, f):
        grant = f.get("grant_type", "")
        short = grant.rsplit(":", 1)[-1]
        if self.apply_fault(short):
            return
        if not self.client_ok(f):
            return
        if grant == "authorization_code":
            entry = self.state.codes.pop(f.get("code", ""), None)
            if not entry:
                return self.oauth_error("invalid_grant", "unknown or used code")
            challenge, redirect, scope = entry
            verifier = f.get("code_verifier", "")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            if digest.rstrip(b"=").decode() != challenge:
                return self.oauth_error("invalid_grant", "PKCE verifier does not match")
            if f.get("redirect_uri") != redirect:
                return self.oauth_error("invalid_grant", "redirect_uri differs")
            self.state.log("/token authorization_code -> issued")
            return self.send_json(200, self.state.issue(scope, first=True))
        if grant == "refresh_token":
            old = f.get("refresh_token", "")
            if old not in self.state.refresh:
                return self.oauth_error("invalid_grant", "AADSTS70000: the refresh token is "
                                        "not valid (used, revoked or expired)")
            if self.state.script.get("rotate", True):
                self.state.refresh.discard(old)
            reply = self.state.issue(f.get("scope", ""))
            if not self.state.script.get("rotate", True):
                self.state.refresh.discard(reply.pop("refresh_token", None))
                self.state.save()
            self.state.log("/token refresh_token -> issued%s" %
                           (" (rotated)" if "refresh_token" in reply else ""))
            return self.send_json(200, reply)
        if grant == "urn:ietf:params:oauth:grant-type:device_code":
            d = self.state.devices.get(f.get("device_code", ""))
            if not d:
                return self.oauth_error("invalid_grant", "unknown device code")
            now = time.time()
            early = now - d["last_poll"] < d["interval"] - 0.2
            d["last_poll"] = now
            if early:
                d["interval"] += 5
                return self.oauth_error("slow_down", "polled too fast")
            if not d["approved"]:
                return self.oauth_error("authorization_pending", "waiting for the user")
            del self.state.devices[f["device_code"]]
            self.state.log("/token device_code -> issued")
            return self.send_json(200, self.state.issue(d["scope"], first=True))
        self.oauth_error("unsupported_grant_type", grant)

    def device(self, f):
        if self.apply_fault("device") or not self.client_ok(f):
            return
        code = "d-" + secrets.token_urlsafe(16)
        user_code = secrets.token_hex(4).upper()
        interval = self.state.script.get("interval", 1)
        self.state.devices[code] = {"user_code": user_code, "approved": False,
                                    "last_poll": time.time() - interval,
                                    "interval": interval, "scope": f.get("scope", "")}
        self.state.log("/device -> code %s" % user_code)
        self.send_json(200, {"device_code": code, "user_code": user_code,
                             "verification_uri": "https://127.0.0.1:%d/approve" %
                             self.server.server_address[1],
                             "expires_in": 600, "interval": interval})

    def introspect(self, f):
        token = f.get("token", "")
        good = self.state.access.get(token, 0) > time.time()
        self.state.log("/introspect -> %s" % ("active" if good else "inactive"))
        reply = {"active": good}
        if good:
            reply["username"] = self.state.script.get("user", "joe@example.com")
        self.send_json(200, reply)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--script")
    ap.add_argument("--port", type=int, default=0)
    o = ap.parse_args()
    script = json.load(open(o.script)) if o.script else {}
    Handler.state = State(o.dir, script)
    Handler.state.save()
    ThreadingHTTPServer.allow_reuse_address = True
    server = ThreadingHTTPServer(("127.0.0.1", o.port), Handler)
    server.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(o.cert, o.key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    return announce_and_serve(server, server.server_address[1], o.port_file)


if __name__ == "__main__":
    sys.exit(main())
