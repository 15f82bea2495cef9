#!/bin/bash
# Security defaults for 2026, tried as an attacker would:
#  - no bare CR and no bare LF ever reaches the wire (the SMTP smuggling
#    family), in the header or the body, through DATA or BDAT;
#  - on failover each host is verified (and given SNI) under its own name;
#  - TLS 1.2 or newer, serverAuth when the certificate has an extended key
#    usage, no RSA keys under 2048 bits or SHA-1 signatures, names from
#    subjectAltName only; tls_priorities still overrides;
#  - a configuration file others can change is refused whatever it holds.
# (No AUTH without TLS is tests/cases/auth.sh.) The script runs itself in a
# private mount namespace, where /etc/hosts names first.example and
# second.example (127.0.0.1 and 127.0.0.2).
if [ -z "${OUTPOST_TEST_NS:-}" ]; then
    if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && unshare -m true 2>/dev/null; then
        OUTPOST_TEST_NS=1 exec unshare -m bash "$0" "$@"
    fi
    echo "1..0 # SKIP needs root and unshare for a private mount namespace"
    exit 0
fi
. "$srcdir/tests/lib.sh"

command -v certtool >/dev/null || skip_all "certtool (gnutls-bin) is not installed"
PKI="$T/pki"
sh "$srcdir/tests/tools/mkcerts.sh" "$PKI" || skip_all "could not make test certificates"
{ cat /etc/hosts; printf '127.0.0.1 first.example\n127.0.0.2 second.example\n'; } >"$T/hosts"
mount --bind "$T/hosts" /etc/hosts || skip_all "cannot mount a private /etc/hosts"

stored() { ls "$DIR"/msg-*.eml 2>/dev/null | wc -l; }
tls_server() { # tls_server NAME CERT [HOST] [MORE JSON]: implicit TLS
    local key="$PKI/key.pem"
    [ "$2" = rsa1024 ] && key="$PKI/rsa1024.key"
    start_server "$1" "{\"tls\": {\"mode\": \"implicit\", \"cert\": \"$PKI/$2.pem\", \"key\": \"$key\", \"weak\": true${4:-}}}" "${3:-127.0.0.1}"
}
config() { # config HOSTS [LINE...]: implicit TLS to $PORT, trusting the test CA
    local hosts=$1
    shift
    write_config "$HOME/.outpostrc" "account default" "host $hosts" "port $PORT" "timeout 5" \
        "from sender@example.com" "tls on" "tls_starttls off" "tls_trust_file $PKI/ca.pem" "$@"
}
printf 'Subject: x\n\nbody\n' >"$T/msg"

# ---- nothing bare on the wire -----------------------------------------------------------
# wire_is_clean FILE: every CR is followed by LF and every LF preceded by CR
wire_is_clean() {
    "$TEST_PYTHON" -c 'import re, sys
d = open(sys.argv[1], "rb").read()
sys.exit(1 if re.search(rb"\r(?!\n)|(?<!\r)\n", d) else 0)' "$1"
}
printf 'Subject: hi\rBcc: hidden@example.org\r\nX: y\n\nline one\r.\rMAIL FROM:<evil@example.org>\rRCPT TO:<victim@example.org>\rDATA\rsmuggled\r.\rlast\rbare LF\nend\r' >"$T/smuggle.in"
for transport in DATA BDAT; do
    if [ "$transport" = BDAT ]; then
        start_server "bare-$transport" '{"ehlo": ["PIPELINING", "CHUNKING", "8BITMIME"]}'
    else
        start_server "bare-$transport"
    fi
    write_config "$HOME/.outpostrc" "account default" "host 127.0.0.1" "port $PORT" \
        "from sender@example.com" "${KEEP_HEADERS[@]}"
    run_outpost -oi rcpt@example.org <"$T/smuggle.in"
    is "$RC" 0 "$transport, bare CRs and LFs in header and body: delivered"
    check "$transport: nothing bare went over the wire" wire_is_clean "$DIR/msg-1.raw"
    is "$(grep -c '^C: MAIL' "$DIR/session-1.log")" 1 "$transport: one MAIL command, none smuggled"
    is "$(stored)" 1 "$transport: one message, none smuggled"
    check "$transport: the smuggled lines are text of the one message" \
        grep -q '^MAIL FROM:<evil@example.org>' "$DIR/msg-1.eml"
    check "$transport: a bare CR in the header block ended that header line" \
        grep -q $'^Subject: hi\r$' "$DIR/msg-1.eml"
    check "$transport: which made the rest a header of its own (and Bcc removal took it)" \
        lacks '^Bcc:' "$DIR/msg-1.eml"
