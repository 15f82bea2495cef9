#!/bin/bash
# The system relay (outpost --serve --socket): the service runs as the user
# outpost and alone can read the secret; two unprivileged users send
# through it with no configuration of their own, and each is named in its
# log; policy (relay_users, relay_from_users) refuses with 77 and rewrites
# the sender; the maildrop holds what is sent while the service is down;
# SIGKILL mid-delivery loses nothing; one SMTP session carries many
# submissions; -q asks the service to run its queue (ETRN); an OAuth 2.0
# account whose grant the service holds (authorized as the user outpost).
. "$srcdir/tests/lib.sh"
. "$srcdir/tests/interop/common.sh"
private_mount_namespace "$@"
add_system_users outpost:4790 relaya:4791 relayb:4792 relayc:4793 ||
    skip_all "cannot add the test users"
outpost_for_anyone
OP=$OUTPOST_ANYONE

# (not under $T, which may sit in a private directory: the users reach it)
R=$(mktemp -d /tmp/outpost-relay.XXXXXX)
remove_relay() { [ -n "${KEEP_RELAY:-}" ] || rm -rf "$R"; } # (KEEP_RELAY=1: left to look at)
at_exit remove_relay
chmod 755 "$R"
mkdir -m 755 "$R/etc" "$R/run"
chown outpost:outpost "$R/run"
SPOOL="$R/spool"
mkdir -m 755 "$SPOOL"
chown outpost:outpost "$SPOOL"
mkdir -m 1733 "$SPOOL/maildrop"
chown outpost:outpost "$SPOOL/maildrop"
mkdir -m 700 "$R/state"
chown outpost:outpost "$R/state"
SOCK="$R/run/submit"
printf 's3cret-relay-pw\n' >"$R/etc/password"
chown root:outpost "$R/etc/password"
chmod 640 "$R/etc/password"
SYS="$R/etc/outpost.conf"

start_server upstream '{"auth": {"user": "relay@example.org", "password": "s3cret-relay-pw", "mechanisms": ["PLAIN"], "before_tls": true}}'
UP=$PORT
UPDIR=$DIR
system_config() { # system_config LINE...: the world-readable /etc/outpost.conf
    printf '%s\n' "defaults" "service_socket $SOCK" "maildrop_dir $SPOOL/maildrop" \
        "queue_dir $SPOOL" "queue_retry_min 1" "queue_retry_max 2" \
        "account default" "host 127.0.0.1" "port $UP" "timeout 5" "auth plain" \
        "auth_without_tls on" "user relay@example.org" "password_file $R/etc/password" \
        "from %U@example.org" "$@" >"$SYS"
    chmod 644 "$SYS"
}
system_config

SERVICE_PID=
start_service() { # (ready when its log says it listens: a stale socket may be there before)
    local before
    before=$(grep -c "relay: listening on" "$R/service.log" 2>/dev/null)
    setpriv --reuid=outpost --regid=outpost --clear-groups \
        env -i PATH=/usr/bin:/bin HOME="$R/state" XDG_STATE_HOME="$R/state" TMPDIR="$R/state" \
        OUTPOST_SYSTEM_CONFIG="$SYS" "$OP" --serve --socket "$SOCK" "$@" 2>>"$R/service.log" &
    SERVICE_PID=$!
    local i
    for i in $(seq 200); do
        [ "$(grep -c "relay: listening on" "$R/service.log" 2>/dev/null)" -gt "${before:-0}" ] &&
            [ -S "$SOCK" ] && return 0
        sleep 0.05
    done
    cat "$R/service.log" | diag
    return 1
}
stop_service() {
    [ -n "$SERVICE_PID" ] || return 0
    kill "$SERVICE_PID" 2>/dev/null
    wait "$SERVICE_PID" 2>/dev/null
    SERVICE_PID=
}
at_exit stop_service

