#!/bin/bash
# SMTP AUTH against the scripted server: every mechanism it speaks, the
# choice of mechanism, refusals and their hints, malformed challenges,
# password sources (config, passwordeval, ~/.netrc, the terminal), and no
# secret in the --debug transcript.
. "$srcdir/tests/lib.sh"

command -v certtool >/dev/null || skip_all "certtool (gnutls-bin) is not installed"
PKI="$T/pki"
sh "$srcdir/tests/tools/mkcerts.sh" "$PKI" || skip_all "could not make test certificates"

USER_NAME=joe@example.com
PASSWORD='s3cret pass/word+=x'
printf 'Subject: auth\n\nbody\n' >"$T/msg"

# auth_server NAME MECHANISMS [TLS_MODE [EXTRA_JSON]]: TLS_MODE is starttls
# (default), implicit, or none; MECHANISMS a JSON list.
auth_server() {
    local name=$1 mechs=$2 mode=${3:-starttls} extra=${4:-} password=${SERVER_PASSWORD:-$PASSWORD}
    local tls=""
    [ "$mode" != none ] && tls="\"tls\": {\"mode\": \"$mode\", \"cert\": \"$PKI/server.pem\", \"key\": \"$PKI/key.pem\"${TLS_EXTRA:-}}, "
    start_server "$name" "{$tls\"auth\": {\"user\": \"$USER_NAME\", \"password\": \"$password\", \"mechanisms\": $mechs${AUTH_EXTRA:-}}${extra:+, $extra}}"
}

# config [tls|plain] LINE...: the default account for the last server
config() {
    local mode=$1
    shift
    local tls=("tls on" "tls_trust_file $PKI/ca.pem")
    [ "$mode" = plain ] && tls=("tls off")
    write_config "$HOME/.outpostrc" "account default" "host localhost" "port $PORT" \
        "from sender@example.com" "timeout 5" "${tls[@]}" "user $USER_NAME" "$@"
}

send() { "$OUTPOST" "$@" -oi rcpt@example.org <"$T/msg" >"$OUT" 2>"$ERR"; RC=$?; }
last_session() { ls "$DIR"/session-*.log | sort -V | tail -1; }
authenticated_with() { grep -qx -- "-- authenticated as $USER_NAME with $1" "$(last_session)"; }
no_mail() { lacks '^C: MAIL' "$(last_session)"; }
no_auth() { lacks '^C: AUTH' "$(last_session)"; }

# ---- each mechanism, forced --------------------------------------------------
auth_server all '["PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256", "XOAUTH2", "OAUTHBEARER"]'
for mech in PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256 XOAUTH2 OAUTHBEARER; do
    config tls "auth $mech" "password $PASSWORD"
    send
    is "$RC" 0 "auth $mech: delivered"
    [ "$RC" -eq 0 ] && check "auth $mech: the server saw a correct $mech exchange" authenticated_with "$mech"
    [ "$RC" -eq 0 ] || diag "$ERR"
done

# ---- choosing --------------------------------------------------------------------
config tls "auth on" "password $PASSWORD"
send
is "$RC" 0 "auth on: delivered"
check "auth on: the strongest mechanism both have (SCRAM-SHA-256)" authenticated_with SCRAM-SHA-256

TLS_EXTRA=', "max_version": "TLSv1_2"' auth_server plus '["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS"]'
config tls "auth on" "password $PASSWORD"
send
is "$RC" 0 "auth on with -PLUS offered (TLS 1.2): delivered"
check "auth on prefers SCRAM-SHA-256-PLUS" authenticated_with SCRAM-SHA-256-PLUS
check "SCRAM-SHA-256-PLUS: the server checked the tls-unique channel binding" \
    grep -qx -- '-- channel binding: tls-unique' "$(last_session)"

# ---- no TLS: no AUTH at all, unless auth_without_tls says so -------------------------
auth_server plainonly '["PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256"]' none
for mech in on PLAIN LOGIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-256; do
    config plain "auth $mech" "password $PASSWORD"
    send
    is "$RC" 78 "tls off, auth $mech: refused before anything is sent (exit 78)"
    check "tls off, auth $mech: no AUTH went out" no_auth
    check "tls off, auth $mech: no MAIL either" no_mail
done
check "tls off: says why, and what to set" \
    said "refusing to authenticate over a connection without TLS"
check "tls off: names the opt-in" said "'auth_without_tls on'"
for mech in PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256; do
    config plain "auth $mech" "password $PASSWORD" "auth_without_tls on"
    send
    is "$RC" 0 "tls off, auth $mech, auth_without_tls on: delivered (the configuration says so)"
    check "tls off, auth $mech, auth_without_tls on: $mech was used" authenticated_with "$mech"
done
config plain "auth on" "password $PASSWORD" "auth_without_tls on"
send
is "$RC" 0 "auth on, auth_without_tls on: delivered"
check "auth on without TLS: a mechanism that does not send the password readable is preferred" \
    authenticated_with SCRAM-SHA-256
