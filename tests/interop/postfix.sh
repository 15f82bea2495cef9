#!/bin/bash
# Against a real Postfix (with Dovecot SASL) on loopback: STARTTLS on the
# submission port (TLS required there), implicit TLS on the smtps port,
# both requiring AUTH, which Dovecot checks; each message is checked byte
# for byte in the Maildir it was delivered to.
. "$srcdir/tests/lib.sh"
. "$srcdir/tests/interop/mta.sh"
. "$srcdir/tests/interop/common.sh"
need_mta

PKI="$T/pki"
sh "$srcdir/tests/tools/mkcerts.sh" "$PKI" || skip_all "could not make test certificates"
chmod 755 "$PKI"
chmod 644 "$PKI"/*.pem
start_mta "$PKI"

make_interop_message

account() { # account NAME PORT STARTTLS(on|off)
    printf 'account %s\nhost localhost\nport %s\nfrom sender@example.com\ntimeout 20\n' "$1" "$2"
    printf 'tls on\ntls_starttls %s\ntls_trust_file %s\n' "$3" "$PKI/ca.pem"
    printf 'auth on\nuser %s\npassword %s\n\n' "$MTA_USER" "$MTA_PASSWORD"
}
{
    account submission "$SUBMISSION_PORT" on
    account smtps "$SMTPS_PORT" off
    printf 'account default : submission\n'
} >"$HOME/.outpostrc"
chmod 600 "$HOME/.outpostrc"

run_outpost -a submission -oi rcpt@example.test <"$T/msg"
is "$RC" 0 "Postfix submission port, STARTTLS: accepted"
[ "$RC" -eq 0 ] || diag "$ERR"
check "STARTTLS: delivered to the Maildir" wait_for_mail 1
check "STARTTLS: the delivered message is byte for byte what was sent" \
    delivered_as_sent "$(mailbox_files | sed -n 1p)"
check "STARTTLS: Postfix logged a TLS connection from outpost" \
    grep -q 'postfix/submission/smtpd.*TLS connection established' "$T/postfix/maillog"

run_outpost -a smtps -oi rcpt@example.test <"$T/msg"
is "$RC" 0 "Postfix smtps port, implicit TLS: accepted"
[ "$RC" -eq 0 ] || diag "$ERR"
check "implicit TLS: delivered to the Maildir" wait_for_mail 2
check "implicit TLS: the delivered message is byte for byte what was sent" \
    delivered_as_sent "$(mailbox_files | sed -n 2p)"

# Every mechanism Dovecot offers, forced, on both ports.
n=2
for mech in PLAIN LOGIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-1 SCRAM-SHA-256; do
    for acct in submission smtps; do
        run_outpost -a "$acct" --auth="$mech" -oi rcpt@example.test <"$T/msg"
        is "$RC" 0 "Postfix + Dovecot, $acct, AUTH $mech: accepted"
        [ "$RC" -eq 0 ] || diag "$ERR"
        n=$((n + 1))
    done
done
check "all of them delivered" wait_for_mail "$n"
for mech in PLAIN LOGIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-1 SCRAM-SHA-256; do
    check "Postfix logged sasl_method=$mech for outpost's user" \
        grep -q "sasl_method=$mech, sasl_username=$MTA_USER" "$T/postfix/maillog"
done
check "auth on chose SCRAM-SHA-256 (the strongest Dovecot offers)" \
    test "$(grep -c "sasl_method=SCRAM-SHA-256," "$T/postfix/maillog")" -ge 4

run_outpost -a submission --password=x -oi rcpt@example.test <"$T/msg"
is "$RC" 64 "--password on the command line is refused"
write_config "$T/wrongpw.rc" "account default" "host localhost" "port $SUBMISSION_PORT" \
    "from sender@example.com" "tls on" "tls_trust_file $PKI/ca.pem" "auth on" \
    "user $MTA_USER" "password wrong-$MTA_PASSWORD"
run_outpost -C "$T/wrongpw.rc" -oi rcpt@example.test <"$T/msg"
is "$RC" 77 "a wrong password against Dovecot: exit 77"
check "wrong password: Postfix's words" said "(server said: 535 5.7.8 Error: authentication failed"
write_config "$T/noauth.rc" "account default" "host localhost" "port $SUBMISSION_PORT" \
    "from sender@example.com" "tls on" "tls_trust_file $PKI/ca.pem"
run_outpost -C "$T/noauth.rc" -oi rcpt@example.test <"$T/msg"
is "$RC" 69 "no AUTH where Postfix requires it: the recipient is refused (exit 69)"

run_outpost --serverinfo -a submission
is "$RC" 0 "--serverinfo against Postfix"
check "--serverinfo: Postfix's greeting" grep -q 'greeting: 220 mta.example.test ESMTP Postfix' "$OUT"
check "--serverinfo: no AUTH before TLS (smtpd_tls_auth_only)" grep -qx 'AUTH mechanisms before TLS: (none)' "$OUT"
check "--serverinfo: Dovecot's mechanisms after TLS" \
    grep -qx 'AUTH mechanisms after TLS: PLAIN LOGIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-1 SCRAM-SHA-256' "$OUT"
check "--serverinfo: the certificate" grep -q 'issuer: CN=outpost test CA' "$OUT"

# --check: both ports, a real AUTH (Dovecot), then RSET and QUIT.
in_maillog() { # in_maillog PATTERN: Postfix logs it (within 5 s)
    local i
    for i in $(seq 1 50); do
        grep -Eq "$1" "$T/postfix/maillog" && return 0
        sleep 0.1
    done
    return 1
}
delivered=$(mailbox_files | wc -l)
run_outpost --check --all
is "$RC" 0 "--check --all against Postfix + Dovecot: exit 0"
[ "$RC" -eq 0 ] || diag "$OUT"
check "--check: Dovecot accepted SCRAM-SHA-256 on both ports" \
    test "$(grep -Ec "^  auth +ok +SCRAM-SHA-256 as '$MTA_USER' accepted" "$OUT")" -eq 2
check "--check: Postfix's certificate, trusted" \
    grep -Eq "^  certificate +ok +.*trusted, and valid for localhost; issued by CN=outpost test CA" "$OUT"
check "--check: 'default' is 'submission' again, not probed twice" \
    grep -q "^account 'default': the same server, user and settings as account 'submission'" "$OUT"
check "--check: Postfix counted AUTH, RSET and QUIT, and no MAIL" \
    in_maillog "submission/smtpd.*disconnect from .* ehlo=2 starttls=1 auth=1 rset=1 quit=1 commands=6"
check "--check: nothing was delivered" test "$(mailbox_files | wc -l)" -eq "$delivered"
run_outpost --check -C "$T/wrongpw.rc"
is "$RC" 77 "--check with a wrong password: exit 77"
check "--check, wrong password: Dovecot's refusal in Postfix's words" \
    grep -Eq "^  auth +FAIL .*\(server said: 535 5.7.8 Error: authentication failed" "$OUT"

# Postfix requires TLS on the submission port: without it, it refuses MAIL.
write_config "$T/plain.rc" "account default" "host localhost" "port $SUBMISSION_PORT" \
    "from sender@example.com" "tls off"
run_outpost -C "$T/plain.rc" -oi rcpt@example.test <"$T/msg"
is "$RC" 69 "TLS off against Postfix's encrypt-only port: refused (exit 69)"
check "TLS off: Postfix's words are reported" said "Must issue a STARTTLS command first"

# A certificate for another name: outpost refuses to go on.
write_config "$T/wrong.rc" "account default" "host 127.0.0.1" "port $SMTPS_PORT" \
    "from sender@example.com" "tls on" "tls_starttls off" "tls_trust_file $PKI/other-ca.pem"
run_outpost -C "$T/wrong.rc" -oi rcpt@example.test <"$T/msg"
is "$RC" 69 "Postfix with a certificate from an untrusted CA: exit 69"
check "untrusted CA: nothing more was delivered" test "$(mailbox_files | wc -l)" -eq "$n"

done_testing