# as USER ARG...: sendmail run by that user, no configuration of their own
as() {
    local user=$1
    shift
    mkdir -p "$R/home-$user"
    chown "$user" "$R/home-$user"
    setpriv --reuid="$user" --regid="$user" --clear-groups \
        env -i PATH=/usr/bin:/bin HOME="$R/home-$user" TMPDIR="$R/home-$user" \
        OUTPOST_SYSTEM_CONFIG="$SYS" ${WRAP:-} "$OP" "$@" >"$OUT" 2>"$ERR"
    RC=$?
    return $RC
}
# traced_as USER ARG...: as, under strace, the files opened in $R/home-USER/trace
HAVE_STRACE=0
command -v strace >/dev/null && strace -o /dev/null true 2>/dev/null && HAVE_STRACE=1
traced_as() {
    mkdir -p "$R/home-$1"
    chown "$1" "$R/home-$1"
    # (LeakSanitizer cannot work under ptrace: off for these runs in a sanitizer build)
    WRAP="env ASAN_OPTIONS=detect_leaks=0 strace -f -e trace=openat -o $R/home-$1/trace" as "$@"
}
# Every library outpost loads when needed (libload.h): a submission to the
# relay or into the maildrop needs none of them.
LOADED='libgnutls|libgsasl|libsecret|libcurl|libjansson|libnettle|libp11-kit'

msg() { printf 'Subject: %s\n\nbody of %s\n' "$1" "$1"; }
stored() { ls "$UPDIR"/msg-*.eml 2>/dev/null | wc -l; }
last_json() { cat "$(ls "$UPDIR"/msg-*.json | sort -V | tail -1)"; }

# ---- the secret is the service's --------------------------------------------------------------
as relaya -C /dev/null --version
check "the users cannot read the secret" sh -c "! setpriv --reuid=relaya --regid=relaya --clear-groups cat '$R/etc/password' 2>/dev/null"
start_service
check "the service listens on its socket, open to every local user" test "$(stat -c %a "$SOCK")" = 666

as relaya -oi rcpt@example.org < <(msg from-a)
is "$RC" 0 "user relaya, no configuration of their own: delivered through the service"
is "$(stored)" 1 "the server has it"
check "the envelope sender is relaya's name at the account's domain" sh -c "last_json() { cat \$(ls '$UPDIR'/msg-*.json | sort -V | tail -1); }; last_json | grep -q '\"mail_from\": \"relaya@example.org\"'"
as relayb -oi rcpt@example.org < <(msg from-b)
is "$RC" 0 "user relayb: delivered too"
check "relayb's sender is relayb's" sh -c "grep -q '\"mail_from\": \"relayb@example.org\"' \$(ls '$UPDIR'/msg-*.json | sort -V | tail -1)"
# What real callers pass, through the relay: cron's argv (MAILTO with two
# addresses in one argument), and GNU Mailutils' mail as another user.
N=$(stored)
as relaya -FCronDaemon -i -B8BITMIME -oem cron1@example.org,cron2@example.org < <(msg cron-job)
is "$RC" 0 "cron's argv (-FCronDaemon -i -B8BITMIME -oem a,b): delivered through the service"
check "both MAILTO addresses got it" sh -c "grep -q '\"rcpts\": \\[\"cron1@example.org\", \"cron2@example.org\"\\]' \$(ls '$UPDIR'/msg-*.json | sort -V | tail -1)"
if command -v mail >/dev/null && mail --version 2>/dev/null | grep -q Mailutils; then
    printf 'from GNU mail\n' >"$R/body"
    chmod 644 "$R/body"
    setpriv --reuid=relayb --regid=relayb --clear-groups env -i PATH=/usr/bin:/bin HOME="$R/home-relayb" \
        OUTPOST_SYSTEM_CONFIG="$SYS" mail -E "set sendmail=sendmail://$OP" -s "from mail" \
        buddy@example.org <"$R/body" >"$OUT" 2>&1
    is "$?" 0 "GNU mail as relayb, through the service: exit 0"
    check "the server has it, from relayb" sh -c "grep -q 'Subject: from mail' \$(ls '$UPDIR'/msg-*.eml | sort -V | tail -1) && grep -q '\"mail_from\": \"relayb@example.org\"' \$(ls '$UPDIR'/msg-*.json | sort -V | tail -1)"
else
    skip 2 "GNU Mailutils mail is not installed"