auth_server cleartextonly '["PLAIN", "LOGIN"]' none
config plain "auth on" "password $PASSWORD" "auth_without_tls on"
send
is "$RC" 0 "auth on, only PLAIN and LOGIN offered, auth_without_tls on: delivered"
check "...with PLAIN" authenticated_with PLAIN

auth_server noauth '[]' starttls
config tls "auth on" "password $PASSWORD"
send
is "$RC" 78 "the server offers no AUTH: config error"
check "no AUTH offered: says so" said "does not offer authentication"

auth_server nocommon '["PLAIN"]'
config tls "auth cram-md5" "password $PASSWORD"
send
is "$RC" 78 "a forced mechanism the server does not offer: config error"
check "...names what the server offers" said "does not offer AUTH CRAM-MD5 (it offers: PLAIN)"

# ---- refusals ------------------------------------------------------------------------
auth_server wrong '["PLAIN", "SCRAM-SHA-256"]'
config tls "auth on" "password not-the-password"
send
is "$RC" 77 "wrong password: exit 77 (EX_NOPERM)"
check "wrong password: mechanism, user and the password's source named" \
    said "authentication failed (SCRAM-SHA-256 as user '$USER_NAME', password from the configuration ('password'))"
check "wrong password: the server's words verbatim" said "(server said: 535 5.7.8 Error: authentication failed: authentication failure)"
check "wrong password: advice" said "what to do: the server does not accept this user name and password"
check "wrong password: no MAIL" no_mail
check "wrong password: one attempt only" test "$(grep -c '^C: AUTH' "$(last_session)")" -eq 1

