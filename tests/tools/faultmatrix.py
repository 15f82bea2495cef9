#!/usr/bin/python3
"""The fault-injection matrix: every connection mode x every step of the
dialogue x every kind of fault, with the queue off and on; the steps of the
transaction also with CHUNKING offered and with PIPELINING not offered.

    faultmatrix.py OUTPOST PKI_DIR WORK_DIR

Each cell runs the scripted server (tests/server/smtpserver.py, in this
process, one listener per cell) with one fault rule, sends one message
with outpost, and checks:
  - the exit code is the one the table below expects;
  - outpost ended within its timeout + 2 s;
  - exit 0 only when the server really accepted the message (its complete
    250 after the final dot was sent) or, with the queue on, the message
    is in the queue intact;
  - with the queue on, nothing is lost: a non-zero exit leaves the queue
    empty (the message is still the caller's), a queued exit 0 leaves
    exactly one entry holding the message;
  - the password is not in anything outpost printed.
The queue-on cells run a second time with outpost's standard output and
error closed (as a daemon may start it): then nothing it would have
printed may turn up in the queue entry or in what the server received.
Prints one line per cell, "0<TAB>description" or "1<TAB>description" with
"#" lines of detail after a failure, then a "#" summary line with the
counts; tests/cases/faults.sh turns them into TAP.
"""

import concurrent.futures
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "server"))
import smtpserver  # noqa: E402

TIMEOUT_S = 1          # the account's 'timeout'
SLACK_S = 2            # the bound: timeout + 2 s
PASSWORD = "matrix-Pa55word"
MARKER = "fault-matrix-body-7c1e"

MODES = ("plain", "starttls", "implicit")
# What the server offers, for the steps of the transaction (from MAIL on):
# with PIPELINING, DATA closes the MAIL/RCPT group and QUIT goes with the
# final dot; with CHUNKING too, the one recipient's BDAT chunk and QUIT go
# in the group; without either, one command at a time. The steps before
# MAIL run with the first only.
BASE_CAPS = ["8BITMIME", "SIZE 104857600", "ENHANCEDSTATUSCODES"]
OFFERS = (("pipelining", ["PIPELINING"] + BASE_CAPS),
          ("chunking", ["PIPELINING", "CHUNKING"] + BASE_CAPS),
          ("one at a time", BASE_CAPS))
TRANSACTION_STEPS = ("MAIL", "RCPT", "DATA", "mid-body", "after the final dot", "QUIT")
NO_DATA_STEPS = ("DATA", "mid-body")  # with CHUNKING there is no DATA
FAULTS = ("close", "reset", "stall", "garbage", "no-crlf", "4xx", "5xx")
GARBAGE = "\u00ff\u00fe hello? \u0001 this is no reply\r\n"

