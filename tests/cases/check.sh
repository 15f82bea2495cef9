#!/bin/bash
# outpost --check: every endpoint of the plan probed against the scripted
# server, with a verdict per step, the exit code, and --json.
. "$srcdir/tests/lib.sh"

command -v certtool >/dev/null || skip_all "certtool (gnutls-bin) is not installed"
PKI="$T/pki"
sh "$srcdir/tests/tools/mkcerts.sh" "$PKI" || skip_all "could not make test certificates"

USER_NAME=u@example.com
PASSWORD=pw-$RANDOM-secret
AUTH="\"auth\": {\"user\": \"$USER_NAME\", \"password\": \"$PASSWORD\", \"mechanisms\": [\"PLAIN\", \"LOGIN\"]}"
tls_script() { # tls_script MODE CERT: the server's TLS, and AUTH
    echo "{\"tls\": {\"mode\": \"$1\", \"cert\": \"$PKI/$2.pem\", \"key\": \"$PKI/key.pem\"}, $AUTH}"
}
config() { # config PORTS [LINE...]: the default account, over TLS with AUTH
    local ports=$1
    shift
    write_config "$HOME/.outpostrc" "account default" "host localhost" "port $ports" \
        "from sender@example.com" "timeout 2" "tls on" "tls_trust_file $PKI/ca.pem" "auth on" \
        "user $USER_NAME" "password $PASSWORD" "$@"
}
# line STEP VERDICT TEXT: stdout has the step's line with that verdict and text
line() { grep -E -q "^  $1 +$2 +.*$3" "$OUT" || { diag "$OUT"; false; }; }
no_password() { lacks "$PASSWORD" "$OUT" "$ERR"; }

# ---- everything works --------------------------------------------------------
start_server good "$(tls_script starttls server)"
GOOD=$PORT
config "$GOOD"
run_outpost --check
is "$RC" 0 "a working account: exit 0"
check "dns: the address" line dns ok "127\\.0\\.0\\.1"
check "connect: ok, with the time taken" line connect ok "connected \\([0-9]+ ms\\)"
check "greeting: the server's words" line greeting ok "220 outpost-test ESMTP ready"
check "capabilities before TLS: STARTTLS offered" line ehlo ok "STARTTLS"
check "tls: protocol and cipher" line tls ok "TLS1\\.[23], [A-Z0-9-]+"
check "certificate: trusted for the host, issuer, days left" \
    line certificate ok "trusted, and valid for localhost; issued by CN=outpost test CA; expires .* \\(in 36[45] days\\)"
check "capabilities after TLS: AUTH" line capabilities ok "AUTH PLAIN LOGIN"
check "auth: the mechanism, the user and where the password came from" \
    line auth ok "PLAIN as 'u@example.com' accepted; password from the configuration"
check "rset: the server's reply" line rset ok "250"
check "summary: the endpoint the next message would use" \
    grep -qx "summary: account 'default' can send: the next message would go to localhost port $GOOD (STARTTLS)" "$OUT"
check "the password is shown nowhere" no_password
probe_only() { settled && grep -q "^C: RSET" "$1" && grep -q "^C: QUIT" "$1" && lacks "^C: MAIL" "$1"; }
check "the server saw AUTH, RSET and QUIT, and no MAIL" probe_only "$DIR/session-1.log"
check "no message was delivered" sh -c '! ls "$0"/msg-* 2>/dev/null' "$DIR"

# ---- --json ------------------------------------------------------------------
run_outpost --check --json
is "$RC" 0 "--json: exit 0"
check "--json: one JSON object with every step, parsed by Python" \
    "$TEST_PYTHON" - "$OUT" "$GOOD" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
a = d["accounts"][0]
e = a["endpoints"][0]
steps = [s["step"] for s in e["steps"]]
assert steps == ["dns", "connect", "greeting", "ehlo", "starttls", "tls", "certificate",
                 "capabilities", "auth", "rset"], steps
by = {s["step"]: s for s in e["steps"]}
assert all(s["verdict"] == "ok" for s in e["steps"]), e["steps"]
assert by["dns"]["addresses"] == ["127.0.0.1"], by["dns"]
assert by["tls"]["protocol"].startswith("TLS1."), by["tls"]
assert 360 <= by["certificate"]["days_left"] <= 366, by["certificate"]
assert by["certificate"]["issuer"] == "CN=outpost test CA", by["certificate"]
assert by["auth"]["mechanism"] == "PLAIN" and by["auth"]["user"] == "u@example.com"
assert by["auth"]["password_source"].startswith("the configuration"), by["auth"]
assert "AUTH PLAIN LOGIN" in by["capabilities"]["capabilities"], by["capabilities"]
assert isinstance(by["connect"]["ms"], int)
assert d["ok"] is True and a["ok"] is True and e["ok"] is True
assert a["next"] == {"account": "default", "host": "localhost", "port": int(sys.argv[2]),
                     "tls": "STARTTLS"}, a["next"]
PY
check "--json: the password is shown nowhere" no_password

