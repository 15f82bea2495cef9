#!/bin/bash
# OAuth 2.0 built in: --authorize (PKCE with a loopback redirect, a pasted
# address, --device), the grant kept in a private file, tokens refreshed
# before they end and rotated refresh tokens kept under a lock, every kind
# of provider failure classed (temporary, re-authorize, configuration,
# TLS), long tokens, a refused token refreshed once, --check and
# --forget-password. Against tests/server/oauthprovider.py (HTTPS) and the
# scripted SMTP server accepting the provider's tokens.
. "$srcdir/tests/lib.sh"

command -v certtool >/dev/null || skip_all "certtool (gnutls-bin) is not installed"
"$OUTPOST" --version | grep -q '^OAuth 2.0: HTTP with' || skip_all "built without OAuth 2.0"
PKI="$T/pki"
sh "$srcdir/tests/tools/mkcerts.sh" "$PKI" >/dev/null 2>&1 || skip_all "could not make test certificates"

export XDG_STATE_HOME="$T/state"
STATE="$XDG_STATE_HOME/outpost"
Q="$T/queue"
msg() { printf 'Subject: %s\n\nbody of %s\n' "$1" "$1"; }

# The "browser": xdg-open on PATH, with a display to open it on.
mkdir -p "$T/bin"
printf '#!/bin/sh\nenv > "$OUTPOST_TEST_BROWSER_ENV"\nexec %s %s "$@"\n' "$TEST_PYTHON" \
    "$srcdir/tests/tools/browser.py" >"$T/bin/xdg-open"
chmod +x "$T/bin/xdg-open"
export PATH="$T/bin:$PATH" DISPLAY=:99
export OUTPOST_TEST_CA="$PKI/ca.pem" OUTPOST_TEST_BROWSER_LOG="$T/browser.log"
export OUTPOST_TEST_BROWSER_ENV="$T/browser.env"

# smtp NAME [EXTRA_JSON]: the SMTP server, implicit TLS, taking the
# provider's tokens (XOAUTH2, OAUTHBEARER)
smtp() {
    start_server "$1" "{\"tls\": {\"mode\": \"implicit\", \"cert\": \"$PKI/server.pem\", \"key\": \"$PKI/key.pem\"}, \"auth\": {\"user\": \"joe@example.com\", \"password\": \"-\", \"mechanisms\": [\"XOAUTH2\", \"OAUTHBEARER\"], \"token_file\": \"${TOKENS:-$PDIR/tokens}\"}${2:+, $2}}"
}
# config [LINE...]: the account, with the provider's endpoints
config() {
    write_config "$HOME/.outpostrc" "account default" "host localhost" "port $PORT" "timeout 10" \
        "tls on" "tls_starttls off" "tls_trust_file $PKI/ca.pem" "auth xoauth2" \
        "user joe@example.com" "from joe@example.com" "oauth2_provider custom" \
        "oauth2_client_id outpost-test" "oauth2_auth_url $PROVIDER_URL/authorize" \
        "oauth2_token_url $PROVIDER_URL/token" "oauth2_device_url $PROVIDER_URL/device" \
        "oauth2_token_store file" "$@"
}
authorize() { run_outpost --authorize "$@" </dev/null; }
send() { run_outpost -oi rcpt@example.org < <(msg "${1:-oauth}"); }
grant_file() { ls "$STATE"/oauth2-* 2>/dev/null | grep -v '\.lock$' | head -1; }
stored() { sed -n "s/^$1 //p" "$(grant_file)"; } # a field of the stored grant
refreshes() { grep -c '^/token refresh_token -> issued' "$PDIR/requests.log"; }
delivered() { ls "$DIR"/msg-*.eml 2>/dev/null | wc -l; }

# ---- before any authorization ------------------------------------------------
start_provider provider "$PKI"
smtp smtp
config
send
is "$RC" 77 "not authorized yet: exit 77"
check "not authorized: it says so and what to run" \
    sh -c "grep -q 'no OAuth 2.0 grant is stored' '$ERR' && grep -q 'outpost --authorize -a default' '$ERR'"
check "not authorized: nothing was sent to the SMTP server" test ! -e "$DIR/session-1.log"

# ---- --authorize: PKCE, loopback redirect ------------------------------------------
authorize
is "$RC" 0 "--authorize: exit 0"
[ "$RC" -eq 0 ] || diag "$OUT" "$ERR" "$T/browser.log"
check "--authorize: the browser was sent to the provider and on to outpost's listener" \
    grep -q '^redirect: 200 .*outpost has the authorization' "$T/browser.log"
