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

# Failures without a row get no advice line.
WORDS="" start_server norow '{"faults": [{"at": "RCPT", "reply": "550 5.1.1 No such user"}]}'
write_config "$HOME/.outpostrc" "account default" "host localhost" "port $PORT" "from sender@example.com"
run_outpost -oi rcpt@example.org <"$T/msg"
is "$RC" 67 "an unknown recipient: exit 67"
check "an unknown recipient: no advice line (the table has no row for it)" \
    sh -c '! grep -q "what to do" "$0"' "$ERR"

done_testing