for fault in "534 5.7.9 Please log in with an application-specific password:the provider wants an app password:77" \
    "538 5.7.11 Encryption required for requested authentication mechanism:set 'tls on':77" \
    "454 4.7.0 Temporary authentication failure:try again later:75"; do
    reply=${fault%%:*}
    rest=${fault#*:}
    hint=${rest%:*}
    code=${rest##*:}
    auth_server "f${reply%% *}" '["PLAIN"]' starttls "\"faults\": [{\"at\": \"AUTH\", \"reply\": \"$reply\"}]"
    config tls "auth on" "password $PASSWORD"
    send
    is "$RC" "$code" "AUTH answered ${reply%% *}: exit $code"
    check "AUTH answered ${reply%% *}: the server's words" said "(server said: $reply)"
    check "AUTH answered ${reply%% *}: hint ($hint)" said "$hint"
    check "AUTH answered ${reply%% *}: no MAIL" no_mail
done

auth_server malformed '["CRAM-MD5"]' starttls '"faults": [{"at": "AUTH_CHALLENGE", "raw": "334 %%%not base64%%%\r\n"}]'
config tls "auth cram-md5" "password $PASSWORD"
send
is "$RC" 76 "a malformed challenge: exit 76 (EX_PROTOCOL)"
check "a malformed challenge: says so" said "challenge cannot be answered"
check "a malformed challenge: the exchange is cancelled with '*'" grep -qx 'C: \*' "$(last_session)"
check "a malformed challenge: no MAIL" no_mail

AUTH_EXTRA=', "bad_server_signature": true' auth_server badsig '["SCRAM-SHA-256"]'
config tls "auth on" "password $PASSWORD"
send
check "SCRAM: a server that cannot prove it knows the password is not trusted" test "$RC" -ne 0
check "SCRAM bad server signature: no MAIL" no_mail

# ---- password sources ----------------------------------------------------------------
auth_server sources '["PLAIN"]'
config tls "auth on" "passwordeval printf '%s\\n' '$PASSWORD'; echo second line"
send
is "$RC" 0 "passwordeval: the first line of its output is the password"
config tls "auth on" "passwordeval exit 3"
send
is "$RC" 78 "passwordeval failing: exit 78"
check "passwordeval failing: the command is named" said "passwordeval: "
check "passwordeval failing: nothing was authenticated" no_auth

# (netrc tokens cannot hold blanks, so this server's password has none)
SERVER_PASSWORD=netrc-password auth_server netrc '["PLAIN"]'
printf 'machine other.example login x password y\nmachine localhost login %s password %s\n' \
    "$USER_NAME" netrc-password >"$HOME/.netrc"
chmod 600 "$HOME/.netrc"
config tls "auth on"
setsid -w "$OUTPOST" -oi rcpt@example.org <"$T/msg" >"$OUT" 2>"$ERR"
RC=$?
is "$RC" 0 "~/.netrc: machine and login matched"
rm "$HOME/.netrc"

auth_server prompt '["PLAIN"]'
config tls "auth on"

setsid -w "$OUTPOST" -oi rcpt@example.org <"$T/msg" >"$OUT" 2>"$ERR"
RC=$?
is "$RC" 78 "no password anywhere and no terminal: exit 78"
check "no password: says where one could come from" said "store one with 'outpost --store-password -a default'"
check "no password: no AUTH sent" no_auth

# The terminal: script(1) gives outpost a pseudo-terminal; the message still
# comes from the file on stdin.
if command -v script >/dev/null; then
    # (typed a moment later, as a person would: input that arrives before
    # echo is turned off is echoed by the terminal itself)
    { sleep 0.5; printf '%s\n' "$PASSWORD"; } | script -qec "'$OUTPOST' -oi rcpt@example.org <'$T/msg'" /dev/null >"$OUT" 2>&1
    RC=$?
    is "$RC" 0 "the password is asked on the terminal"
    check "the prompt names user and host" grep -q "password for $USER_NAME at localhost:" "$OUT"
    check "the password typed is not echoed" lacks -F "$PASSWORD" "$OUT"
else
    for i in 1 2 3; do echo "ok $((TAP_N += 1)) # SKIP script(1) is not installed"; done
fi

# ---- no core files ---------------------------------------------------------------------
# passwordeval inherits outpost's limits: with a password of "0", only a
# shell that sees core files disabled logs in.
if [ "$(ulimit -H -c)" != 0 ]; then
    SERVER_PASSWORD=0 auth_server nocore '["PLAIN"]'
    config tls "auth on" "passwordeval ulimit -c"
    (ulimit -S -c unlimited && send && exit "$RC")
    is "$?" 0 "core files are disabled in outpost (even when the caller allows them)"
else
    echo "ok $((TAP_N += 1)) # SKIP core files are already disabled here"
fi

# ---- POP-before-SMTP ----------------------------------------------------------------
pop_server() { # pop_server NAME MODE(implicit|stls) PASSWORD: sets POP_PORT, POP_DIR
    SERVER_FLAGS=--pop3 start_server "$1" "{\"tls\": {\"mode\": \"$2\", \"cert\": \"$PKI/server.pem\", \"key\": \"$PKI/key.pem\"}, \"pop3\": {\"user\": \"$USER_NAME\", \"password\": \"$3\"}}"
    POP_PORT=$PORT
    POP_DIR=$DIR
}
pop_server pop110 stls "$PASSWORD"
auth_server popsmtp '[]'
# Port 995 means implicit TLS: nothing listens there, so the POP step
# fails, and no SMTP session may follow.
config tls "password $PASSWORD" "pop_before_smtp localhost:995"
send
check "pop_before_smtp failing: the message is not sent" test "$RC" -ne 0 -a ! -e "$DIR/session-1.log"
POP110=$POP_PORT
config tls "password $PASSWORD" "pop_before_smtp localhost:$POP110"
send
is "$RC" 0 "pop_before_smtp (STLS): then the message is sent"
check "pop_before_smtp: the POP3 login happened, over TLS" \
    grep -qx -- "-- POP3 login $USER_NAME over TLS" "$T/pop110/session-1.log"
check "pop_before_smtp: the password is not sent before STLS" \
    sh -c "sed -n '1,/^C: STLS/p' '$T/pop110/session-1.log' | grep -q '^C: PASS' && exit 1 || exit 0"
check "pop_before_smtp: POP came before SMTP" \
    test "$T/pop110/session-1.log" -ot "$(last_session)"
config tls "password wrong" "pop_before_smtp localhost:$POP110"
send
is "$RC" 77 "pop_before_smtp with a wrong password: exit 77"
check "pop_before_smtp refused: the POP3 server's words" said "(server said: -ERR [AUTH] Authentication failed.)"
check "pop_before_smtp refused: no SMTP session at all" test "$(ls "$DIR"/session-*.log 2>/dev/null | wc -l)" -eq 1

# ---- no secret in the transcript ------------------------------------------------------
# Every AUTH payload the server received must be absent from outpost's
# --debug output, as must the password and its base64 forms.
auth_server leak '["PLAIN", "LOGIN", "SCRAM-SHA-256", "XOAUTH2"]'
: >"$T/transcripts"
for mech in PLAIN LOGIN SCRAM-SHA-256 XOAUTH2; do
    config tls "auth $mech" "password $PASSWORD"
    send --debug
    cat "$ERR" >>"$T/transcripts"
done
check "--debug shows that AUTH happened, redacted" grep -q -- '--> AUTH PLAIN <redacted>' "$T/transcripts"
check "--debug: the password never appears" lacks -F "$PASSWORD" "$T/transcripts"
b64pw=$(printf '%s' "$PASSWORD" | base64 -w0)
check "--debug: the password's base64 never appears" lacks -F "$b64pw" "$T/transcripts"
payloads=$(cat "$DIR"/session-*.log | grep -vxE 'C: (STARTTLS|DATA|QUIT|RSET|NOOP)' |
    sed -n 's/^C: AUTH [A-Z0-9-]* //p; /^C: [A-Za-z0-9+\/=]\{8,\}$/s/^C: //p')
leaked=0
for p in $payloads; do
    grep -qF -- "$p" "$T/transcripts" && leaked=$((leaked + 1)) && echo "#   leaked: $p"
done
check "--debug: none of the $(echo "$payloads" | wc -w) AUTH payloads the server received (SCRAM proofs included)" test "$leaked" -eq 0
scram_final_seen() {
    local p
    for p in $payloads; do printf '%s' "$p" | base64 -d 2>/dev/null; echo; done | grep -q ',p='
}
check "the SCRAM client-final (with its proof) was among them" scram_final_seen
done_testing
