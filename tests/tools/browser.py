#!/usr/bin/python3
"""A browser for outpost --authorize tests: installed as "xdg-open" on PATH,
it is given the authorization address, follows it to the scripted provider
(tests/server/oauthprovider.py) and on to the redirect outpost listens for,
as a person's browser would after signing in.

    browser.py URL

Environment: OUTPOST_TEST_CA (the CA file the provider's certificate is
signed by), OUTPOST_TEST_BROWSER_LOG (where to say what happened), and
OUTPOST_TEST_BROWSER, one of
    follow      (default) go to the redirect as the provider gives it
    wrongstate  first the redirect with another state, then the real one
    favicon     first /favicon.ico on the listener, then the redirect
    print       do not go: write the redirect address to the log (for a
                pasted-address test)
"""
import http.client
import os
import ssl
import sys
import urllib.parse


def log(line):
    path = os.environ.get("OUTPOST_TEST_BROWSER_LOG")
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")


def get(url):
    """One GET, no redirects followed: (status, headers, body)."""
    u = urllib.parse.urlsplit(url)
    if u.scheme == "https":
        ctx = ssl.create_default_context(cafile=os.environ.get("OUTPOST_TEST_CA"))
        c = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=20)
    else:
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=20)
    c.request("GET", (u.path or "/") + ("?" + u.query if u.query else ""))
    r = c.getresponse()
    body = r.read().decode("utf-8", "replace")
    return r.status, r.getheader("Location"), body


def main():
    url = sys.argv[1]
    mode = os.environ.get("OUTPOST_TEST_BROWSER", "follow")
    status, location, body = get(url)
    if status != 302 or not location:
        log("provider answered %d: %s" % (status, body.strip()))
        return 1
    log("provider redirected to %s" % location.split("?")[0])
    if mode == "print":
        log("redirect " + location)
        return 0
    if mode == "favicon":
        u = urllib.parse.urlsplit(location)
        s, _, b = get("%s://%s/favicon.ico" % (u.scheme, u.netloc))
        log("favicon: %d" % s)
    if mode == "wrongstate":
        bad = location.replace("state=", "state=x", 1)
        s, _, b = get(bad)
        log("wrong state: %d" % s)
    s, _, b = get(location)
    log("redirect: %d %s" % (s, b.strip()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
