#!/bin/bash
# TLS session resumption: the ticket a server gives is kept per endpoint in
# the state directory (0600) and offered on the next run, which then skips
# the full handshake; a server that cannot resume it (a new key, a new
# certificate) gets a full handshake and a full verification.
. "$srcdir/tests/lib.sh"

command -v certtool >/dev/null || skip_all "certtool (gnutls-bin) is not installed"
PKI="$T/pki"
sh "$srcdir/tests/tools/mkcerts.sh" "$PKI" || skip_all "could not make test certificates"
printf 'Subject: resume\n\nbody\n' >"$T/msg"
STATE="$HOME/.local/state/outpost"

tls_server() { # tls_server NAME MODE CERT
    start_server "$1" "{\"tls\": {\"mode\": \"$2\", \"cert\": \"$PKI/$3.pem\", \"key\": \"$PKI/key.pem\"}}"
}
config() {
    write_config "$HOME/.outpostrc" "account default" "host localhost" "port $PORT" \
        "from sender@example.com" "timeout 5" "tls on" "tls_trust_file $PKI/ca.pem" "$@"
}
send() { run_outpost --debug -oi rcpt@example.org <"$T/msg"; }
no_mail() { lacks '^C: MAIL' "$DIR"/session-*.log; }
sessions_resumed() { grep -l -- '^-- TLS session resumed' "$DIR"/session-*.log 2>/dev/null | wc -l; }

for mode in implicit starttls; do
    rm -rf "$STATE"
    tls_server "$mode" "$mode" server
    if [ "$mode" = implicit ]; then config "tls_starttls off"; else config; fi
    send
    is "$RC" 0 "$mode: the first send delivers"
    check "$mode: the first send makes a full handshake" \
        grep -q 'the server did not resume\|TLS trust' "$ERR"
    # (nothing could have been resumed yet: said, not tested)
    echo "# $mode: the server saw $(sessions_resumed) resumed session(s) on the first send"
    ticket=$(ls "$STATE"/tls-session-* 2>/dev/null | head -1)
    check "$mode: the session is stored in the state directory" test -n "$ticket"
    is "$(stat -c %a "$ticket" 2>/dev/null)" 600 "$mode: the stored session is private (0600)"
    send
    is "$RC" 0 "$mode: the second send delivers"
    check "$mode: --debug says the session was resumed" grep -q 'TLS session resumed' "$ERR"
    check "$mode: the server saw a resumed session" test "$(sessions_resumed)" -eq 1
    check "$mode: the certificate of the resumed session is verified again" \
        grep -q 'TLS trust:' "$ERR"
    send
    check "$mode: each send stores a fresh ticket, so the third resumes too" \
        test "$(sessions_resumed)" -eq 2
done

# Settings that change how the server is verified make the stored session
# unusable: a pinned fingerprint is not satisfied by a session verified
# against a CA.
config "tls_starttls on" "tls_fingerprint 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33"
send
is "$RC" 69 "another verification setting: no resumption, the pin is checked (exit 69)"
check "another verification setting: the stored session was not offered" \
    test "$(sessions_resumed)" -eq 2

# tls_resume off: nothing stored, nothing offered.
rm -rf "$STATE"
config "tls_resume off"
send
send
is "$RC" 0 "tls_resume off: delivered"
check "tls_resume off: no session stored" test -z "$(ls "$STATE"/tls-session-* 2>/dev/null)"
check "tls_resume off: never resumed" test "$(sessions_resumed)" -eq 2

# The server changes: a new process (new ticket keys) with a certificate
# from a CA outpost does not trust. The stored session cannot be resumed,
# so the new certificate is verified in full, and refused.
config
send
send
check "before the change: resumed" test "$(sessions_resumed)" -eq 3
stop_server
SERVER_PORT=$PORT tls_server changed starttls untrusted
config
send
is "$RC" 69 "a changed, untrusted certificate after a stored session: refused (exit 69)"
check "changed certificate: the reason is the certificate" said "not trusted"
check "changed certificate: nothing was sent" no_mail

# A stored session that is not ours to trust is ignored: another owner's
# mode, garbage, a symlink.
rm -rf "$STATE"
tls_server garbage starttls server
config
send
ticket=$(ls "$STATE"/tls-session-* | head -1)
chmod 644 "$ticket"
send
is "$RC" 0 "a stored session readable by others: still delivered"
check "a stored session readable by others is not used" test "$(sessions_resumed)" -eq 0
printf 'outpost tls session 1\nnot the key\njunk' >"$ticket"
chmod 600 "$ticket"
send
is "$RC" 0 "a corrupt stored session: delivered with a full handshake"
check "a corrupt stored session is not used" test "$(sessions_resumed)" -eq 0
send
check "... and is replaced by a good one" test "$(sessions_resumed)" -eq 1

done_testing