check "--authorize: the code was exchanged with the PKCE verifier (the provider checks it)" \
    grep -qx '/token authorization_code -> issued' "$PDIR/requests.log"
check "--authorize: says the account is authorized, where the grant is and what is next" \
    sh -c "grep -q \"account 'default' is authorized for joe@example.com\" '$OUT' && grep -q 'in the state directory' '$OUT' && grep -q 'outpost --check -a default' '$OUT'"
check "--authorize: the authorization URL carries the user as login_hint" \
    grep -q 'login_hint joe@example.com' "$PDIR/requests.log"
G=$(grant_file)
check "the grant is a file in the state directory" test -n "$G"
is "$(stat -c %a "$G" 2>/dev/null)" 600 "the grant file is private (0600)"
check "the grant holds the provider's refresh token" grep -qxF "$(stored refresh_token)" "$PDIR/refresh"
check "xdg-open's environment holds no token" \
    lacks -F "$(stored refresh_token)" "$OUTPOST_TEST_BROWSER_ENV"
check "no token in what --authorize printed" lacks -F "$(stored access_token)" "$OUT" "$ERR"

send first
is "$RC" 0 "authorized: delivered"
check "the XOAUTH2 login used the token" grep -q -- '-- authenticated as joe@example.com with XOAUTH2' "$DIR/session-1.log"
is "$(refreshes)" 0 "a cached token good for an hour is used as it is: no refresh"
run_outpost --debug -oi rcpt@example.org < <(msg debug)
is "$RC" 0 "--debug send: delivered"
check "--debug names the token state and the cached token" \
    sh -c "grep -q 'session: token' '$ERR' && grep -q 'cached access token is good for' '$ERR'"
check "--debug shows no token" lacks -F "$(stored access_token)" "$ERR"
check "--debug redacts the AUTH line" grep -q -- '--> AUTH XOAUTH2 <redacted>' "$ERR"
# traced_send: a send under strace (the files opened), into $T/trace
traced_send() {
    ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" strace -f -e trace=openat -o "$T/trace" \
        "$OUTPOST" -oi rcpt@example.org < <(msg traced) >/dev/null 2>&1
}
HAVE_STRACE=0
command -v strace >/dev/null && strace -o /dev/null true 2>/dev/null && HAVE_STRACE=1
if [ "$HAVE_STRACE" -eq 1 ]; then
    traced_send
    check "a send with a cached token loads neither libcurl nor jansson" \
        lacks -E 'libcurl|libjansson' "$T/trace"
fi

# ---- refresh before the end, rotation ----------------------------------------------
# A provider whose first token ends at once: every send refreshes first.
start_provider rotating "$PKI" '{"first_expires_in": 1, "expires_in": 3600}'
smtp smtp-rot
config
rm -f "$STATE"/oauth2-*
authorize
is "$RC" 0 "--authorize (a token that ends at once): exit 0"
old_refresh=$(stored refresh_token)
send rot1
is "$RC" 0 "a token within 5 minutes of its end: refreshed, then delivered"
is "$(refreshes)" 1 "one refresh"
check "the rotated refresh token was kept, the spent one is gone" \
    sh -c "test '$(stored refresh_token)' != '$old_refresh' && grep -qxF '$(stored refresh_token)' '$PDIR/refresh'"
check "the new access token was kept: the next send has it" test -n "$(stored access_token)"
send rot2
is "$RC" 0 "the next send: delivered"
is "$(refreshes)" 1 "...with the refreshed token, no second refresh"
if [ "$HAVE_STRACE" -eq 1 ]; then
    rm -f "$STATE"/oauth2-*
    authorize
    traced_send
    check "a send that refreshes loads libcurl's GnuTLS build and jansson (so the check above can fail)" \
        sh -c "grep -q 'libcurl-gnutls.so.4' '$T/trace' && grep -q 'libjansson.so.4' '$T/trace'"
fi