# The steps, in the order of the dialogue, with the rule that puts a fault
# there. "at"/"match"/"in_tls" select the moment (see smtpserver.py);
# "prefix" is sent first (the greeting's first line, for a fault in the
# middle of the greeting); "ok" is the reply a good server would send there,
# used for the no-CRLF fault (the right words, no line end, then close);
# "4xx"/"5xx" are the refusals a real server sends there; "then" is what
# the server does after a reply fault ("" = carries on as usual).
STEPS = [
    ("before-greeting", dict(at="CONNECT", ok="220 outpost-test ESMTP ready",
                             r4="421 4.3.2 Service not available", r5="554 5.7.1 No SMTP service here",
                             then="close")),
    ("mid-greeting", dict(at="CONNECT", prefix="220-outpost-test ESMTP\r\n", ok="220 ready",
                          r4="421 4.3.2 Service not available", r5="554 5.7.1 No SMTP service here",
                          then="close")),
    ("EHLO", dict(at="EHLO", in_tls=False, ok="250 outpost-test",
                  r4="421 4.7.0 Try again later, closing connection", r5="550 5.7.1 Go away",
                  then="close")),
    ("STARTTLS", dict(at="STARTTLS", modes=("starttls",), ok="220 2.0.0 Ready to start TLS",
                      r4="454 4.7.0 TLS not available due to temporary reason",
                      r5="554 5.7.3 TLS not available", then="")),
    ("TLS handshake", dict(at="HANDSHAKE", modes=("starttls", "implicit"), ok="220 ready",
                           r4="454 4.7.0 TLS not available", r5="554 5.7.3 TLS not available",
                           then="stall")),
    ("EHLO after TLS", dict(at="EHLO", in_tls=True, modes=("starttls",), ok="250 outpost-test",
                            r4="421 4.7.0 Try again later, closing connection",
                            r5="550 5.7.1 Go away", then="close")),
    ("AUTH round 1", dict(at="AUTH", ok="334 VXNlcm5hbWU6",
                          r4="454 4.7.0 Temporary authentication failure",
                          r5="535 5.7.8 Authentication credentials invalid", then="")),
    ("AUTH round 2", dict(at="AUTH_CHALLENGE", match="round 2", ok="334 UGFzc3dvcmQ6",
                          r4="454 4.7.0 Temporary authentication failure",
                          r5="535 5.7.8 Authentication credentials invalid", then="")),
    ("AUTH result", dict(at="AUTH_RESULT", ok="235 2.7.0 Authentication successful",
                         r4="454 4.7.0 Temporary authentication failure",
                         r5="535 5.7.8 Authentication credentials invalid", then="")),
    ("MAIL", dict(at="MAIL", ok="250 2.1.0 Ok", r4="451 4.3.0 Try again later",
                  r5="553 5.7.1 Sender address rejected", then="")),
    ("RCPT", dict(at="RCPT", ok="250 2.1.5 Ok", r4="450 4.2.0 Mailbox busy",
                  r5="550 5.1.1 User unknown", then="")),
    ("DATA", dict(at="DATA", ok="354 End data with <CR><LF>.<CR><LF>",
                  r4="451 4.3.0 Try again later", r5="554 5.5.1 No valid recipients", then="")),
    ("mid-body", dict(at="DATA_BODY", ok="250 2.0.0 Ok", r4="452 4.3.1 Insufficient system storage",
                      r5="552 5.3.4 Message too big", then="stall")),
    ("after the final dot", dict(at="DATA_END", ok="250 2.0.0 Ok: queued as 1",
                                 r4="451 4.3.0 Queue file write error",
                                 r5="554 5.7.1 Rejected as spam", then="")),
    ("QUIT", dict(at="QUIT", ok="221 2.0.0 Bye", r4="421 4.3.0 Bye anyway",
                  r5="554 5.0.0 Whatever", then="close")),
]

# Expected exit codes (sysexits), by step and fault. A dict as a value
# gives the code per mode. Why, in short: a broken connection or a 4xx is
# temporary (75); a malformed reply is a protocol error (76), except after
# the final dot, where the message may have been delivered and only the
# verdict is missing (75); a 5xx is permanent (69), 67 for an unknown
# recipient, 77 for refused credentials; anything going wrong in the TLS
# handshake that is not a broken connection is a TLS failure (69); after
# the server accepted the message nothing can make it a failure (0).
NET = dict(close=75, reset=75, stall=75)
EXPECT = {
    "before-greeting": dict(NET, garbage=76, **{"no-crlf": 75, "4xx": 75, "5xx": 69}),
    "mid-greeting": dict(NET, garbage=76, **{"no-crlf": 75, "4xx": 76, "5xx": 76}),
    "EHLO": dict(NET, garbage=76, **{"no-crlf": 75, "4xx": 75, "5xx": 69}),
    "STARTTLS": dict(NET, garbage=76, **{"no-crlf": 75, "4xx": 75, "5xx": 69}),
    "TLS handshake": dict(NET, garbage=69, **{"no-crlf": 69, "4xx": 69, "5xx": 69}),
    "EHLO after TLS": dict(NET, garbage=76, **{"no-crlf": 75, "4xx": 75, "5xx": 69}),
    "AUTH round 1": dict(NET, garbage=76, **{"no-crlf": 75, "4xx": 75, "5xx": 77}),
    "AUTH round 2": dict(NET, garbage=76, **{"no-crlf": 75, "4xx": 75, "5xx": 77}),
    "AUTH result": dict(NET, garbage=76, **{"no-crlf": 75, "4xx": 75, "5xx": 77}),
    "MAIL": dict(NET, garbage=76, **{"no-crlf": 75, "4xx": 75, "5xx": 69}),
    "RCPT": dict(NET, garbage=76, **{"no-crlf": 75, "4xx": 75, "5xx": 67}),
    "DATA": dict(NET, garbage=76, **{"no-crlf": 75, "4xx": 75, "5xx": 69}),
    "mid-body": dict(NET, garbage=75, **{"no-crlf": 75, "4xx": 75, "5xx": 69}),
    "after the final dot": dict(NET, garbage=75, **{"no-crlf": 75, "4xx": 75, "5xx": 69}),
    "QUIT": dict(close=0, reset=0, stall=0, garbage=0, **{"no-crlf": 0, "4xx": 0, "5xx": 0}),
}
# With CHUNKING the one recipient's BDAT chunk goes with MAIL and RCPT: once
# it is out, a malformed reply to either leaves the message maybe delivered
# (75), as after the final dot.
EXPECT_BY_OFFER = {"chunking": {"MAIL": dict(garbage=75), "RCPT": dict(garbage=75)}}