# ---- a refused port before a working one ------------------------------------
closed_port >"$T/closed"
CLOSED=$(cat "$T/closed")
config "$CLOSED $GOOD"
run_outpost --check
is "$RC" 0 "a refused port, then a working one: exit 0 (one endpoint can deliver)"
check "refused: the connect line says so" line connect FAIL "Connection refused"
check "refused: what to do" grep -q "what to do: nothing listens there" "$OUT"
check "refused: a note that another port of the host answers" \
    grep -qx "note: localhost: port $CLOSED could not be reached, but port $GOOD could, so the server is there: list $GOOD first in 'port'" "$OUT"
check "refused: the next message goes to the working port" \
    grep -q "can send: the next message would go to localhost port $GOOD " "$OUT"
run_outpost --check --json
check "--json: the refused endpoint fails at connect, the other is next" \
    "$TEST_PYTHON" -c 'import json, sys
d = json.load(open(sys.argv[1])); a = d["accounts"][0]
bad, good = a["endpoints"]
assert not bad["ok"] and bad["steps"][-1]["step"] == "connect" and bad["steps"][-1]["verdict"] == "fail"
assert "nothing listens there" in bad["steps"][-1]["fix"]
assert good["ok"] and a["next"]["port"] == int(sys.argv[2]) and d["ok"]
assert len(a["notes"]) == 1' "$OUT" "$GOOD"

# ---- no answer at all ----------------------------------------------------------
if ! silent_port >"$T/silent.port"; then
    echo "ok $((TAP_N += 1)) # SKIP this kernel still answers SYNs on a full accept queue"
    echo "ok $((TAP_N += 1)) # SKIP"
    echo "ok $((TAP_N += 1)) # SKIP"
else
    write_config "$HOME/.outpostrc" "account default" "host 127.0.0.1" \
        "port $(cat "$T/silent.port")" "from sender@example.com" "timeout 1"
    start=$(now)
    run_outpost --check
    is "$RC" 75 "a port that never answers: exit 75"
    check "no answer: the connect line, and that the network may block the port" \
        sh -c 'grep -Eq "^  connect +FAIL .*no answer within 1 s" "$0" &&
               grep -q "what to do: nothing answered: this network may block the port" "$0"' "$OUT"
    ms=$(elapsed_ms "$start" "$(now)")
    check "no answer: given up after the timeout (1 s)" test "$ms" -lt 5000
    echo "# took $ms ms"
fi

# ---- certificates ----------------------------------------------------------------
start_server untrusted "$(tls_script starttls untrusted)"
config "$PORT"
run_outpost --check
is "$RC" 69 "a certificate from an unknown CA: exit 69"
check "bad certificate: the tls line says why, and what to do" \
    line tls FAIL "not trusted: it is issued by an unknown authority \\(CN=some other CA\\)"
check "bad certificate: no AUTH was tried" lacks "^C: AUTH" "$DIR"/session-*.log
check "bad certificate: the summary says it cannot send" grep -q "^summary: account 'default' cannot send" "$OUT"

start_server wronghost "$(tls_script implicit wronghost)"
config "$PORT" "tls_starttls off"
run_outpost --check
is "$RC" 69 "a certificate for another name (implicit TLS): exit 69"
check "wrong name: the tls line names the certificate's names" \
    line tls FAIL "it is for wrong.example, mail.wrong.example, not for localhost"

start_server expiring "$(tls_script implicit expiring)"
config "$PORT" "tls_starttls off"
run_outpost --check
is "$RC" 0 "a certificate that expires in 5 days: still exit 0 (it works today)"
check "expiring: a warning with the days left" line certificate warn "\\(in [45] days\\)"
check "expiring: what to do" grep -q "what to do: the certificate expires soon" "$OUT"
check "expiring: implicit TLS comes before the greeting" \
    sh -c 'grep -n "^  tls " "$0" | cut -d: -f1 > "$0.a"; grep -n "^  greeting " "$0" | cut -d: -f1 > "$0.b"; [ "$(cat "$0.a")" -lt "$(cat "$0.b")" ]' "$OUT"
run_outpost --check --json
check "expiring: --json has days_left and the warning" \
    "$TEST_PYTHON" -c 'import json, sys
d = json.load(open(sys.argv[1])); s = {x["step"]: x for x in d["accounts"][0]["endpoints"][0]["steps"]}
assert s["certificate"]["verdict"] == "warn" and s["certificate"]["days_left"] in (4, 5), s["certificate"]
assert d["ok"] is True' "$OUT"

# ---- passwords ---------------------------------------------------------------------
start_server good2 "$(tls_script starttls server)"
config "$GOOD $PORT"
sed -i "s/^password .*/password wrong-$PASSWORD/" "$HOME/.outpostrc"
run_outpost --check
is "$RC" 77 "a wrong password: exit 77"
not_retried() { grep -Eq "^  auth +info +not tried: the server refused" "$OUT" && lacks "^C: AUTH" "$DIR"/session-*.log; }
check "wrong password: not tried again on the second endpoint (it could lock the account)" not_retried
check "wrong password: the server's words, the source of the password" \
    line auth FAIL "PLAIN as user 'u@example.com', password from the configuration \\('password'\\)\\) \\(server said: 535"