fi
check "the service's log names relaya's uid and name" grep -q "uid 4791 (relaya).*delivered" "$R/service.log"
check "the service's log names relayb's uid and name" grep -q "uid 4792 (relayb).*delivered" "$R/service.log"
check "the password never reached the log" sh -c "! grep -q s3cret '$R/service.log'"
if [ "$HAVE_STRACE" -eq 1 ]; then
    traced_as relaya -oi rcpt@example.org < <(msg traced)
    is "$RC" 0 "relaya under strace: delivered through the service"
    check "the submission opened none of the libraries (GnuTLS, GNU SASL...)" \
        lacks -E "$LOADED" "$R/home-relaya/trace"
else
    skip 2 "strace is not available"
fi


as relaya --check
is "$RC" 0 "relaya's --check: the relay answers"
check "--check probes the relay's socket (not the server whose secret relaya cannot read)" grep -q "$SOCK" "$OUT"
check "and reads no secret" sh -c "! grep -qi 'password' '$ERR'"

# ---- policy -----------------------------------------------------------------------------------------
stop_service
system_config "relay_users relaya @relayb" "relay_from_users relaya"
start_service
N=$(stored)
as relayc -oi rcpt@example.org < <(msg from-c)
is "$RC" 77 "relayc, not in relay_users: refused (77)"
check "relayc: one line naming the user and the setting" \
    sh -c "grep -q 'user relayc (uid 4793) may not send with account .default. (relay_users in $SYS)' '$ERR' && [ \$(wc -l <'$ERR') = 1 ]"
is "$(stored)" "$N" "relayc: nothing was sent"
# A client that skips the check meets the service's own.
lmtp_as() { # lmtp_as USER: a hand-made LMTP submission, the replies on stdout
    setpriv --reuid="$1" --regid="$1" --clear-groups "$TEST_PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rwb")
def rd():
    out = []
    while True:
        l = f.readline().decode().rstrip("\r\n"); out.append(l)
        if len(l) < 4 or l[3] != "-": return out
def say(x): f.write(x.encode() + b"\r\n"); f.flush()
rd(); say("LHLO x"); rd()
say("MAIL FROM:<" + sys.argv[2] + "> ACCOUNT=default"); print(rd()[-1])
say("RCPT TO:<rcpt@example.org>"); print(rd()[-1])
say("DATA"); print(rd()[-1])
say("Subject: by hand\r\n\r\nhand-made\r\n."); print(rd()[-1])
say("QUIT"); rd()
' "$SOCK" "${2:-x@example.org}"
}
lmtp_as relayc >"$T/lmtp.out"
check "the service refuses relayc itself: 550 5.7.1 naming relay_users" grep -q "^550 5.7.1 user relayc (uid 4793) may not send with account 'default' (relay_users" "$T/lmtp.out"
is "$(stored)" "$N" "nothing of relayc's reached the server"
check "the service logs the refusal with uid and name" grep -q "refused uid 4793 (relayc)" "$R/service.log"
as relayb -f boss@example.org -oi rcpt@example.org < <(msg b-as-boss)
is "$RC" 0 "relayb (@relayb group) may send"
check "relayb may not choose the envelope sender: it is relayb's" sh -c "grep -q '\"mail_from\": \"relayb@example.org\"' \$(ls '$UPDIR'/msg-*.json | sort -V | tail -1)"
as relaya -f boss@example.org -oi rcpt@example.org < <(msg a-as-boss)
is "$RC" 0 "relaya (relay_from_users) sends as boss@example.org"
check "relaya's chosen sender was kept" sh -c "grep -q '\"mail_from\": \"boss@example.org\"' \$(ls '$UPDIR'/msg-*.json | sort -V | tail -1)"
lmtp_as relayb other@example.org >"$T/lmtp.out"
check "a hand-made submission from relayb is delivered, per recipient" grep -q "^250 2.0.0 <rcpt@example.org> delivered" "$T/lmtp.out"
check "and its sender is rewritten all the same" sh -c "grep -q '\"mail_from\": \"relayb@example.org\"' \$(ls '$UPDIR'/msg-*.json | sort -V | tail -1)"

