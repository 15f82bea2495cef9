#!/bin/bash
# TLS: STARTTLS and implicit TLS against the scripted server, verification
# failures a person can act on, pinning, client certificates, and the
# STARTTLS attacks (stripping, refusal, injected plaintext).
. "$srcdir/tests/lib.sh"

command -v certtool >/dev/null || skip_all "certtool (gnutls-bin) is not installed"
PKI="$T/pki"
sh "$srcdir/tests/tools/mkcerts.sh" "$PKI" || skip_all "could not make test certificates"

printf 'Subject: over TLS\n\n.leading dot\nbody\n' >"$T/msg"
crlf <"$T/msg" >"$T/msg.crlf"

# tls_server NAME MODE CERT [EXTRA_JSON]: a TLS server ("starttls" or
# "implicit") presenting CERT.pem; EXTRA_JSON is added to the script.
tls_server() {
    local name=$1 mode=$2 cert=$3 extra=${4:-}
    start_server "$name" "{\"tls\": {\"mode\": \"$mode\", \"cert\": \"$PKI/$cert.pem\", \"key\": \"$PKI/key.pem\"${TLS_EXTRA:-}}${extra:+, $extra}}"
}

# config LINE...: the default account for the last server, plus LINEs
config() {
    write_config "$HOME/.outpostrc" "account default" "host localhost" "port $PORT" \
        "from sender@example.com" "${KEEP_HEADERS[@]}" "timeout 5" "tls on" "tls_trust_file $PKI/ca.pem" "$@"
}

send() { run_outpost -oi rcpt@example.org <"$T/msg"; }
last_session() { ls "$DIR"/session-*.log | sort -V | tail -1; }
no_mail() { lacks '^C: MAIL' "$(last_session)"; } # in the last session
delivered() { same_bytes "$DIR/msg-1.eml" "$T/msg.crlf"; }
# fpr FILE ALG: a certificate's fingerprint as colon-separated upper-case hex
fpr() {
    "$TEST_PYTHON" -c 'import ssl, hashlib, sys
der = ssl.PEM_cert_to_DER_cert(open(sys.argv[1]).read())
h = hashlib.new(sys.argv[2], der).hexdigest().upper()
print(":".join(h[i:i+2] for i in range(0, len(h), 2)))' "$1" "$2"
}

# ---- a valid chain -----------------------------------------------------------
tls_server starttls starttls server '"ehlo": ["PIPELINING", "SIZE 10", "AUTH LOGIN"], "ehlo_tls": ["PIPELINING", "8BITMIME", "SIZE 1000000", "AUTH PLAIN LOGIN"]'
config
send
is "$RC" 0 "STARTTLS with a valid chain: delivered"
[ "$RC" -eq 0 ] || diag "$ERR"
check "STARTTLS: the message arrived byte for byte" delivered
check "STARTTLS: TLS came up before MAIL" \
    grep -q -- '^-- TLS: TLSv1' "$DIR/session-1.log"
check "SNI: the host name was sent" grep -qx -- '-- SNI: localhost' "$DIR/session-1.log"
check "STARTTLS: EHLO is sent again after the handshake" \
    test "$(grep -c '^C: EHLO' "$DIR/session-1.log")" -eq 2
# Before TLS the server said SIZE 10: had outpost kept that, it would have
# refused the message as too large.
check "capabilities learned before TLS are forgotten (SIZE 10 from plaintext ignored)" \
    grep -q '^C: MAIL FROM:<sender@example.com> SIZE=' "$DIR/session-1.log"

run_outpost --serverinfo
is "$RC" 0 "--serverinfo over STARTTLS"
check "--serverinfo: the greeting" grep -q 'greeting: 220 outpost-test ESMTP ready' "$OUT"
check "--serverinfo: the protocol" grep -q 'protocol: TLS1\.[23]' "$OUT"
check "--serverinfo: subject and issuer" \
    sh -c "grep -q 'subject: CN=server' '$OUT' && grep -q 'issuer: CN=outpost test CA' '$OUT'"
check "--serverinfo: the names the certificate is valid for" grep -q 'valid for: localhost, 127.0.0.1, ::1' "$OUT"
check "--serverinfo: validity dates" sh -c "grep -q 'valid from: 20' '$OUT' && grep -q 'valid until: 20' '$OUT'"
check "--serverinfo: SHA-256 fingerprint" grep -qF "SHA-256 fingerprint: $(fpr "$PKI/server.pem" sha256)" "$OUT"
check "--serverinfo: SHA-1 fingerprint" grep -qF "SHA-1 fingerprint: $(fpr "$PKI/server.pem" sha1)" "$OUT"
check "--serverinfo: AUTH before TLS" grep -qx 'AUTH mechanisms before TLS: LOGIN' "$OUT"
check "--serverinfo: AUTH after TLS" grep -qx 'AUTH mechanisms after TLS: PLAIN LOGIN' "$OUT"
check "--serverinfo: capabilities after TLS" grep -qx '    SIZE 1000000' "$OUT"
check "--serverinfo sends no mail" lacks '^C: MAIL' "$DIR/session-2.log"

