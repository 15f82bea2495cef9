#!/bin/bash
# The keyring, for real: a private D-Bus session with gnome-keyring's
# Secret Service. Entries stored the msmtp way (secret-tool, with host /
# service / user) are found; --store-password and --forget-password round
# trip; password_from takes the incoming server's entry.
for tool in dbus-run-session gnome-keyring-daemon secret-tool certtool; do
    if ! command -v "$tool" >/dev/null; then
        echo "1..0 # SKIP $tool is not installed"
        exit 0
    fi
done
# Run the whole script inside a D-Bus session of its own.
if [ -z "${OUTPOST_KEYRING_SESSION:-}" ]; then
    OUTPOST_KEYRING_SESSION=1 exec dbus-run-session -- bash "$0" "$@" 2>/dev/null
fi
. "$srcdir/tests/lib.sh"
"$OUTPOST" --version | grep -q '^Keyring support: libsecret' || skip_all "built without libsecret"

printf 'keyring-unlock' | gnome-keyring-daemon --foreground --unlock --components=secrets \
    >"$T/keyring.out" 2>&1 &
KEYRING_PID=$!
stop_keyring() { kill "$KEYRING_PID" 2>/dev/null; wait "$KEYRING_PID" 2>/dev/null; }
at_exit stop_keyring
for _ in $(seq 1 100); do
    grep -q GNOME_KEYRING_CONTROL "$T/keyring.out" && break
    sleep 0.05
done
grep -q GNOME_KEYRING_CONTROL "$T/keyring.out" || skip_all "gnome-keyring did not start"

PKI="$T/pki"
sh "$srcdir/tests/tools/mkcerts.sh" "$PKI"
USER_NAME=joe@example.com
PASSWORD=keyring-pass-$$
start_server keyring "{\"tls\": {\"mode\": \"starttls\", \"cert\": \"$PKI/server.pem\", \"key\": \"$PKI/key.pem\"}, \"auth\": {\"user\": \"$USER_NAME\", \"password\": \"$PASSWORD\", \"mechanisms\": [\"PLAIN\"]}}"
config() {
    write_config "$HOME/.outpostrc" "account default" "host localhost" "port $PORT" \
        "from sender@example.com" "tls on" "tls_trust_file $PKI/ca.pem" "auth on" \
        "user $USER_NAME" "$@"
}
printf 'Subject: keyring\n\nbody\n' >"$T/msg"
# setsid: no terminal, so a missing password cannot be asked for
send() { setsid -w "$OUTPOST" -oi rcpt@example.org <"$T/msg" >"$OUT" 2>"$ERR"; RC=$?; }
lookup() { secret-tool lookup host localhost service "${1:-smtp}" user "$USER_NAME"; }

config
printf '%s' "$PASSWORD" | secret-tool store --label=msmtp host localhost service smtp user "$USER_NAME"
send
is "$RC" 0 "a password stored the msmtp way (secret-tool ... service smtp) is used"
[ "$RC" -eq 0 ] || diag "$ERR"

run_outpost --forget-password
is "$RC" 0 "--forget-password"
check "--forget-password: the entry is gone" sh -c '! secret-tool lookup host localhost service smtp user "$0" >/dev/null 2>&1' "$USER_NAME"
send
is "$RC" 78 "without the entry (and no terminal): exit 78"
run_outpost --forget-password
is "$RC" 78 "--forget-password when there is nothing: exit 78"

run_outpost --store-password --password-stdin <<<"$PASSWORD"
is "$RC" 0 "--store-password --password-stdin"
is "$(lookup)" "$PASSWORD" "--store-password: secret-tool finds it under host/service/user (so msmtp would)"
send
is "$RC" 0 "the stored password is used"

# "Use same settings as my incoming mail server": the IMAP entry.
run_outpost --forget-password
printf '%s' "$PASSWORD" | secret-tool store --label=imap host localhost service imap user "$USER_NAME"
config "password_from imap"
send
is "$RC" 0 "password_from imap: the incoming server's entry serves for sending"
config
send
is "$RC" 78 "without password_from, the imap entry is not used"

# The config's own password wins over the keyring (msmtp's order).
printf '%s' wrong-one | secret-tool store --label=msmtp host localhost service smtp user "$USER_NAME"
config "password $PASSWORD"
send
is "$RC" 0 "'password' in the configuration comes before the keyring"

# ---- an OAuth 2.0 grant in the keyring -----------------------------------------
if "$OUTPOST" --version | grep -q '^OAuth 2.0: HTTP with'; then
    export XDG_STATE_HOME="$T/state"
    start_provider provider "$PKI" '{"first_expires_in": 1}'
    start_server oauth "{\"tls\": {\"mode\": \"starttls\", \"cert\": \"$PKI/server.pem\", \"key\": \"$PKI/key.pem\"}, \"auth\": {\"user\": \"$USER_NAME\", \"password\": \"-\", \"mechanisms\": [\"XOAUTH2\"], \"token_file\": \"$PDIR/tokens\"}}"
    config "auth xoauth2" "oauth2_provider custom" "oauth2_client_id outpost-test" \
        "oauth2_auth_url $PROVIDER_URL/authorize" "oauth2_token_url $PROVIDER_URL/token" \
        "oauth2_device_url $PROVIDER_URL/device"
    "$OUTPOST" --authorize --device </dev/null >"$T/device.out" 2>&1 &
    dev=$!
    for i in $(seq 1 100); do grep -q '^  [0-9A-F]\{8\}$' "$T/device.out" && break; sleep 0.1; done
    "$TEST_PYTHON" -c 'import ssl, sys, urllib.request
urllib.request.urlopen(sys.argv[1], context=ssl.create_default_context(cafile=sys.argv[2])).read()' \
        "$PROVIDER_URL/approve?user_code=$(grep '^  [0-9A-F]\{8\}$' "$T/device.out" | tr -d ' ')" "$PKI/ca.pem"
    wait "$dev"
    is "$?" 0 "OAuth 2.0, a keyring here: --authorize --device"
    check "--authorize: the grant is kept in the keyring" grep -q 'the grant is kept in the keyring' "$T/device.out"
    check "...and not in a file" sh -c "! ls '$XDG_STATE_HOME/outpost/' 2>/dev/null | grep -v lock | grep -q oauth2"
    grant=$(secret-tool lookup token_url "$PROVIDER_URL/token" client_id outpost-test user "$USER_NAME")
    check "secret-tool finds it by token_url, client_id and user" \
        sh -c "printf '%s' \"\$0\" | grep -q '^refresh_token '" "$grant"
    send
    is "$RC" 0 "OAuth 2.0 from the keyring: refreshed and delivered"
    [ "$RC" -eq 0 ] || diag "$ERR"
    grant=$(secret-tool lookup token_url "$PROVIDER_URL/token" client_id outpost-test user "$USER_NAME")
    check "the rotated refresh token replaced the old one in the keyring" \
        grep -qxF "$(printf '%s\n' "$grant" | sed -n 's/^refresh_token //p')" "$PDIR/refresh"
    run_outpost --forget-password
    is "$RC" 0 "--forget-password of an OAuth 2.0 account"
    check "...the keyring entry is gone" \
        sh -c "! secret-tool lookup token_url '$PROVIDER_URL/token' client_id outpost-test user '$USER_NAME' >/dev/null 2>&1"
fi

done_testing
