#!/bin/bash
# The advice table (src/advice.c): each row, triggered for real against the
# scripted server, gives its one extra line, after the error line that
# carries the server's words verbatim.
. "$srcdir/tests/lib.sh"

command -v certtool >/dev/null || skip_all "certtool (gnutls-bin) is not installed"
PKI="$T/pki"
sh "$srcdir/tests/tools/mkcerts.sh" "$PKI" || skip_all "could not make test certificates"
printf 'Subject: advice\n\nbody of the message, more than a hundred bytes long: %s\n' \
    "$(head -c 120 /dev/zero | tr '\0' x)" >"$T/msg"

# advice_after_error TEXT: the last line of stderr is the advice, holding
# TEXT; every line before it is an error line, and the one just before it
# holds the server's words when WORDS is set.
advice_after_error() {
    local last before
    last=$(tail -1 "$ERR")
    before=$(tail -2 "$ERR" | head -1)
    case $last in "outpost: what to do: "*"$1"*) ;; *) diag "$ERR"; return 1 ;; esac
    if [ -n "${WORDS:-}" ] && [[ $before != *"(server said: $WORDS"* ]]; then
        echo "#   the line before the advice does not quote the server ($WORDS):"
        diag "$ERR"
        return 1
    fi
    [ "$(grep -c '^outpost: what to do: ' "$ERR")" -eq 1 ]
}

# row NAME EXIT ADVICE SCRIPT_JSON [CONFIG_LINE...]: one row of the table.
n=0
row() {
    local name=$1 code=$2 advice=$3 script=$4
    shift 4
    n=$((n + 1))
    start_server "row$n" "$script"
    write_config "$HOME/.outpostrc" "account default" "host localhost" "port $PORT" \
        "from sender@example.com" "timeout 3" "$@"
    run_outpost -oi rcpt@example.org <"$T/msg"
    is "$RC" "$code" "$name: exit $code"
    check "$name: the error with the server's words, then: $advice" advice_after_error "$advice"
}

TLS="\"tls\": {\"mode\": \"starttls\", \"cert\": \"$PKI/server.pem\", \"key\": \"$PKI/key.pem\"}"
AUTH='"auth": {"user": "u@example.com", "password": "pw", "mechanisms": ["PLAIN"]}'
AUTH_CONFIG=("tls on" "tls_trust_file $PKI/ca.pem" "auth on" "user u@example.com" "password pw")
# auth_row NAME EXIT ADVICE REPLY: AUTH answered with REPLY
auth_row() {
    WORDS=$4 row "$1" "$2" "$3" "{$TLS, $AUTH, \"faults\": [{\"at\": \"AUTH\", \"reply\": \"$4\"}]}" \
        "${AUTH_CONFIG[@]}"
}
auth_row "5.7.14 (web login)" 77 "sign in once with a web browser" "534 5.7.14 Please log in via your web browser"
auth_row "5.7.9 (app password)" 77 "the provider wants an app password" "534 5.7.9 Application-specific password required"
auth_row "5.7.8 (wrong password)" 77 "does not accept this user name and password" "535 5.7.8 Username and Password not accepted"
auth_row "5.7.11 (encryption needed)" 77 "needs an encrypted connection" "535 5.7.11 Encryption required for requested authentication mechanism"
auth_row "534 without an enhanced code" 77 "the provider wants an app password" "534 Please use an application-specific password"
auth_row "535 without an enhanced code" 77 "does not accept this user name and password" "535 Authentication credentials invalid"
auth_row "538" 77 "needs an encrypted connection" "538 Encryption required"
auth_row "454 (temporary)" 75 "a temporary failure on the server's side" "454 4.7.0 Temporary authentication failure"
auth_row "5.7.139 (Outlook.com: no passwords)" 77 "the provider refuses passwords for SMTP: use OAuth 2.0 ('oauth2_provider microsoft'" "535 5.7.139 Authentication unsuccessful, basic authentication is disabled."
auth_row "5.7.30 (Microsoft 365: no passwords)" 77 "refuses passwords for SMTP: use OAuth 2.0" "550 5.7.30 Basic authentication is not supported for Client Submission."
check "535: the error says where the password came from" said "password from the configuration ('password')"