done
check "DATA: the '.' line made from CR . CR was dot-stuffed" grep -q $'^\\.\\.\r$' "$T/bare-DATA/msg-1.raw"
run_outpost -oi rcpt@example.org < <(printf 'Subject: dot\n\nx\r.\r\nafter\n')
check "a '.' line ended by a bare CR does not end the message" grep -q '^after' "$DIR/msg-2.eml"

# ---- each endpoint under its own name --------------------------------------------------------
# first.example (127.0.0.1) refuses the connection; second.example
# (127.0.0.2) answers with a certificate that is good for first.example only.
tls_server wrong-second first 127.0.0.2
config "first.example second.example"
run_outpost -oi rcpt@example.org <"$T/msg"
is "$RC" 69 "failover: a certificate for the first host, from the second: refused (69)"
check "failover: it was checked under the second host's name" said "it is for first.example, not for second.example"
is "$(stored)" 0 "failover: nothing was delivered to it"
check "failover: the second host was asked for by its own name (SNI)" grep -q '^-- SNI: second.example' "$DIR/session-1.log"
tls_server right-second second 127.0.0.2
config "first.example second.example"
run_outpost -oi rcpt@example.org <"$T/msg"
is "$RC" 0 "failover: the second host's own certificate: delivered"
check "failover: SNI second.example" grep -q '^-- SNI: second.example' "$DIR/session-1.log"
tls_server override second 127.0.0.2
config "first.example second.example" "tls_host_override second.example"
run_outpost -oi rcpt@example.org <"$T/msg"
is "$RC" 0 "tls_host_override: every host verified under that name"
tls_server override-first first 127.0.0.2
config "first.example second.example" "tls_host_override second.example"
run_outpost -oi rcpt@example.org <"$T/msg"
is "$RC" 69 "tls_host_override second.example, the first host's certificate: refused"
run_outpost --check
check "--check: each endpoint verified under its own name" grep -q "second.example" "$OUT"

# ---- TLS defaults -----------------------------------------------------------------------------
refused_row() { # refused_row NAME CERT WORDS: verification refuses it, saying WORDS
    tls_server "$1" "$2"
    config localhost
    run_outpost -oi rcpt@example.org <"$T/msg"
    is "$RC" 69 "$1: refused (69)"
    check "$1: says why" said "$3"
    is "$(stored)" 0 "$1: nothing delivered"
}
refused_row "a CN-only certificate" cnonly "names localhost only in its common name, not in a subjectAltName"
refused_row "a clientAuth-only certificate" clientonly "extended key usage does not allow a TLS server (serverAuth)"
refused_row "a SHA-1 signature" sha1 "it is signed with SHA1"
refused_row "a 1024-bit RSA key" rsa1024 "its RSA key has only 1024 bits"
check "a weak certificate: the message names the setting that decides" said "tls_priorities can choose another profile"
run_outpost --check
is "$RC" 69 "--check on a weak certificate: exit 69"
check "--check names the setting that refused" grep -q "tls_priorities can choose another profile" "$OUT"
run_outpost --serverinfo
is "$RC" 69 "--serverinfo on a weak certificate: exit 69"
check "--serverinfo names the setting that refused" said "tls_priorities can choose another profile"
config localhost "tls_priorities NORMAL:%PROFILE_LOW"
run_outpost -oi rcpt@example.org <"$T/msg"
is "$RC" 0 "tls_priorities with %PROFILE_LOW still overrides: the 1024-bit key is accepted"
tls_server sha1-override sha1
config localhost "tls_priorities NORMAL:%VERIFY_ALLOW_SIGN_WITH_SHA1"
run_outpost -oi rcpt@example.org <"$T/msg"
is "$RC" 0 "tls_priorities with %VERIFY_ALLOW_SIGN_WITH_SHA1: the SHA-1 certificate is accepted"

