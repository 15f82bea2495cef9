#!/bin/bash
# OAuth 2.0 against a real server that checks tokens: Dovecot 2.3's oauth2
# passdb behind Postfix, asking the scripted provider's introspection
# endpoint (RFC 7662) whether each token is good. outpost authorizes
# (PKCE, the loopback redirect), then sends with XOAUTH2 on 587 (STARTTLS)
# and OAUTHBEARER on 465; an access token the provider revoked early is
# refreshed and the message still goes; 8 KB tokens go through Postfix's
# command line limit; a token for another user is refused by Dovecot.
. "$srcdir/tests/lib.sh"
. "$srcdir/tests/interop/mta.sh"
. "$srcdir/tests/interop/common.sh"
need_mta
"$OUTPOST" --version | grep -q '^OAuth 2.0: HTTP with' || skip_all "built without OAuth 2.0"

PKI="$T/pki"
sh "$srcdir/tests/tools/mkcerts.sh" "$PKI" >/dev/null 2>&1 || skip_all "could not make test certificates"
chmod 755 "$PKI"
chmod 644 "$PKI"/*.pem
export XDG_STATE_HOME="$T/state"
STATE="$XDG_STATE_HOME/outpost"

# The provider first: Dovecot is told where to ask.
start_provider provider "$PKI" '{"user": "outpost"}'
cat >"$T/dovecot-oauth2.conf.ext" <<CONF
introspection_mode = post
introspection_url = $PROVIDER_URL/introspect
username_attribute = username
active_attribute = active
active_value = true
tls_ca_cert_file = $PKI/ca.pem
CONF
chmod 644 "$T/dovecot-oauth2.conf.ext"
MTA_AUTH_MECHANISMS="plain login xoauth2 oauthbearer"
MTA_DOVECOT_EXTRA="passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = $T/dovecot-oauth2.conf.ext
}"
start_mta "$PKI"

# The browser of --authorize.
mkdir -p "$T/bin"
printf '#!/bin/sh\nexec %s %s "$@"\n' "$TEST_PYTHON" "$srcdir/tests/tools/browser.py" >"$T/bin/xdg-open"
chmod +x "$T/bin/xdg-open"
export PATH="$T/bin:$PATH" DISPLAY=:99 OUTPOST_TEST_CA="$PKI/ca.pem" OUTPOST_TEST_BROWSER_LOG="$T/browser.log"

make_interop_message
account() { # account NAME PORT STARTTLS MECH
    printf 'account %s\nhost localhost\nport %s\nfrom sender@example.com\ntimeout 20\n' "$1" "$2"
    printf 'tls on\ntls_starttls %s\ntls_trust_file %s\n' "$3" "$PKI/ca.pem"
    printf 'auth %s\nuser %s\noauth2_provider custom\noauth2_client_id outpost-test\n' "$4" \
        "${OAUTH_USER:-$MTA_USER}"
    printf 'oauth2_auth_url %s/authorize\noauth2_token_url %s/token\n' "$PROVIDER_URL" "$PROVIDER_URL"
    printf 'oauth2_token_store file\n\n'
}
{
    account submission "$SUBMISSION_PORT" on xoauth2
    account smtps "$SMTPS_PORT" off oauthbearer
    printf 'account default : submission\n'
} >"$HOME/.outpostrc"
chmod 600 "$HOME/.outpostrc"

run_outpost --authorize -a submission </dev/null
is "$RC" 0 "--authorize against the scripted provider: exit 0"
[ "$RC" -eq 0 ] || diag "$OUT" "$ERR" "$T/browser.log"

for acct in submission smtps; do
    run_outpost -a "$acct" -oi rcpt@example.test <"$T/msg"
    is "$RC" 0 "Postfix + Dovecot oauth2, $acct: accepted"
    [ "$RC" -eq 0 ] || diag "$ERR"
done
check "both delivered" wait_for_mail 2
check "587 (XOAUTH2): the delivered message is byte for byte what was sent" \
    delivered_as_sent "$(mailbox_files | sed -n 1p)"
check "465 (OAUTHBEARER): the delivered message is byte for byte what was sent" \
    delivered_as_sent "$(mailbox_files | sed -n 2p)"
check "Postfix logged sasl_method=XOAUTH2 for the user" \
    grep -q "sasl_method=XOAUTH2, sasl_username=$MTA_USER" "$T/postfix/maillog"
check "Postfix logged sasl_method=OAUTHBEARER for the user" \
    grep -q "sasl_method=OAUTHBEARER, sasl_username=$MTA_USER" "$T/postfix/maillog"
check "Dovecot asked the provider about the tokens" grep -q '^/introspect -> active' "$PDIR/requests.log"

# The provider revokes the access token early: Dovecot refuses it, outpost
# refreshes once and sends.
"$TEST_PYTHON" -c 'import ssl, sys, urllib.request
urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=b""), context=ssl.create_default_context(cafile=sys.argv[2])).read()' \
    "$PROVIDER_URL/revoke" "$PKI/ca.pem"
run_outpost -oi rcpt@example.test <"$T/msg"
is "$RC" 0 "a token revoked early: Dovecot refuses it, outpost refreshes once, the message goes"
[ "$RC" -eq 0 ] || diag "$ERR"
check "...with one refresh" test "$(grep -c '^/token refresh_token -> issued' "$PDIR/requests.log")" -eq 1
check "...delivered" wait_for_mail 3

# 8 KB tokens, through Postfix's 2048-byte command lines.
# (the provider again on the same address, which Dovecot asks: a new grant)
restart_provider() { # restart_provider NAME SCRIPT
    kill "$PROVIDER_PID"
    wait "$PROVIDER_PID" 2>/dev/null
    PROVIDER_AT=$PROVIDER_PORT start_provider "$1" "$PKI" "$2"
}
restart_provider long '{"user": "outpost", "token_size": 8192}'
run_outpost --authorize -a submission </dev/null
is "$RC" 0 "--authorize with 8 KB tokens: exit 0"
for acct in submission smtps; do
    run_outpost -a "$acct" -oi rcpt@example.test <"$T/msg"
    is "$RC" 0 "an 8 KB token through Postfix + Dovecot, $acct: accepted"
    [ "$RC" -eq 0 ] || diag "$ERR"
done
check "8 KB tokens: delivered" wait_for_mail 5

# A grant for someone else: the token is good, but not for this mailbox.
restart_provider other '{"user": "someone-else"}'
run_outpost --authorize -a submission </dev/null
delivered=$(mailbox_files | wc -l)
run_outpost -oi rcpt@example.test <"$T/msg"
is "$RC" 77 "a fresh token Dovecot refuses (another user's): exit 77"
check "...Postfix's words and the advice on SMTP AUTH and the scope" \
    sh -c "grep -q '535' '$ERR' && grep -q 'what to do: the server refused a fresh OAuth 2.0 token' '$ERR'"
check "...nothing more delivered" test "$(mailbox_files | wc -l)" -eq "$delivered"
check "no token in anything outpost printed" \
    sh -c "! grep -rqF -f '$PDIR/tokens' '$OUT' '$ERR'"

done_testing