run_outpost --debug -oi rcpt@example.org <"$T/msg"
check "--debug shows the TLS session parameters" grep -q 'TLS session: (TLS1' "$ERR"
check "--debug shows the certificate chain" \
    grep -q 'TLS certificate 1 of 1: subject CN=server; issuer CN=outpost test CA; valid .* SHA-256 ' "$ERR"
check "--debug shows what is trusted" grep -qF "TLS trust: $PKI/ca.pem" "$ERR"

tls_server implicit implicit server
config "tls_starttls off"
send
is "$RC" 0 "implicit TLS (tls_starttls off) with a valid chain: delivered"
check "implicit TLS: the message arrived byte for byte" delivered
check "implicit TLS: no STARTTLS" lacks '^C: STARTTLS' "$DIR/session-1.log"
write_config "$HOME/.outpostrc" "account default" "host 127.0.0.1" "port $PORT" \
    "from sender@example.com" "${KEEP_HEADERS[@]}" "timeout 5" "tls on" "tls_starttls off" "tls_trust_file $PKI/ca.pem"
send
is "$RC" 0 "host given as an address: verified against the certificate's IP address"
check "host given as an address: no SNI (RFC 6066 allows names only)" \
    lacks '^-- SNI' "$(last_session)"

# ---- verification failures -----------------------------------------------------
tls_server unknownca starttls untrusted
config
send
is "$RC" 69 "unknown CA: exit 69"
check "unknown CA: says so, naming the issuer" said "issued by an unknown authority (CN=some other CA)"
check "unknown CA: gives the fingerprint to pin" said "tls_fingerprint $(fpr "$PKI/untrusted.pem" sha256)"
check "unknown CA: suggests tls_trust_file" said "tls_trust_file"
check "unknown CA: one line, and one of what to do" \
    test "$(wc -l <"$ERR")" -eq 2 -a "$(grep -c '^outpost: what to do: ' "$ERR")" -eq 1
check "unknown CA: no MAIL was sent" no_mail

tls_server wronghost starttls wronghost
config
send
is "$RC" 69 "wrong host name: exit 69"
check "wrong host name: names what the certificate is for" \
    said "it is for wrong.example, mail.wrong.example, not for localhost"
check "wrong host name: no MAIL was sent" no_mail
write_config "$HOME/.outpostrc" "account default" "host 127.0.0.1" "port $PORT" \
    "from sender@example.com" "${KEEP_HEADERS[@]}" "timeout 5" "tls on" "tls_trust_file $PKI/ca.pem" \
    "tls_host_override mail.wrong.example"
send
is "$RC" 0 "tls_host_override: the certificate is checked against that name"
check "tls_host_override: that name is sent as SNI" \
    grep -qx -- '-- SNI: mail.wrong.example' "$(last_session)"

tls_server expired starttls expired
config
send
is "$RC" 69 "expired certificate: exit 69"
check "expired certificate: says when it expired" said "it expired on 2021-01-01 00:00:00 UTC"
check "expired certificate: no MAIL was sent" no_mail

tls_server future implicit future
config "tls_starttls off"
send
is "$RC" 69 "not yet valid certificate: exit 69"
check "not yet valid: says from when" said "it is not valid before 2099-01-01 00:00:00 UTC"
check "not yet valid: no MAIL was sent" no_mail

tls_server revoked starttls revoked
config "tls_crl_file $PKI/crl.pem"
send
is "$RC" 69 "a certificate listed in tls_crl_file: exit 69"
check "revoked: says so" said "it has been revoked"
config
send
is "$RC" 0 "the same certificate without tls_crl_file: accepted (so the CRL is what refused it)"

# ---- pinning ---------------------------------------------------------------------
tls_server pinned starttls untrusted
for alg in sha256 sha1 md5; do
    config "tls_fingerprint $(fpr "$PKI/untrusted.pem" $alg)"
    send
    is "$RC" 0 "tls_fingerprint ($alg) matching an untrusted certificate: delivered"
done
config "tls_fingerprint $(fpr "$PKI/server.pem" sha256)"
send
is "$RC" 69 "tls_fingerprint mismatch: exit 69"
check "tls_fingerprint mismatch: says so, with the certificate's fingerprint" \
    said "does not match tls_fingerprint"
check "tls_fingerprint mismatch: names the fingerprint it saw" said "$(fpr "$PKI/untrusted.pem" sha256)"

tls_server nocheck starttls untrusted
config "tls_certcheck off"
send
is "$RC" 0 "tls_certcheck off: an untrusted certificate is accepted"
check "tls_certcheck off: warns on every run" said "tls_certcheck off"

