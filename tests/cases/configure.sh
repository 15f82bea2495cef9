#!/bin/bash
# outpost --configure ADDRESS [--write]: SRV records (from a stub DNS
# server), the table of providers (by domain and by MX host), and writing
# the block to the user's file. The script runs itself in private network
# and mount namespaces, where /etc/resolv.conf names the stub on
# 127.0.0.1: no query can reach a real name server.
if [ -z "${OUTPOST_TEST_NETNS:-}" ]; then
    if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && command -v ip >/dev/null &&
        unshare -mn true 2>/dev/null; then
        OUTPOST_TEST_NETNS=1 exec unshare -mn bash "$0" "$@"
    fi
    echo "1..0 # SKIP needs root, unshare and ip for a private network namespace"
    exit 0
fi
. "$srcdir/tests/lib.sh"

ip link set lo up || skip_all "cannot bring up loopback in the namespace"
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$T/resolv.conf"
mount --bind "$T/resolv.conf" /etc/resolv.conf || skip_all "cannot mount a private resolv.conf"

cat >"$T/zone.json" <<'EOF'
{
  "_submissions._tcp.example.org": {"SRV": [[0, 1, 465, "mail.example.org"]]},
  "_submission._tcp.example.org": {"SRV": [[0, 1, 587, "mail.example.org"],
                                           [5, 1, 587, "backup.example.org"]]},
  "_submissions._tcp.starttls.example": {"SRV": [[0, 0, 0, "."]]},
  "_submission._tcp.starttls.example": {"SRV": [[0, 1, 587, "smtp.starttls.example"]]},
  "_submissions._tcp.odd.example": {"SRV": [[0, 1, 4465, "smtp.odd.example"]]},
  "_submission._tcp.odd.example": {"SRV": [[0, 1, 587, "smtp.odd.example"]]},
  "corp.example": {"MX": [[5, "aspmx.l.google.com"], [10, "alt1.aspmx.l.google.com"]]},
  "m365.example": {"MX": [[0, "m365-example.mail.protection.outlook.com"]]},
  "nowhere.example": {"MX": [[10, "mx.nowhere.example"]]}
}
EOF
"$TEST_PYTHON" "$srcdir/tests/tools/dnsstub.py" "$T/zone.json" --ready "$T/dns.ready" \
    >"$T/dns.log" 2>&1 &
SERVER_PIDS+=($!)
for _ in $(seq 1 100); do [ -e "$T/dns.ready" ] && break; sleep 0.05; done
[ -e "$T/dns.ready" ] || skip_all "the stub DNS server did not start"

has() { grep -qxF -- "$1" "$OUT" || { diag "$OUT"; false; }; }
asked() { grep -qxF -- "QUERY $1" "$T/dns.log" || { diag "$T/dns.log"; false; }; }

# ---- the table, by domain ---------------------------------------------------
run_outpost --configure alice@fastmail.com
is "$RC" 0 "a provider of the table (Fastmail): exit 0"
check "Fastmail: the SRV records were asked first (the stub has none)" \
    eval 'asked "_submissions._tcp.fastmail.com SRV" && asked "_submission._tcp.fastmail.com SRV"'
check "Fastmail: its server" has "host smtp.fastmail.com"
check "Fastmail: implicit TLS first, then STARTTLS" has "port 465 587"
check "Fastmail: TLS, AUTH, user and from" \
    sh -c 'grep -qx "tls on" "$0" && grep -qx "auth on" "$0" && grep -qx "user alice@fastmail.com" "$0" && grep -qx "from alice@fastmail.com" "$0"' "$OUT"
check "Fastmail: where it came from, as a comment" grep -q "^# For alice@fastmail.com, from outpost's table of providers (Fastmail)" "$OUT"
check "Fastmail: the app password comment" grep -q "^# Fastmail does not take the account's login password here" "$OUT"
check "every line is a comment or a configuration command" \
    lacks -vE "^(#.*|account .+|host .+|port [0-9 ]+|tls on|auth .+|user .+|from .+)$" "$OUT"