def rule_for(step, fault, mode):
    """The smtpserver fault rule putting FAULT at STEP."""
    rule = {"at": step["at"]}
    if "match" in step:
        rule["match"] = step["match"]
    if "in_tls" in step and mode == "starttls":  # the two EHLOs
        rule["in_tls"] = step["in_tls"]
    prefix = step.get("prefix", "")
    if fault in ("close", "reset", "stall"):
        rule["action"] = fault
        if prefix:
            rule["raw"] = prefix
        return rule
    text = {"garbage": GARBAGE, "no-crlf": step["ok"],
            "4xx": step["r4"] + "\r\n", "5xx": step["r5"] + "\r\n"}[fault]
    rule["raw"] = prefix + text
    # A server that sent garbage keeps quiet afterwards, so a client that
    # took it for a reply (or ignored it) would hang and be caught by the
    # time bound; a reply without its line end is followed by a close.
    then = {"garbage": "stall", "no-crlf": "close"}.get(fault, step["then"])
    if then:
        rule["action"] = then
    return rule


def script_for(mode, pki, rule, caps):
    script = {"auth": {"user": "joe@example.com", "password": PASSWORD, "mechanisms": ["LOGIN"]},
              "faults": [rule], "ehlo": caps}
    if mode != "plain":
        script["tls"] = {"mode": mode, "cert": os.path.join(pki, "server.pem"),
                         "key": os.path.join(pki, "key.pem")}
    return script


def config_for(mode, pki, port, queue_dir):
    lines = ["account default", "host localhost", "port %d" % port, "timeout %d" % TIMEOUT_S,
             "from sender@example.com", "auth login", "user joe@example.com",
             "password " + PASSWORD]
    if mode == "plain":
        lines += ["tls off", "auth_without_tls on"]
    else:
        lines += ["tls on", "tls_trust_file " + os.path.join(pki, "ca.pem"),
                  "tls_starttls " + ("on" if mode == "starttls" else "off")]
    if queue_dir:
        lines += ["queue on", "queue_dir " + queue_dir]
    return "\n".join(lines) + "\n"