# ---- one session for many submissions --------------------------------------------------------------
sessions_since() { # sessions_since N: distinct sessions of the messages after the Nth
    "$TEST_PYTHON" -c '
import json, sys, glob, re
n = int(sys.argv[2])
s = set()
for f in glob.glob(sys.argv[1] + "/msg-*.json"):
    if int(re.search(r"msg-(\d+)", f).group(1)) > n:
        s.add(json.load(open(f))["session"])
print(len(s))' "$UPDIR" "$1"
}
N=$(stored)
for i in $(seq 20); do
    as relaya -oi "rcpt$i@example.org" < <(msg "storm $i") || break
done
is "$(( $(stored) - N ))" 20 "20 separate sendmail runs: all delivered"
is "$(sessions_since "$N")" 1 "they went through one SMTP session (session_cache_idle)"
# The service spools what it receives in memory while it is small, and in
# its TMPDIR beyond 1 MiB: a 3 MB message arrives whole, and nothing of it
# is left in the service's TMPDIR.
{ printf 'Subject: large through the relay\n\n'; head -c 3000000 /dev/zero | tr '\0' 'y' | fold -w 76; } >"$R/large.msg"
chmod 644 "$R/large.msg"
N=$(stored)
as relaya -oi large@example.org <"$R/large.msg"
is "$RC" 0 "a 3 MB message through the service: delivered"
check "the server has it, every line" sh -c "[ \$(tr -d '\r' <\"\$(ls '$UPDIR'/msg-*.eml | sort -V | tail -1)\" | grep -c '^y') -eq \$(grep -c '^y' '$R/large.msg') ]"
check "the service's TMPDIR holds no spool file after it" sh -c "! ls '$R/state' | grep -q '^outpost\.'"

# ---- a submitter that trickles cannot hold the service -------------------------------------------
# The service serves one submitter at a time: a hand-made client that sends
# a byte a second is cut off after 30 s of waiting in all, and a submission
# that came meanwhile is served then (not after its own 900 s).
cat >"$R/trickle.py" <<'TRICKLE'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.recv(512)
s.sendall(b"LHLO trickle\r\n")
s.recv(512)
for b in b"MAIL FROM:<relayb@example.org>" * 4:
    try:
        s.sendall(bytes([b]))
    except OSError:
        break
    time.sleep(1)
    s.settimeout(0.01)
    try:
        if s.recv(512).startswith(b"421"):
            print("cut off: 421")
            break
    except socket.timeout:
        pass
    s.settimeout(None)
TRICKLE
chmod 644 "$R/trickle.py"
setpriv --reuid=relayb --regid=relayb --clear-groups "$TEST_PYTHON" "$R/trickle.py" "$SOCK" >"$R/trickle.out" 2>&1 &
TRICKLER=$!
sleep 2
N=$(stored)
started=$(date +%s)
as relaya -oi rcpt@example.org < <(msg behind-a-trickler)
took=$(( $(date +%s) - started ))
is "$RC" 0 "a submission behind a trickling client: delivered"
check "within the trickler's 30 s budget, not the submitter's 900 s timeout (took ${took} s)" test "$took" -le 40
wait "$TRICKLER"
check "the trickler was told 421 and cut off" grep -q "cut off: 421" "$R/trickle.out"
check "the service's log names it" grep -q "relay: uid 4792 (relayb) kept the service waiting for more than 30 s in all; cut off" "$R/service.log"

# ---- the maildrop while the service is down ---------------------------------------------------------
stop_service
N=$(stored)
as relaya -oi rcpt@example.org < <(msg dropped-1)
is "$RC" 0 "the service is stopped: exit 0"
check "it says the message waits in the maildrop" grep -q "the system relay does not answer.*waits in $SPOOL/maildrop" "$ERR"
DROPS=$(ls "$SPOOL/maildrop" | wc -l)
is "$DROPS" 1 "one file in the maildrop"
F=$(ls "$SPOOL/maildrop")
if [ "$HAVE_STRACE" -eq 1 ]; then
    traced_as relaya -oi rcpt@example.org < <(msg dropped-traced)
    is "$RC" 0 "the service is stopped, under strace: exit 0"
    check "dropping it into the maildrop opened none of the libraries" \
        lacks -E "$LOADED" "$R/home-relaya/trace"
    rm -f "$SPOOL/maildrop/$(ls "$SPOOL/maildrop" | grep -vx "$F")"