# ---- client certificates -------------------------------------------------------
TLS_EXTRA=", \"client_ca\": \"$PKI/client-ca.pem\"" tls_server clientcert starttls server
config "tls_cert_file $PKI/client.pem" "tls_key_file $PKI/client.key"
send
is "$RC" 0 "client certificate required by the server and given: delivered"
check "client certificate: the server saw it" grep -q 'client commonName=outpost test client' "$DIR/session-1.log"
config
send
check "client certificate required but not given: not delivered" test "$RC" -ne 0
check "client certificate missing: no MAIL" no_mail
config "tls_cert_file $PKI/client.pem"
send
is "$RC" 78 "tls_cert_file without tls_key_file: config error"

# ---- protocol versions ------------------------------------------------------------
TLS_EXTRA=', "min_version": "TLSv1_3"' tls_server tls13 starttls server
config
send
is "$RC" 0 "a TLS 1.3-only server"
check "TLS 1.3 was used" grep -q '^-- TLS: TLSv1.3' "$DIR/session-1.log"
TLS_EXTRA=', "max_version": "TLSv1_2"' tls_server tls12 starttls server
config
send
is "$RC" 0 "a TLS 1.2-only server"
check "TLS 1.2 was used" grep -q '^-- TLS: TLSv1.2 ' "$DIR/session-1.log"
config "tls_priorities NORMAL:-VERS-TLS-ALL:+VERS-TLS1.3"
send
check "tls_priorities allowing only TLS 1.3 against a TLS 1.2-only server: fails" test "$RC" -ne 0
check "...and nothing was sent" no_mail
config "tls_priorities NORMAL:+NO-SUCH-THING"
send
is "$RC" 78 "a bad tls_priorities string: config error"
check "a bad tls_priorities string: named" said "tls_priorities 'NORMAL:+NO-SUCH-THING'"

# ---- STARTTLS attacks ------------------------------------------------------------
TLS_EXTRA=', "advertise": false' tls_server stripped starttls server
config
send
is "$RC" 69 "STARTTLS not offered: exit 69"
check "STARTTLS not offered: says so, and why it matters" said "does not offer STARTTLS"
check "STARTTLS not offered: nothing after EHLO (no STARTTLS, MAIL or even QUIT)" \
    test "$(grep '^C: ' "$DIR/session-1.log" | tail -1 | cut -c1-7)" = "C: EHLO"

tls_server refused starttls server '"faults": [{"at": "STARTTLS", "reply": "454 4.7.0 TLS not available due to temporary reason"}]'
config
send
is "$RC" 75 "STARTTLS answered 454: exit 75"
check "STARTTLS refused: the server's words" said "(server said: 454 4.7.0 TLS not available due to temporary reason)"
check "STARTTLS refused: nothing after STARTTLS" \
    test "$(grep '^C: ' "$DIR/session-1.log" | tail -1)" = "C: STARTTLS"

tls_server injected starttls server '"faults": [{"at": "STARTTLS", "raw": "220 2.0.0 Ready to start TLS\r\n250 fake\r\n", "handshake": true}]'
config
send
is "$RC" 69 "plaintext injected after the 220 to STARTTLS: exit 69"
check "injection: says so" said "possible command injection"
check "injection: no MAIL was sent" no_mail

# Implicit TLS against a server that speaks plaintext: a clear failure.
start_server plain
config "tls_starttls off"
send
is "$RC" 69 "implicit TLS to a plaintext server: exit 69"
check "implicit TLS to a plaintext server: a TLS handshake error" said "TLS handshake failed"

# ---- configuration errors -------------------------------------------------------
tls_server files starttls server
config "tls_trust_file $T/no-such-ca.pem"
send
is "$RC" 78 "a missing tls_trust_file: config error"
check "a missing tls_trust_file: named" said "tls_trust_file $T/no-such-ca.pem"

# ---- start-up cost: the system trust store is read only when needed ---------
if command -v strace >/dev/null; then
    # LeakSanitizer cannot run under ptrace: the leak check is off here only.
    traced_send() {
        ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" strace -f -e trace=open,openat \
            -o "$T/strace" "$OUTPOST" -oi rcpt@example.org <"$T/msg" >/dev/null 2>&1
    }
    opened_store() { # the run opened a system CA bundle
        grep -qE 'ca-certificates\.crt|/etc/ssl/certs' "$T/strace"
    }
    tls_server startup starttls untrusted
    config "tls_fingerprint $(fpr "$PKI/untrusted.pem" sha256)"
    traced_send
    check "with tls_fingerprint, the system trust store is not read" lacks -E "ca-certificates\.crt|/etc/ssl/certs" "$T/strace"
    config
    traced_send
    check "with tls_trust_file, the system trust store is not read" lacks -E "ca-certificates\.crt|/etc/ssl/certs" "$T/strace"
    write_config "$HOME/.outpostrc" "account default" "host localhost" "port $PORT" \
        "from sender@example.com" "${KEEP_HEADERS[@]}" "timeout 5" "tls on"
    traced_send
    check "with the default (system) trust, the store is read (so the checks above can fail)" opened_store
else
    for i in 1 2 3; do echo "ok $((TAP_N += 1)) # SKIP strace is not installed"; done
fi

done_testing