cp "$OUT" "$T/fastmail.block"
chmod 600 "$T/fastmail.block"
run_outpost -C "$T/fastmail.block" -a alice@fastmail.com --pretend rcpt@example.org
is "$RC" 0 "the block is a configuration outpost reads (--pretend)"
check "--pretend: the plan from the block" grep -q "1. smtp.fastmail.com port 465, implicit TLS" "$OUT"
check "nothing was written without --write" test ! -e "$HOME/.config/outpost/config" -a ! -e "$HOME/.outpostrc"

run_outpost --configure someone@GMAIL.com
check "Gmail (domain in capitals): smtp.gmail.com, app password or OAuth" \
    sh -c 'grep -qx "host smtp.gmail.com" "$0" && grep -q "OAuth 2.0" "$0"' "$OUT"
check "Gmail: the OAuth 2.0 lines, commented (oauth2_provider google)" \
    sh -c 'grep -qx "# oauth2_provider google" "$0" && grep -q "make it .auth xoauth2." "$0"' "$OUT"
run_outpost --configure x@icloud.com
check "iCloud: smtp.mail.me.com port 587" sh -c 'grep -qx "host smtp.mail.me.com" "$0" && grep -qx "port 587" "$0"' "$OUT"
run_outpost --configure x@outlook.com
check "Outlook.com: OAuth (auth xoauth2), oauth2_provider microsoft and a client id to fill in, commented" \
    sh -c 'grep -qx "host smtp-mail.outlook.com" "$0" && grep -qx "auth xoauth2" "$0" && grep -qx "# oauth2_provider microsoft" "$0" && grep -qx "# oauth2_client_id <your client id>" "$0" && grep -q "outpost --authorize -a" "$0"' "$OUT"
run_outpost --configure x@proton.me
check "Proton: Bridge on 127.0.0.1 port 1025, with its certificate" \
    sh -c 'grep -qx "host 127.0.0.1" "$0" && grep -qx "port 1025" "$0" && grep -q "^tls_trust_file " "$0"' "$OUT"
for a in x@yahoo.com x@gmx.net x@gmx.com x@zoho.com x@zoho.eu; do
    run_outpost --configure "$a"
    check "$a: in the table (exit 0, a host)" sh -c '[ "$0" = 0 ] && grep -q "^host " "$1"' "$RC" "$OUT"
done

# ---- SRV records --------------------------------------------------------------
run_outpost --configure bob@example.org
is "$RC" 0 "SRV records: exit 0"
check "SRV: the host of the best record" has "host mail.example.org"
check "SRV: the implicit TLS port (RFC 8314) first, then STARTTLS, of that host" has "port 465 587"
check "SRV: the source, as a comment" grep -q "^# For bob@example.org, from the DNS SRV records of example.org (RFC" "$OUT"
check "SRV: both names were asked" \
    eval 'asked "_submissions._tcp.example.org SRV" && asked "_submission._tcp.example.org SRV"'
check "SRV: no MX question once SRV answered" lacks "QUERY example.org MX" "$T/dns.log"
run_outpost --configure carl@starttls.example
check "SRV: a target of '.' means no implicit TLS service: STARTTLS alone" \
    sh -c 'grep -qx "host smtp.starttls.example" "$0" && grep -qx "port 587" "$0"' "$OUT"
run_outpost --configure dee@odd.example
check "SRV: implicit TLS on a port other than 465: that port, tls_starttls off" \
    sh -c 'grep -qx "port 4465" "$0" && grep -qx "tls_starttls off" "$0"' "$OUT"

# ---- the table, by MX ------------------------------------------------------------
run_outpost --configure eve@corp.example
is "$RC" 0 "a domain whose mail goes to Google: exit 0"
check "MX: Gmail's server, and why" \
    sh -c 'grep -qx "host smtp.gmail.com" "$0" && grep -q "corp.example goes to aspmx.l.google.com" "$0"' "$OUT"
run_outpost --configure fay@m365.example
check "MX: Microsoft 365" sh -c 'grep -qx "host smtp.office365.com" "$0" && grep -qx "auth xoauth2" "$0"' "$OUT"