else
    skip 2 "strace is not available"
fi
check "the file is relaya's, with a name of 32 hex digits" sh -c "[ \$(stat -c %U '$SPOOL/maildrop/$F') = relaya ] && echo '$F' | grep -qE '^[0-9a-f]{32}\$'"
check "relayb cannot list the maildrop" sh -c "! setpriv --reuid=relayb --regid=relayb --clear-groups ls '$SPOOL/maildrop' 2>/dev/null"
check "relayb cannot remove relaya's file" sh -c "! setpriv --reuid=relayb --regid=relayb --clear-groups rm -f '$SPOOL/maildrop/$F' 2>/dev/null && [ -e '$SPOOL/maildrop/$F' ]"
# A stale socket (the service killed) refuses connections: the maildrop too.
start_service
kill -9 "$SERVICE_PID"
wait "$SERVICE_PID" 2>/dev/null
SERVICE_PID=
check "a killed service leaves its socket behind" test -S "$SOCK"
as relayb -oi rcpt@example.org < <(msg dropped-2)
is "$RC" 0 "a stale socket: exit 0"
check "the stale socket: into the maildrop" grep -q "waits in $SPOOL/maildrop" "$ERR"
# What other users may leave there is untrusted input.
as_raw() { setpriv --reuid="$1" --regid="$1" --clear-groups sh -c "$2"; }
as_raw relayb "printf 'garbage\n' >'$SPOOL/maildrop/0123456789abcdef0123456789abcdef'"
as_raw relayb "printf 'outpost-maildrop 1\naccount default\nfrom x@example.org\nrcpt bad\r\n\nSubject: x\r\n\r\nx\r\n' >'$SPOOL/maildrop/1123456789abcdef0123456789abcdef'"
as_raw relayb "ln -s /etc/shadow '$SPOOL/maildrop/2123456789abcdef0123456789abcdef'"
as_raw relayb "mkfifo '$SPOOL/maildrop/3123456789abcdef0123456789abcdef'"
start_service
for i in $(seq 100); do
    [ "$(stored)" -ge $((N + 2)) ] && break
    sleep 0.1
done
is "$(( $(stored) - N ))" 2 "the service started: both dropped messages delivered"
check "the dropped messages' senders come from the files' owners" sh -c "grep -l relaya@example.org '$UPDIR'/msg-*.json >/dev/null && grep -q '\"mail_from\": \"relayb@example.org\"' \$(ls '$UPDIR'/msg-*.json | sort -V | tail -1) || grep -q '\"mail_from\": \"relayb@example.org\"' \$(ls '$UPDIR'/msg-*.json | sort -V | tail -2 | head -1)"
is "$(ls "$SPOOL/maildrop" | wc -l)" 0 "the maildrop is empty"
is "$(ls "$SPOOL/quarantine" | grep -c '^maildrop-[0-9a-f]*$')" 4 "the four hostile files were set aside"
check "each with its reason" sh -c "grep -q 'not an outpost maildrop file' '$SPOOL/quarantine/maildrop-0123456789abcdef0123456789abcdef.reason' && grep -q 'line 4: a recipient' '$SPOOL/quarantine/maildrop-1123456789abcdef0123456789abcdef.reason'"
check "nothing of them was sent" sh -c "! grep -l 'Subject: x' '$UPDIR'/msg-*.eml >/dev/null 2>&1"
check "the symbolic link was set aside as a link, /etc/shadow not read" sh -c "test -L '$SPOOL/quarantine/maildrop-2123456789abcdef0123456789abcdef' && ! grep -l '^root:' '$UPDIR'/msg-*.eml >/dev/null 2>&1"