# mail_row NAME EXIT ADVICE STEP REPLY [CONFIG_LINE...]: STEP answered with REPLY
fault_row() {
    local name=$1 code=$2 advice=$3 step=$4 reply=$5
    shift 5
    WORDS=$reply row "$name" "$code" "$advice" "{\"faults\": [{\"at\": \"$step\", \"reply\": \"$reply\"}]}" "$@"
}
fault_row "530 STARTTLS first" 69 "only takes mail over TLS: set 'tls on'" MAIL "530 5.7.0 Must issue a STARTTLS command first"
fault_row "530 authentication required" 69 "from users who log in: set 'auth on'" MAIL "530 5.7.0 Authentication required"
fault_row "550 5.7.1 sender refused" 69 "send as that address: set 'from'" MAIL "550 5.7.1 Sender address rejected: not owned by user"
fault_row "553 sender refused" 69 "send as that address: set 'from'" MAIL "553 Sender address rejected"
fault_row "5.3.4 too big" 69 "larger than the server takes" DATA_END "554 5.3.4 Message too big for system"
fault_row "552 too big" 69 "larger than the server takes" DATA_END "552 Message size exceeds fixed maximum message size"
fault_row "421 (closing)" 75 "limiting how much or how fast you send, or is going down" MAIL "421 4.7.0 Too many connections from your host"
fault_row "4.7.x (rate limited)" 75 "limiting how much or how fast you send: try again later" MAIL "451 4.7.1 Rate limit exceeded, try again later"

WORDS="" row "our SIZE check" 69 "send a link instead of the attachment" '{"ehlo": ["SIZE 100"]}'
check "our SIZE check: the sizes are in the error" said "larger than the server accepts (100 bytes)"

WORDS="" row "a server that stops answering" 75 "the server stopped answering" \
    '{"faults": [{"at": "CONNECT", "action": "stall"}]}' "timeout 1"

closed_port >"$T/closed"
n=$((n + 1))
write_config "$HOME/.outpostrc" "account default" "host 127.0.0.1" "port $(cat "$T/closed")" \
    "from sender@example.com" "timeout 3"
run_outpost -oi rcpt@example.org <"$T/msg"
is "$RC" 75 "connection refused: exit 75"
WORDS="" check "connection refused: the error, then: nothing listens there" \
    advice_after_error "nothing listens there: check 'host' and 'port'"

# A port where SYNs go unanswered (lib.sh's silent_port).
if ! silent_port >"$T/full.port"; then
    echo "ok $((TAP_N += 1)) # SKIP this kernel still answers SYNs on a full accept queue"
else
    write_config "$HOME/.outpostrc" "account default" "host 127.0.0.1" "port $(cat "$T/full.port")" \
        "from sender@example.com" "timeout 1"
    run_outpost -oi rcpt@example.org <"$T/msg"
    is "$RC" 75 "no answer to the connection: exit 75"
    WORDS="" check "no answer to the connection: the error, then: this network may block the port" \
        advice_after_error "this network may block the port"
fi

# ---- the rows keyed on TLS and set-up reasons ------------------------------------------
# tls_row NAME EXIT ADVICE MODE CERT [CONFIG_LINE...]: TLS to a server with CERT
tls_row() {
    local name=$1 code=$2 advice=$3 mode=$4 cert=$5
    shift 5
    local key="$PKI/key.pem"
    [ "$cert" = rsa1024 ] && key="$PKI/rsa1024.key"
    WORDS="" row "$name" "$code" "$advice" \
        "{\"tls\": {\"mode\": \"$mode\", \"cert\": \"$PKI/$cert.pem\", \"key\": \"$key\", \"weak\": true}}" \
        "tls on" "tls_starttls $([ "$mode" = implicit ] && echo off || echo on)" "tls_trust_file $PKI/ca.pem" "$@"
}
fpr() { certtool -i --infile "$PKI/$1.pem" | sed -n 's/^[[:space:]]*sha256:\([0-9a-f]*\)$/\1/p' | head -1 | tr a-f A-F | sed 's/../&:/g; s/:$//'; }
tls_row "an unknown CA" 69 "name the CA that issued it in tls_trust_file; or, if you are sure this is the right server, pin its certificate with 'tls_fingerprint $(fpr untrusted)'" starttls untrusted
tls_row "a wrong name" 69 "use it as 'host' or 'tls_host_override'" implicit wronghost
tls_row "an expired certificate" 69 "the server's administrator must renew it" implicit expired
tls_row "a certificate not yet valid" 69 "check that this machine's clock is right" implicit future
tls_row "a revoked certificate" 69 "withdrawn by its issuer: do not pin it" implicit revoked "tls_crl_file $PKI/crl.pem"
tls_row "a weak certificate" 69 "tls_priorities can choose another profile" implicit rsa1024
tls_row "a clientAuth-only certificate" 69 "pin its certificate with 'tls_fingerprint $(fpr clientonly)'" implicit clientonly
tls_row "a CN-only certificate" 69 "pin its certificate with 'tls_fingerprint $(fpr cnonly)'" implicit cnonly
tls_row "another certificate than the pinned one" 69 "put its SHA-256 fingerprint $(fpr untrusted) in tls_fingerprint" implicit untrusted "tls_fingerprint $(fpr server)"
WORDS="" row "TLS 1.1 only" 69 "tls_priorities can allow them: 'NORMAL:+VERS-TLS1.1:+VERS-TLS1.0'" \
    "{\"tls\": {\"mode\": \"implicit\", \"cert\": \"$PKI/server.pem\", \"key\": \"$PKI/key.pem\", \"weak\": true, \"max_version\": \"TLSv1_1\"}}" \
    "tls on" "tls_starttls off" "tls_trust_file $PKI/ca.pem"
