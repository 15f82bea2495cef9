#!/bin/bash
# The state directory is only an optimisation: it is never a reason to
# create $HOME or anything outside a home the user owns, and a damaged,
# truncated, planted or hostile state file is ignored (said in --debug),
# replaced, and never fatal: not a crash in GnuTLS, not a hang on a FIFO.
. "$srcdir/tests/lib.sh"

command -v certtool >/dev/null || skip_all "certtool (gnutls-bin) is not installed"
PKI="$T/pki"
sh "$srcdir/tests/tools/mkcerts.sh" "$PKI" || skip_all "could not make test certificates"
printf 'Subject: state\n\nbody\n' >"$T/msg"
STATE="$HOME/.local/state/outpost"
unset XDG_STATE_HOME

start_server tls "{\"tls\": {\"mode\": \"implicit\", \"cert\": \"$PKI/server.pem\", \"key\": \"$PKI/key.pem\"}}"
TLS_PORT=$PORT TLS_DIR=$DIR
closed_port >"$T/down"
DOWN=$(cat "$T/down")
config() { # config FILE [LINE...]: TLS to the scripted server, two ports (one refused)
    local f=$1
    shift
    write_config "$f" "account default" "host localhost" "port $DOWN $TLS_PORT" "timeout 5" \
        "from sender@example.com" "tls on" "tls_starttls off" "tls_trust_file $PKI/ca.pem" "$@"
}
resumed() { grep -l -- '^-- TLS session resumed' "$TLS_DIR"/session-*.log 2>/dev/null | wc -l; }
# send [ENV...]: one message, with a bound on the time (a hang is a failure)
send() {
    env "$@" timeout 20 "$OUTPOST" -C "$CONF" --debug -oi rcpt@example.org <"$T/msg" >"$OUT" 2>"$ERR"
    RC=$?
}
CONF="$T/config"
config "$CONF"

# ---- where state may go -----------------------------------------------------------------
send
is "$RC" 0 "a normal home: delivered"
check "a normal home: the state directory is made in it" test -d "$STATE"
check "a normal home: the endpoint is remembered" test -s "$STATE/endpoints"
check "a normal home: the TLS session is kept" bash -c "ls '$STATE'/tls-session-* >/dev/null 2>&1"

send HOME=/nonexistent-outpost-$$
is "$RC" 0 "HOME that does not exist: delivered all the same"
check "HOME that does not exist: it was not created" test ! -e /nonexistent-outpost-$$
check "HOME that does not exist: --debug says it runs without state" said "running without a state directory"

mkdir -m 755 "$T/theirs"
chown nobody "$T/theirs"
send HOME="$T/theirs"
is "$RC" 0 "HOME owned by another user: delivered"
is "$(find "$T/theirs" -mindepth 1 | wc -l)" 0 "HOME owned by another user: nothing created in it"

if [ -e /.local ]; then
    ok 0 "# SKIP /.local exists on this machine already"
else
    send HOME=/
    is "$RC" 0 "HOME=/ (sudo, daemons): delivered"
    check "HOME=/: no /.local was created" test ! -e /.local
    rm -rf /.local # had it been made, the machine is put back as it was
fi

mkdir "$T/xdg-parent"
send HOME=/nonexistent-outpost-$$ XDG_STATE_HOME="$T/xdg-parent/state"
check "XDG_STATE_HOME in a directory of the user's: used, even without a home" \
    test -s "$T/xdg-parent/state/outpost/endpoints"
send HOME=/nonexistent-outpost-$$ XDG_STATE_HOME=/nonexistent-outpost-$$/state
check "XDG_STATE_HOME under a directory that does not exist: not created" \
    test ! -e /nonexistent-outpost-$$
rm -rf /nonexistent-outpost-$$

# Root without a home: /var/lib/outpost when it exists (in a private mount
# namespace, so the machine's /var/lib is not touched).
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null; then
    unshare -m bash -c "mount -t tmpfs tmpfs /var/lib && mkdir -m 700 /var/lib/outpost &&
        HOME=/ timeout 20 '$OUTPOST' -C '$CONF' -oi rcpt@example.org <'$T/msg' &&
        test -s /var/lib/outpost/endpoints" >"$T/varlib.out" 2>&1
    is "$?" 0 "root with HOME=/: the state goes to /var/lib/outpost when it exists"
    unshare -m bash -c "mount -t tmpfs tmpfs /var/lib &&
        HOME=/ timeout 20 '$OUTPOST' -C '$CONF' -oi rcpt@example.org <'$T/msg' &&
        test ! -e /var/lib/outpost" >"$T/varlib.out" 2>&1
    is "$?" 0 "root with HOME=/ and no /var/lib/outpost: none is made"