# Two and four outposts at once, each needing a refresh of a rotating
# token: one refresh under the lock, the others take its result.
for n in 2 4; do
    start_provider "race$n" "$PKI" '{"first_expires_in": 1, "expires_in": 3600}'
    smtp "smtp-race$n"
    config
    rm -f "$STATE"/oauth2-*
    authorize
    pids=()
    for i in $(seq 1 "$n"); do
        "$OUTPOST" -oi rcpt@example.org < <(msg "race$i") >"$T/race$i.out" 2>&1 &
        pids+=($!)
    done
    rcs=""
    for p in "${pids[@]}"; do wait "$p"; rcs="$rcs$?"; done
    is "$rcs" "$(printf '0%.0s' $(seq 1 "$n"))" "$n sends at once, each needing a refresh: all exit 0"
    is "$(delivered)" "$n" "$n sends at once: $n messages delivered"
    is "$(refreshes)" 1 "$n sends at once: one refresh (under the lock), not $n"
    check "$n sends at once: the stored refresh token is the newest one" \
        grep -qxF "$(stored refresh_token)" "$PDIR/refresh"
done

# ---- long tokens -----------------------------------------------------------------------
for mech in xoauth2 oauthbearer; do
    start_provider "long-$mech" "$PKI" '{"token_size": 8192}'
    smtp "smtp-long-$mech" '"line_limit": 2048'
    config "auth $mech"
    rm -f "$STATE"/oauth2-*
    authorize
    send long
    is "$RC" 0 "an 8 KB token ($mech) to a server reading lines up to 2048 bytes: delivered"
    [ "$RC" -eq 0 ] || diag "$ERR"
    check "8 KB token ($mech): AUTH without an initial response, the token after the 334" \
        grep -q -- "-- AUTH ${mech^^} without an initial response" "$DIR/session-1.log"
    check "8 KB token ($mech): stored whole" test "$(stored access_token | wc -c)" -eq 8193
done
start_provider short "$PKI"
smtp smtp-short
config "auth oauthbearer"
rm -f "$STATE"/oauth2-*
authorize
send short
is "$RC" 0 "OAUTHBEARER with a short token: delivered"
check "a short token goes as AUTH's initial response" \
    grep -q -- '-- AUTH OAUTHBEARER with an initial response' "$DIR/session-1.log"

# ---- the SMTP server refuses the token -------------------------------------------------
start_provider revoked "$PKI"
smtp smtp-revoked
config
rm -f "$STATE"/oauth2-*
authorize
: >"$PDIR/tokens" # the server no longer takes the cached token (revoked early)
send revoked
is "$RC" 0 "a cached token the server refuses: refreshed once, then delivered"
is "$(refreshes)" 1 "...with one refresh"
is "$(grep -c '^-- AUTH XOAUTH2' "$DIR/session-1.log")" 2 "...and a second AUTH on the same connection"

TOKENS="$T/no-tokens"
: >"$TOKENS"
smtp smtp-norefuse
unset TOKENS
config
send refused
is "$RC" 77 "a fresh token refused too (SMTP AUTH off for the mailbox, a scope missing): exit 77"
check "a fresh token refused: advice on SMTP AUTH and the scope" \
    grep -q 'what to do: .*SMTP AUTH.*scope' "$ERR"

# ---- the provider fails -------------------------------------------------------------
# fail NAME FAULT_JSON: a provider whose refresh fails so; the grant's first
# token ends at once, so the send must refresh.
fail() {
    start_provider "$1" "$PKI" "{\"first_expires_in\": 1, \"faults\": [$2]}"
    smtp "smtp-$1"
    config "${@:3}"
    rm -f "$STATE"/oauth2-*
    authorize
    before=$(stored refresh_token)
    send "$1"
}
kept() { test "$(stored refresh_token)" = "$before"; }

fail http503 '{"grant": "refresh_token", "status": 503, "body": "<html>busy</html>"}'
is "$RC" 75 "the token endpoint answers HTTP 503: exit 75 (temporary)"
check "HTTP 503: the refresh token is kept" kept
check "HTTP 503: nothing sent to the SMTP server" test ! -e "$DIR/session-1.log"

fail busy '{"grant": "refresh_token", "status": 400, "body": {"error": "temporarily_unavailable"}}'
is "$RC" 75 "temporarily_unavailable: exit 75"
check "temporarily_unavailable: the refresh token is kept" kept

fail garbage '{"grant": "refresh_token", "status": 200, "body": "<html>a captive portal</html>"}'
is "$RC" 75 "a reply that is not JSON (a portal in the way): exit 75"

fail revoked2 '{"grant": "refresh_token", "status": 400, "body": {"error": "invalid_grant", "error_description": "AADSTS70008: The refresh token has expired"}}'
is "$RC" 77 "invalid_grant: exit 77"
check "invalid_grant: the provider's words and outpost --authorize -a default" \
    sh -c "grep -q 'AADSTS70008' '$ERR' && grep -q 'outpost --authorize -a default' '$ERR'"