def start_server(script, record):
    handler = type("CellSession", (smtpserver.Session,),
                   {"script": script, "recorder": smtpserver.Recorder(record)})
    # (its session threads are joined by server_close: the transcript is
    # complete when it is read, though outpost does not wait for the 221)
    server = type("CellServer", (smtpserver.Server,), {"daemon_threads": False})(
        ("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    return server


def queue_entries(queue_dir):
    if not os.path.isdir(queue_dir):
        return []
    return [n for n in os.listdir(queue_dir)
            if n not in ("tmp", "failed", "quarantine") and not n.endswith(".state")]


def close_stdout_stderr():
    os.close(1)
    os.close(2)


def run_cell(outpost, pki, work, n, mode, step_name, step, fault, queue, closed, offer):
    cell = os.path.join(work, "cell-%d" % n)
    record = os.path.join(cell, "server")
    home = os.path.join(cell, "home")
    for d in (record, home, os.path.join(cell, "tmp")):
        os.makedirs(d)
    queue_dir = os.path.join(cell, "queue") if queue else None
    caps = dict(OFFERS)[offer]
    server = start_server(script_for(mode, pki, rule_for(step, fault, mode), caps), record)
    try:
        conf = os.path.join(cell, "config")
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, config_for(mode, pki, server.server_address[1], queue_dir).encode())
        os.close(fd)
        env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=os.path.join(home, ".config"),
                   XDG_STATE_HOME=os.path.join(cell, "state"), TMPDIR=os.path.join(cell, "tmp"),
                   OUTPOST_SYSTEM_CONFIG="")
        message = "Subject: cell %d\n\n%s\n" % (n, MARKER)
        start = time.monotonic()
        try:
            proc = subprocess.run([outpost, "-C", conf, "-oi", "rcpt@example.org"],
                                  input=message.encode(), capture_output=True, env=env,
                                  timeout=TIMEOUT_S + SLACK_S + 8,
                                  preexec_fn=close_stdout_stderr if closed else None)
            rc, stderr = proc.returncode, proc.stdout + proc.stderr
        except subprocess.TimeoutExpired as e:
            rc, stderr = "hung", (e.stderr or b"")
        elapsed = time.monotonic() - start
    finally:
        server.shutdown()
        server.server_close()

    transcript = ""
    for name in sorted(os.listdir(record)):
        if name.startswith("session-"):
            with open(os.path.join(record, name), errors="replace") as f:
                transcript += f.read()
    accepted = "S: 250 2.0.0 Ok: queued as" in transcript
    entries = queue_entries(queue_dir) if queue else []

    expected = EXPECT_BY_OFFER.get(offer, {}).get(step_name, {}).get(fault,
                                                                     EXPECT[step_name][fault])
    if isinstance(expected, dict):
        expected = expected[mode]
    queued_expected = queue and expected == 75
    problems = []
    want_rc = 0 if queued_expected else expected
    if rc != want_rc:
        problems.append("exit %s, expected %d" % (rc, want_rc))
    if elapsed > TIMEOUT_S + SLACK_S:
        problems.append("took %.1f s, more than timeout + %d s" % (elapsed, SLACK_S))
    if rc == 0 and not accepted and not entries:
        problems.append("exit 0 but the server did not accept it and nothing was queued")
    if queue:
        if rc != 0 and entries:
            problems.append("exit %s but %d queue entries (a message is the caller's or "
                            "queued, not both)" % (rc, len(entries)))
        if rc == 0 and not accepted and len(entries) != 1:
            problems.append("queued: %d entries, expected 1" % len(entries))
        for e in entries:
            with open(os.path.join(queue_dir, e), "rb") as f:
                data = f.read()
                if MARKER.encode() not in data:
                    problems.append("queue entry %s does not hold the message" % e)
                if b"outpost: " in data:
                    problems.append("queue entry %s holds a line outpost printed" % e)
    if "C: outpost: " in transcript or "C: --> " in transcript:
        problems.append("a line outpost printed reached the server")
    if PASSWORD.encode() in stderr:
        problems.append("the password appears in outpost's output")
    # The name is the same on every run; the time goes in the details.
    desc = "%s%s, %s, %s, queue %s%s: exit %s" % (
        mode, "" if offer == OFFERS[0][0] else " (%s)" % offer, step_name, fault,
        "on" if queue else "off",
        ", stdout and stderr closed" if closed else "", rc)
    detail = []
    if problems:
        detail = ["# " + p for p in problems] + ["#   took %.1f s" % elapsed]
        detail += ["#   stderr: " + l for l in stderr.decode("utf-8", "replace").splitlines()[:4]]
        detail += ["#   server: " + l for l in transcript.splitlines()[-8:]]
    return (1 if problems else 0), desc, detail, rc


def main():
    outpost, pki, work = sys.argv[1:4]
    cells = []
    for queue, closed in ((False, False), (True, False), (True, True)):
        for mode in MODES:
            for step_name, step in STEPS:
                if mode not in step.get("modes", MODES):
                    continue
                for offer, _ in OFFERS:
                    if offer != OFFERS[0][0] and step_name not in TRANSACTION_STEPS:
                        continue
                    if offer == "chunking" and step_name in NO_DATA_STEPS:
                        continue
                    for fault in FAULTS:
                        cells.append((mode, step_name, step, fault, queue, closed, offer))
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(run_cell, outpost, pki, work, n, *c)
                   for n, c in enumerate(cells, 1)]
        results = [f.result() for f in futures]
    by_rc = {}
    failed = 0
    for status, desc, detail, rc in results:
        print("%d\t%s" % (status, desc))
        for line in detail:
            print(line)
        failed += status
        by_rc[rc] = by_rc.get(rc, 0) + 1
    per_mode = ", ".join("%s %d" % (m, sum(1 for c in cells if c[0] == m)) for m in MODES)
    per_mode += "; " + ", ".join("%s %d" % (o, sum(1 for c in cells if c[6] == o))
                                 for o, _ in OFFERS)
    codes = ", ".join("exit %s: %d" % (k, by_rc[k]) for k in sorted(by_rc, key=str))
    print("# fault matrix: %d cells (%s; queue off, on, and on with stdout and stderr "
          "closed): %d passed, %d failed; %s"
          % (len(cells), per_mode, len(cells) - failed, failed, codes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