tls_row "an unusable tls_trust_file" 78 "tls_trust_file $T/none.pem must be a readable file of PEM CA certificates" implicit server "tls_trust_file $T/none.pem"
tls_row "an unusable tls_crl_file" 78 "tls_crl_file $T/none.crl must be a readable PEM revocation list" implicit server "tls_crl_file $T/none.crl"
tls_row "an unusable client certificate" 78 "tls_cert_file ($T/none.crt) and tls_key_file" implicit server "tls_cert_file $T/none.crt" "tls_key_file $T/none.key"
tls_row "a bad tls_priorities" 78 "fix tls_priorities 'NORMAL:+NOPE'" implicit server "tls_priorities NORMAL:+NOPE"
tls_row "nothing to verify against" 78 "tls_trust_file is empty: set it (or 'system')" implicit server "tls_trust_file"
WORDS="" row "STARTTLS not offered" 69 "if the server only does implicit TLS, use port 465" '{}' \
    "tls on" "tls_trust_file $PKI/ca.pem"
WORDS="" row "STARTTLS refused for good" 69 "try port 465 with 'tls_starttls off'" \
    "{$TLS, \"faults\": [{\"at\": \"STARTTLS\", \"reply\": \"502 5.5.1 not now\"}]}" \
    "tls on" "tls_trust_file $PKI/ca.pem"
WORDS="" row "AUTH without TLS" 78 "or, to accept that risk, 'auth_without_tls on'" "{$AUTH}" \
    "auth plain" "user u@example.com" "password pw"
WORDS="" row "no AUTH offered" 78 "set 'auth off' if the server needs no login" "{$TLS}" "${AUTH_CONFIG[@]}"
WORDS="" row "a mechanism not offered" 78 "choose one it offers with 'auth', or let outpost choose" "{$TLS, $AUTH}" \
    "tls on" "tls_trust_file $PKI/ca.pem" "auth login" "user u@example.com" "password pw"
# A mechanism outpost knows but this build lacks (one built without libgsasl).
missing=$(for m in SCRAM-SHA-256 CRAM-MD5 DIGEST-MD5 NTLM GSSAPI; do
    "$OUTPOST" --version | grep -qw -- "$m" || { echo "$m"; break; }
done)
if [ -n "$missing" ]; then
    WORDS="" row "a mechanism not in this build" 78 "outpost --version lists the mechanisms this build has" \
        "{$TLS, \"auth\": {\"user\": \"u\", \"password\": \"pw\", \"mechanisms\": [\"PLAIN\", \"$missing\"]}}" \
        "tls on" "tls_trust_file $PKI/ca.pem" "auth $missing" "user u" "password pw"
else
    echo "ok $((TAP_N += 1)) # SKIP every mechanism outpost knows is in this build (libload.sh triggers this row with GNU SASL hidden)"
fi
WORDS="" row "no user" 78 "set 'user'" "{$TLS, $AUTH}" "tls on" "tls_trust_file $PKI/ca.pem" "auth plain" "password pw"
WORDS="" row "no password anywhere" 78 "store one with 'outpost --store-password -a default'" "{$TLS, $AUTH}" \
    "tls on" "tls_trust_file $PKI/ca.pem" "auth plain" "user u@example.com"

# Advice is decided from what the error is, never from words in it: a
# malformed greeting that reads like outpost's own messages gets none.
start_server words '{"faults": [{"at": "CONNECT", "raw": "larger than the server accepts; Connection refused; no answer within 1 s\r\n"}]}'
write_config "$HOME/.outpostrc" "account default" "host localhost" "port $PORT" "from sender@example.com" "timeout 2"
run_outpost -oi rcpt@example.org <"$T/msg"
is "$RC" 76 "a malformed greeting holding outpost's own words: exit 76 (protocol)"
check "...and no advice from those words" lacks "what to do" "$ERR"

# Failures without a row get no advice line.
WORDS="" start_server norow '{"faults": [{"at": "RCPT", "reply": "550 5.1.1 No such user"}]}'
write_config "$HOME/.outpostrc" "account default" "host localhost" "port $PORT" "from sender@example.com"
run_outpost -oi rcpt@example.org <"$T/msg"
is "$RC" 67 "an unknown recipient: exit 67"
check "an unknown recipient: no advice line (the table has no row for it)" \
    lacks "what to do" "$ERR"

done_testing