check "invalid_grant: the stored refresh token is kept, not thrown away" kept
check "invalid_grant: the refusal is recorded in the grant" grep -q '^refused invalid_grant ' "$(grant_file)"

fail client '{"grant": "refresh_token", "status": 401, "body": {"error": "invalid_client"}}'
is "$RC" 78 "invalid_client: exit 78 (the configuration)"

fail down '{"grant": "refresh_token", "status": 200, "delay": 0}'
kill "$PROVIDER_PID"
wait "$PROVIDER_PID" 2>/dev/null
send down
is "$RC" 75 "the provider unreachable: exit 75"

# With the queue on, every failure above keeps the message: the temporary
# ones until the provider is back, invalid_grant until --authorize.
fail qgrant '{"grant": "refresh_token", "status": 400, "body": {"error": "invalid_grant"}, "times": 2}' \
    "queue on" "queue_dir $Q"
is "$RC" 0 "invalid_grant, queue on: exit 0 (queued)"
check "invalid_grant, queue on: it says queued, and that --authorize is needed" \
    sh -c "grep -q 'queued as' '$ERR' && grep -q 'outpost --authorize -a default' '$ERR'"
is "$(queue_ids "$Q" | wc -l)" 1 "invalid_grant, queue on: one entry"
run_outpost -q
is "$(queue_ids "$Q" | wc -l)" 1 "-q while the grant is refused: the entry waits (not failed)"
check "-q while refused: nothing in failed/" sh -c "! ls '$Q/failed/' 2>/dev/null | grep -q ."
authorize
run_outpost -q
is "$RC" 0 "-q after --authorize: exit 0"
is "$(queue_ids "$Q" | wc -l)" 0 "-q after --authorize: the queue is empty"
is "$(delivered)" 1 "-q after --authorize: the message delivered"

# The provider, on the same address, with a certificate of another CA.
start_provider untrusted "$PKI" '{"first_expires_in": 1}'
smtp smtp-untrusted
config
rm -f "$STATE"/oauth2-*
authorize
before=$(stored refresh_token)
kill "$PROVIDER_PID"
wait "$PROVIDER_PID" 2>/dev/null
PROVIDER_AT=$PROVIDER_PORT start_provider untrusted-cert "$PKI" '{}' untrusted
send untrusted
is "$RC" 69 "the provider's certificate is not trusted: exit 69 (TLS)"
check "an untrusted provider: said, naming the endpoint" grep -q "$PROVIDER_URL/token: the server's certificate was not verified" "$ERR"
check "an untrusted provider: the grant is kept" kept

# ---- --device -------------------------------------------------------------------------
start_provider device "$PKI" '{"faults": [{"grant": "device_code", "status": 400, "body": {"error": "slow_down"}, "after": 1}]}'
smtp smtp-device
config
rm -f "$STATE"/oauth2-*
"$OUTPOST" --authorize --device </dev/null >"$T/device.out" 2>&1 &
dev=$!
for i in $(seq 1 100); do grep -q '^  [0-9A-F]\{8\}$' "$T/device.out" && break; sleep 0.1; done
code=$(grep '^  [0-9A-F]\{8\}$' "$T/device.out" | tr -d ' ')
check "--device: prints the address and the code" \
    sh -c "grep -q '$PROVIDER_URL/approve' '$T/device.out' && test -n '$code'"
sleep 2.5 # (a poll pending, then one told to slow down)
"$TEST_PYTHON" -c 'import ssl, sys, urllib.request
urllib.request.urlopen(sys.argv[1], context=ssl.create_default_context(cafile=sys.argv[2])).read()' \
    "$PROVIDER_URL/approve?user_code=$code" "$PKI/ca.pem"
wait "$dev"
is "$?" 0 "--device: exit 0 once the code was entered"
check "--device: authorization_pending, then slow_down, then the token" \
    sh -c "grep -q 'authorization_pending' '$PDIR/requests.log' && grep -q 'fault' '$PDIR/requests.log' && grep -qx '/token device_code -> issued' '$PDIR/requests.log'"
check "--device: it says the account is authorized" grep -q "account 'default' is authorized" "$T/device.out"
send device
is "$RC" 0 "after --device: delivered"