# ---- nothing known ------------------------------------------------------------------
run_outpost --configure gus@nowhere.example
is "$RC" 68 "a domain neither DNS nor the table knows: exit 68"
check "unknown: one line that says what to ask for" \
    sh -c '[ "$(wc -l <"$0")" -eq 1 ] && grep -q "no SRV records for mail submission .* ask the provider" "$0"' "$ERR"
check "unknown: nothing on stdout" test ! -s "$OUT"
for bad in notanaddress "@example.org" "a@localhost" "a b@example.org" $'a@example.org\naccount x'; do
    run_outpost --configure "$bad"
    is "$RC" 64 "not an address ($(printf %q "$bad")): exit 64"
done
run_outpost --write
is "$RC" 64 "--write without --configure: exit 64"

# ---- --write --------------------------------------------------------------------------
run_outpost --configure alice@fastmail.com --write
is "$RC" 0 "--write into no file: exit 0"
CONF="$HOME/.config/outpost/config"
check "--write: a new file at ~/.config/outpost/config, mode 0600" \
    test "$(stat -c %a "$CONF" 2>/dev/null)" = 600
check "--write: its directory is private" test "$(stat -c %a "$HOME/.config/outpost")" = 700
check "--write: the block, then 'account default' for it" \
    sh -c 'grep -qx "host smtp.fastmail.com" "$0" && tail -1 "$0" | grep -qx "account default : alice@fastmail.com"' "$CONF"
check "--write: says where" said "account 'alice@fastmail.com' added to $CONF, as the default account"
run_outpost --pretend rcpt@example.org
is "$RC" 0 "--write: the file is one outpost reads"
run_outpost --configure bob@example.org --write
is "$RC" 0 "--write a second account: exit 0"
check "--write: appended, the first account kept, still one default" \
    sh -c 'grep -qx "account alice@fastmail.com" "$0" && grep -qx "account bob@example.org" "$0" && [ "$(grep -c "^account default" "$0")" = 1 ]' "$CONF"
cp "$CONF" "$T/before"
run_outpost --configure bob@example.org --write
is "$RC" 78 "--write an account that is there already: exit 78"
check "already there: nothing written" same_bytes "$T/before" "$CONF"

rm -rf "$HOME/.config/outpost"
printf 'account old\nhost smtp.example.net\nfrom old@example.net\n' >"$HOME/.outpostrc"
chmod 644 "$HOME/.outpostrc"
run_outpost --configure carl@starttls.example --write
is "$RC" 0 "--write into an existing ~/.outpostrc: exit 0"
check "it went to ~/.outpostrc (the file outpost reads), made 0600" \
    sh -c 'grep -qx "account carl@starttls.example" "$0" && [ "$(stat -c %a "$0")" = 600 ] && [ ! -e "$1" ]' \
    "$HOME/.outpostrc" "$HOME/.config/outpost/config"
check "it says the file was readable by others" said "was readable by others: it is private (0600) now"
check "the old account is kept" grep -qx "account old" "$HOME/.outpostrc"
printf 'account broken\nno_such_command x\n' >"$T/broken.rc"
chmod 600 "$T/broken.rc"
cp "$T/broken.rc" "$T/broken.before"
run_outpost -C "$T/broken.rc" --configure bob@example.org --write
is "$RC" 78 "--write into a file with an error: exit 78"
check "broken file: nothing written, the error named" \
    sh -c 'cmp -s "$0" "$1" && grep -q "nothing written: .*broken.rc" "$2"' "$T/broken.before" "$T/broken.rc" "$ERR"
ln -s "$T/elsewhere" "$T/link.rc"
run_outpost -C "$T/link.rc" --configure bob@example.org --write
check "--write does not follow a symbolic link" sh -c '[ "$0" != 0 ] && [ ! -e "$1" ]' "$RC" "$T/elsewhere"

# ---- a resolver that does not answer ---------------------------------------------------
printf 'nameserver 127.0.0.2\noptions timeout:1 attempts:1\n' >"$T/resolv.conf"
run_outpost --configure alice@fastmail.com
is "$RC" 0 "no name server: a provider of the table still works"
run_outpost --configure bob@example.org
is "$RC" 75 "no name server, a domain outside the table: exit 75 (try again)"
check "no name server: says so" said "DNS: cannot look up the SRV records of _submissions._tcp.example.org"

done_testing