# ---- a temporary failure: queued by the service, -q asks it to run -------------------------------
stop_service
start_server flaky '{"auth": {"user": "relay@example.org", "password": "s3cret-relay-pw", "mechanisms": ["PLAIN"], "before_tls": true}, "faults": [{"at": "MAIL", "reply": "451 4.3.0 try again later", "times": 1}]}'
FLAKY=$PORT
FLAKYDIR=$DIR
system_config "port $FLAKY" "queue_retry_min 3600" "queue_retry_max 7200"
start_service
as relaya -oi rcpt@example.org < <(msg flaky-1)
is "$RC" 0 "the server said 451: exit 0 (queued by the service)"
is "$(queue_ids "$SPOOL" | wc -l)" 1 "the message is in the system queue"
OUTPOST_SYSTEM_CONFIG="$SYS" HOME="$T/home" "$OUTPOST" -bp >"$OUT" 2>"$ERR"
RC=$?
check "mailq (root, no configuration of its own) shows the system queue and the submitter" \
    sh -c "grep -q 'by: relaya' '$OUT' && grep -q 'attempts: 0, last error: sender <relaya@example.org> refused' '$OUT'"
is "$RC" 0 "mailq: exit 0 (nothing is late, nothing failed)"
ls "$FLAKYDIR"/msg-*.eml >/dev/null 2>&1 && N=1 || N=0
is "$N" 0 "not delivered yet (the backoff is an hour)"
as relayb -q
is "$RC" 0 "relayb's outpost -q asks the service to run its queue"
for i in $(seq 100); do
    [ "$(queue_ids "$SPOOL" | wc -l)" = 0 ] && break
    sleep 0.1
done
is "$(ls "$FLAKYDIR"/msg-*.eml 2>/dev/null | wc -l)" 1 "after ETRN: delivered"
is "$(queue_ids "$SPOOL" | wc -l)" 0 "the system queue is empty"

# ---- SIGKILL in the middle of a delivery loses nothing ------------------------------------------
stop_service
start_server stall '{"auth": {"user": "relay@example.org", "password": "s3cret-relay-pw", "mechanisms": ["PLAIN"], "before_tls": true}, "faults": [{"at": "DATA_END", "action": "stall", "times": 1}]}'
STALLDIR=$DIR
system_config "port $PORT" "timeout 30"
start_service
as relaya -oi rcpt@example.org < <(msg killed) &
CLIENT=$!
for i in $(seq 100); do
    ls "$STALLDIR"/msg-*.eml >/dev/null 2>&1 && break
    sleep 0.1
done
kill -9 "$SERVICE_PID"
wait "$SERVICE_PID" 2>/dev/null
SERVICE_PID=
wait "$CLIENT"
CRC=$?
is "$CRC" 0 "the service died before its answer: the submitter's outpost kept the message (exit 0)"
check "it says the message waits in the maildrop" grep -q "waits in $SPOOL/maildrop" "$ERR"
is "$(ls "$SPOOL/maildrop" | wc -l)" 1 "the message is in the maildrop"
start_service
for i in $(seq 100); do
    [ -z "$(ls "$SPOOL/maildrop")" ] && [ "$(queue_ids "$SPOOL" | wc -l)" = 0 ] && break
    sleep 0.1
done
is "$(ls "$SPOOL/maildrop" | wc -l)$(queue_ids "$SPOOL" | wc -l)" 00 "the restarted service delivered it"
is "$(grep -l 'body of killed' "$STALLDIR"/msg-*.eml | wc -l)" 2 "the server has it twice (the stalled attempt, then the maildrop's): never lost"
check "nothing in failed/" sh -c "[ ! -d '$SPOOL/failed' ] || [ -z \"\$(ls '$SPOOL/failed')\" ]"
stop_service
check "the service stops on SIGTERM and says so" grep -q "relay: stopping" "$R/service.log"
check "and removes its socket" test ! -e "$SOCK"
check "no secret in the service's log" sh -c "! grep -q s3cret '$R/service.log'"