check "wrong password: what to do" grep -q "what to do: the server does not accept this user name and password" "$OUT"
check "wrong password: it is shown nowhere" lacks "wrong-$PASSWORD" "$OUT" "$ERR"
config "$GOOD" "passwordeval echo $PASSWORD"
sed -i '/^password /d' "$HOME/.outpostrc"
run_outpost --check
is "$RC" 0 "a password from passwordeval: exit 0"
check "passwordeval: named as the source" line auth ok "password from passwordeval"

# ---- --all, fallback accounts, and accounts that are the same -----------------------
{
    printf 'account work\nhost localhost\nport %s\nfrom sender@example.com\ntimeout 2\n' "$GOOD"
    printf 'tls on\ntls_trust_file %s\nauth on\nuser %s\npassword %s\n' "$PKI/ca.pem" "$USER_NAME" "$PASSWORD"
    printf 'fallback_account spare\n\n'
    printf 'account spare : work\nport %s\nfallback_account\n\n' "$CLOSED"
    printf 'account default : work\n'
} >"$HOME/.outpostrc"
chmod 600 "$HOME/.outpostrc"
run_outpost --check --all
is "$RC" 75 "--all with one account that cannot send: its exit code (75)"
check "--all: the fallback account's endpoint is in work's plan" \
    grep -q "^localhost port $CLOSED, STARTTLS (account 'spare')" "$OUT"
check "--all: work can send" grep -q "^summary: account 'work' can send" "$OUT"
check "--all: spare cannot" grep -q "^summary: account 'spare' cannot send" "$OUT"
check "--all: default is work again, not probed twice" \
    grep -qx "account 'default': the same server, user and settings as account 'work' (above): not probed again" "$OUT"
run_outpost --check -a work
is "$RC" 0 "-a work alone: exit 0"

# An LMTP account whose TLS name differs from work's is not "the same": every
# setting that affects a session counts (account.c's table), not a list.
{
    printf 'account work\nhost localhost\nport %s\nfrom sender@example.com\ntimeout 2\n' "$GOOD"
    printf 'tls on\ntls_trust_file %s\nauth on\nuser %s\npassword %s\n\n' "$PKI/ca.pem" "$USER_NAME" "$PASSWORD"
    printf 'account lmtp : work\nprotocol lmtp\ntls_host_override mail.example.net\n\n'
    printf 'account tlsname : work\ntls_host_override mail.example.net\n\n'
    printf 'account pop : work\npop_before_smtp localhost:%s\n' "$CLOSED"
} >"$HOME/.outpostrc"
chmod 600 "$HOME/.outpostrc"
run_outpost --check --all
probed_apart() { lacks "account '$1': the same server" "$OUT" && grep -q "^summary: account '$1' cannot send" "$OUT"; }
check "--all: an account with another TLS name is probed, not taken for work" probed_apart tlsname
check "--all: an LMTP account with another TLS name is probed too" probed_apart lmtp
check "--all: work itself can still send" \
    grep -q "^summary: account 'work' can send" "$OUT"

# POP-before-SMTP is a state of the one session machine: --check goes through
# it like a send does, and a dead POP server means the account cannot send.
run_outpost --check -a pop
is "$RC" 75 "--check with pop_before_smtp at a dead port: exit 75, as a send"
check "--check: the pop step fails, first" grep -Eq "^  pop +FAIL .*Connection refused" "$OUT"
check "--check: nothing was tried after it" lacks -E '^  (connect|greeting) ' "$OUT"
check "--check: the account cannot send" grep -q "^summary: account 'pop' cannot send" "$OUT"
run_outpost -a pop -oi rcpt@example.org <<<"Subject: x"
is "$RC" 75 "sending through the same account: exit 75 too"
run_outpost --serverinfo -a pop
is "$RC" 75 "--serverinfo through the same account: exit 75 too"

# ---- usage ----------------------------------------------------------------------------
run_outpost --json
is "$RC" 64 "--json without --check: exit 64"
run_outpost --check rcpt@example.org
is "$RC" 64 "--check with a recipient: exit 64"
run_outpost --check --all -a work
is "$RC" 64 "--check --all with -a: exit 64"
run_outpost --check -a nosuch
is "$RC" 78 "--check of an account that does not exist: exit 78"
check "no such account: said on stdout, with the file" grep -q "account 'nosuch': cannot be used: account 'nosuch' not found" "$OUT"
run_outpost --check --host=127.0.0.1 --port="$CLOSED" --timeout=2
is "$RC" 75 "--check with --host and no configuration file: exit 75 (refused)"
check "--host: the account is said to come from the command line" \
    grep -qx "account '(command line)' (from the command line): 1 endpoint" "$OUT"

done_testing