for v in TLSv1 TLSv1_1; do
    tls_server "old-$v" server 127.0.0.1 ", \"min_version\": \"$v\", \"max_version\": \"$v\""
    config localhost
    run_outpost -oi rcpt@example.org <"$T/msg"
    is "$RC" 69 "a server with $v only: refused (69)"
    check "$v: says TLS 1.2 or newer is needed, and the setting" said "1.2 or newer; RFC 8996"
    check "$v: names tls_priorities" said "tls_priorities can allow them"
    config localhost "tls_priorities NORMAL:+VERS-TLS1.1:+VERS-TLS1.0"
    run_outpost -oi rcpt@example.org <"$T/msg"
    is "$RC" 0 "$v with tls_priorities allowing it: delivered"
done
tls_server new server
config localhost
run_outpost --debug -oi rcpt@example.org <"$T/msg"
is "$RC" 0 "a good certificate over TLS 1.3: delivered"
check "--debug shows what outpost adds to GnuTLS's defaults" said "-VERS-TLS1.1:-VERS-TLS1.0:%PROFILE_MEDIUM"

# ---- configuration files others can change --------------------------------------------------------
start_server plain
base=("account default" "host 127.0.0.1" "port $PORT" "from sender@example.com")
write_config "$T/group.rc" "${base[@]}"
chmod 660 "$T/group.rc"
run_outpost -C "$T/group.rc" -oi rcpt@example.org <"$T/msg"
is "$RC" 78 "a group-writable file without any secret: refused (78)"
check "group-writable: one line naming the file and the fix" said "$T/group.rc: refusing a configuration file that other users can write (mode 0660); run: chmod go-w $T/group.rc"
is "$(wc -l <"$ERR")" 1 "group-writable: one line"
write_config "$T/theirs.rc" "${base[@]}"
chown nobody "$T/theirs.rc"
run_outpost -C "$T/theirs.rc" -oi rcpt@example.org <"$T/msg"
is "$RC" 78 "a file owned by another user: refused (78), even for root"
check "owned by another user: names the file and the fix" said "$T/theirs.rc: refusing a configuration file that belongs to another user (uid $(id -u nobody))"
write_config "$T/evil.rc" "${base[@]}" "eval touch $T/ran; echo domain x.example"
chown nobody "$T/evil.rc"
run_outpost -C "$T/evil.rc" -oi rcpt@example.org <"$T/msg"
check "a file owned by another user cannot run a program as you (eval)" test ! -e "$T/ran"
is "$(stored)" 0 "nothing was sent with any of them"
# Read by an unprivileged user: root's file is fine, their own too.
outpost_for_anyone
mkdir -m 755 "$T/nobody"
mkdir -m 700 "$T/nobody/tmp"
chown nobody "$T/nobody/tmp"
write_config "$T/nobody/root.rc" "${base[@]}"
chmod 644 "$T/nobody/root.rc"
cp "$T/nobody/root.rc" "$T/nobody/own.rc"
chown nobody "$T/nobody/own.rc"
chmod 600 "$T/nobody/own.rc"
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME="$T/nobody" TMPDIR="$T/nobody/tmp" "$OUTPOST_ANYONE" "$@" <"$T/msg" >"$OUT" 2>"$ERR"; RC=$?; }
as_nobody -C "$T/nobody/root.rc" -oi rcpt@example.org
is "$RC" 0 "an unprivileged user, a file owned by root: accepted"
[ "$RC" -eq 0 ] || diag "$ERR"
as_nobody -C "$T/nobody/own.rc" -oi rcpt@example.org
is "$RC" 0 "an unprivileged user, a file of their own: accepted"
write_config "$T/nobody/roots-private.rc" "${base[@]}"
chmod 664 "$T/nobody/roots-private.rc"
as_nobody -C "$T/nobody/roots-private.rc" -oi rcpt@example.org
is "$RC" 78 "an unprivileged user, root's file writable by its group: refused"

done_testing