# ---- an OAuth 2.0 account: the grant is the service's ---------------------------------------------
# The administrator authorizes once as the user outpost (--device, as over
# SSH); the grant goes to the service's state directory, which no other
# user can read, and every user's mail goes out with its token (XOAUTH2).
if "$OP" --version | grep -q '^OAuth 2.0: HTTP with' && command -v certtool >/dev/null &&
    OPKI="$R/pki" && sh "$srcdir/tests/tools/mkcerts.sh" "$OPKI" >/dev/null 2>&1; then
    chmod 755 "$OPKI"
    chmod 644 "$OPKI"/*.pem
    start_provider provider "$OPKI"
    start_server oauth-smtp "{\"tls\": {\"mode\": \"implicit\", \"cert\": \"$OPKI/server.pem\", \"key\": \"$OPKI/key.pem\"}, \"auth\": {\"user\": \"relay@example.org\", \"password\": \"-\", \"mechanisms\": [\"XOAUTH2\"], \"token_file\": \"$PDIR/tokens\"}}"
    OAUTHDIR=$DIR
    printf '%s\n' "defaults" "service_socket $SOCK" "maildrop_dir $SPOOL/maildrop" "queue_dir $SPOOL" \
        "account default" "host localhost" "port $PORT" "timeout 10" "tls on" "tls_starttls off" \
        "tls_trust_file $OPKI/ca.pem" "auth xoauth2" "user relay@example.org" "from %U@example.org" \
        "oauth2_provider custom" "oauth2_client_id outpost-test" \
        "oauth2_auth_url $PROVIDER_URL/authorize" "oauth2_token_url $PROVIDER_URL/token" \
        "oauth2_device_url $PROVIDER_URL/device" "oauth2_token_store file" >"$SYS"
    chmod 644 "$SYS"
    setpriv --reuid=outpost --regid=outpost --clear-groups \
        env -i PATH=/usr/bin:/bin HOME="$R/state" XDG_STATE_HOME="$R/state" OUTPOST_SYSTEM_CONFIG="$SYS" \
        "$OP" --authorize --device </dev/null >"$R/device.out" 2>&1 &
    DEV=$!
    for i in $(seq 1 100); do grep -q '^  [0-9A-F]\{8\}$' "$R/device.out" && break; sleep 0.1; done
    code=$(grep '^  [0-9A-F]\{8\}$' "$R/device.out" | tr -d ' ')
    "$TEST_PYTHON" -c 'import ssl, sys, urllib.request
urllib.request.urlopen(sys.argv[1], context=ssl.create_default_context(cafile=sys.argv[2])).read()' \
        "$PROVIDER_URL/approve?user_code=$code" "$OPKI/ca.pem"
    wait "$DEV"
    is "$?" 0 "--authorize --device as the user outpost: authorized"
    diag "$R/device.out"
    GRANT=$(ls "$R/state/outpost"/oauth2-* 2>/dev/null | grep -v '\.lock$' | head -1)
    check "the grant is in the service's state directory, the user outpost's, 0600" \
        sh -c "[ -n '$GRANT' ] && [ \"\$(stat -c '%U %a' '$GRANT')\" = 'outpost 600' ]"
    check "relaya cannot read it" sh -c "! setpriv --reuid=relaya --regid=relaya --clear-groups cat '$GRANT' 2>/dev/null"
    start_service
    as relaya -oi rcpt@example.org < <(msg oauth-a)
    is "$RC" 0 "relaya through the service, with the service's token: delivered"
    as relayb -oi rcpt@example.org < <(msg oauth-b)
    is "$RC" 0 "relayb too"
    is "$(ls "$OAUTHDIR"/msg-*.eml 2>/dev/null | wc -l)" 2 "the server has both"
    check "the service logged in with XOAUTH2 and the provider's token" \
        grep -q -- '-- authenticated as relay@example.org with XOAUTH2' "$OAUTHDIR"/session-*.log
    check "no token in the service's log" lacks -F "$(sed -n 's/^access_token //p' "$GRANT")" "$R/service.log"
    check "no token in what the users were told" lacks -F "$(sed -n 's/^refresh_token //p' "$GRANT")" "$OUT" "$ERR"
    stop_service
else
    skip 9 "built without OAuth 2.0, or no certtool"
fi

done_testing