else
    ok 0 "# SKIP not root: /var/lib/outpost is root's"
    ok 0 "# SKIP not root"
fi

# ---- damaged state files -------------------------------------------------------------------
rm -rf "$STATE"
send
send
before=$(resumed)
check "set-up: the second send resumed the stored session" test "$before" -ge 1
ticket() { ls "$STATE"/tls-session-* | head -1; }

# damage NAME COMMAND...: damage the stored ticket with COMMAND (it gets the
# file's path), send, and check that nothing breaks
damage() {
    local name=$1
    shift
    send # a fresh ticket to damage
    local t
    t=$(ticket)
    "$@" "$t"
    send
    is "$RC" 0 "$name ticket: delivered (no crash)"
    check "$name ticket: --debug says it was ignored" said "ignored and removed"
    send
    is "$RC" 0 "$name ticket: the next run is fine too"
    check "$name ticket: ... and resumes again (the file was replaced)" said "TLS session resumed"
}
truncate_half() { truncate -s $(($(stat -c %s "$1") / 2)) "$1"; }
cut_header() { truncate -s 20 "$1"; }
flip_byte() {
    local size
    size=$(stat -c %s "$1")
    printf '\x5a' | dd of="$1" bs=1 seek=$((size - 10)) conv=notrunc status=none
}
garbage() { head -c 3000 /dev/urandom >"$1"; }
empty() { : >"$1"; }
damage "a truncated" truncate_half
damage "a cut-off" cut_header
damage "an altered" flip_byte
damage "a random" garbage
damage "an empty" empty
# The payload altered with its checksum line left alone is caught; so is a
# file made by hand with a right checksum over a wrong key line.
send
t=$(ticket)
"$TEST_PYTHON" - "$t" <<'PY'
import hashlib, sys
p = sys.argv[1]
head, _, body = open(p, "rb").read().partition(b"\n")
key, _, data = body.partition(b"\n")
data = bytes(b ^ 0x55 for b in data)           # a ticket GnuTLS cannot parse
body = key + b"\n" + data
open(p, "wb").write(b"outpost-state 2 " + hashlib.sha256(body).hexdigest().encode() + b"\n" + body)
PY
chmod 600 "$t"
send
is "$RC" 0 "a ticket GnuTLS cannot parse, with a right checksum: delivered (no crash)"

# Something other than a private regular file where a state file should be.
send
t=$(ticket)
rm -f "$t"
mkfifo -m 600 "$t"
send
is "$RC" 0 "a FIFO in place of the ticket: delivered, no hang"
check "a FIFO: said and removed" said "it is not a regular file"
rm -f "$STATE/endpoints"
mkfifo -m 600 "$STATE/endpoints"
send
is "$RC" 0 "a FIFO in place of the endpoints file: delivered, no hang"
check "the endpoints file is a regular file again" test -f "$STATE/endpoints" -a ! -p "$STATE/endpoints"
send
t=$(ticket)
chmod 644 "$t"
send
check "a ticket others may read: not used" said "other users may read or write it"
send
t=$(ticket)
mv "$t" "$T/moved-ticket"
ln -s "$T/moved-ticket" "$t"
send
is "$RC" 0 "a symlink in place of the ticket: delivered"
check "a symlink: not followed" said "it is a symbolic link"
check "a symlink: its target is untouched" test -s "$T/moved-ticket"
rm -f "$STATE/endpoints"
printf 'outpost-state 2 0000000000000000000000000000000000000000000000000000000000000000\ndefault localhost %s\n' "$DOWN" >"$STATE/endpoints"
chmod 600 "$STATE/endpoints"
send
check "an endpoints file whose checksum is wrong: ignored (the refused port is not tried first)" \
    lacks "trying localhost port $DOWN first" "$ERR"
head -c 200000 /dev/urandom >"$STATE/endpoints"
chmod 600 "$STATE/endpoints"
send
is "$RC" 0 "an oversized endpoints file: delivered"
check "an oversized endpoints file: said" said "larger than such a file can be"

done_testing