# ---- --authorize: the browser's ways -------------------------------------------------------
start_provider ways "$PKI"
smtp smtp-ways
config
rm -f "$STATE"/oauth2-* "$T/browser.log"
OUTPOST_TEST_BROWSER=wrongstate authorize
is "$RC" 0 "a redirect with another state is turned away, the right one taken: exit 0"
check "the wrong state got 400, the right one 200" \
    sh -c "grep -q '^wrong state: 400' '$T/browser.log' && grep -q '^redirect: 200' '$T/browser.log'"
rm -f "$T/browser.log"
OUTPOST_TEST_BROWSER=favicon authorize
is "$RC" 0 "a favicon request before the redirect: exit 0"
check "the favicon got 404" grep -q '^favicon: 404' "$T/browser.log"

start_provider deny "$PKI" '{"deny": true}'
config
rm -f "$STATE"/oauth2-*
authorize
is "$RC" 77 "the user says no: exit 77"
check "the user says no: the provider's words" grep -q 'access_denied: The user said no' "$ERR"
check "the user says no: no grant stored" test -z "$(grant_file)"

# A pasted address (an SSH session: the browser elsewhere).
start_provider paste "$PKI"
config
rm -f "$STATE"/oauth2-* "$T/browser.log"
OUTPOST_TEST_BROWSER=print "$TEST_PYTHON" "$srcdir/tests/tools/pastetty.py" "$T/paste.out" \
    "paste that address here" "$T/browser.log" "$OUTPOST" --authorize
is "$?" 0 "--authorize with the redirect address pasted on the terminal: exit 0"
check "pasted: authorized" grep -q "account 'default' is authorized" "$T/paste.out"
check "pasted: the browser never reached the listener" lacks '^redirect: ' "$T/browser.log"

# ---- --check, --forget-password, settings ----------------------------------------------------
start_provider checked "$PKI"
smtp smtp-check
config
rm -f "$STATE"/oauth2-*
authorize
run_outpost --check
is "$RC" 0 "--check with a grant: exit 0"
check "--check: a real refresh" test "$(refreshes)" -eq 1
check "--check: the token step says where the grant is, its scopes and how long it is good for" \
    grep -qE '^  token +ok .*a new access token from the provider; grant in the file .*; scopes: .*access token good for [0-9]+ more minutes' "$OUT"
check "--check: a real AUTH with it" grep -qE '^  auth +ok +XOAUTH2 as .joe@example.com. accepted; password from OAuth 2.0' "$OUT"
run_outpost --forget-password
is "$RC" 0 "--forget-password: exit 0"
check "--forget-password: says the grant was removed" grep -q 'OAuth 2.0 grant of account .default. .joe@example.com. was removed' "$OUT"
check "--forget-password: the file is gone" test -z "$(grant_file)"
run_outpost --forget-password
is "$RC" 78 "--forget-password again: exit 78, nothing to forget"
run_outpost --check
is "$RC" 77 "--check without a grant: exit 77"
check "--check without a grant: the token step fails, naming --authorize" \
    grep -qE '^  token +FAIL .*outpost --authorize -a default' "$OUT"

write_config "$HOME/.outpostrc" "account default" "host localhost" "auth plain" "user u" \
    "oauth2_provider microsoft" "oauth2_client_id x"
run_outpost --pretend a@b.example
is "$RC" 78 "oauth2_provider with auth plain: exit 78"
check "...says it needs auth xoauth2 or oauthbearer" said "oauth2_provider needs 'auth xoauth2' or 'auth oauthbearer'"
write_config "$HOME/.outpostrc" "account default" "host localhost" "auth xoauth2" "user u" \
    "oauth2_provider google"
run_outpost --pretend a@b.example
is "$RC" 78 "oauth2_provider without a client id: exit 78"
check "...points at registering one" said "oauth2_provider needs oauth2_client_id"
write_config "$HOME/.outpostrc" "account default" "host localhost" "auth xoauth2" "user u" \
    "oauth2_provider microsoft" "oauth2_client_id x" "oauth2_token_url http://login.example/token"
run_outpost --pretend a@b.example
is "$RC" 78 "an http:// token URL: refused (exit 78)"
write_config "$HOME/.outpostrc" "account default" "host localhost" "auth xoauth2" "user u" \
    "oauth2_provider microsoft" "oauth2_client_id x" "oauth2_tenant a/../b"
run_outpost --authorize
is "$RC" 78 "a tenant that is not a tenant: refused (exit 78)"
write_config "$HOME/.outpostrc" "account default" "host localhost" "auth plain" "user u"
run_outpost --authorize
is "$RC" 78 "--authorize for an account without oauth2_provider: exit 78"
check "...says what to set" said "has no oauth2_provider"

done_testing
