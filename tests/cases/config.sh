#!/bin/bash
# Configuration files: where they are found, errors naming file and line,
# the permission rules, account choice, and msmtp compatibility.
. "$srcdir/tests/lib.sh"

start_server cfg
printf 'Subject: cfg\n\nbody\n' >"$T/msg"

# ---- errors name the file and the line ----------------------------------------
write_config "$HOME/.outpostrc" "account default" "host 127.0.0.1" "hots example.com"
run_outpost --pretend x@example.org
is "$RC" 78 "unknown command: exit 78 (EX_CONFIG)"
is "$(cat "$ERR")" "outpost: ~/.outpostrc:3: unknown command 'hots'" "unknown command: file, line and command"

write_config "$T/bad.rc" "account a" "host 127.0.0.1" "port 99999"
run_outpost -C "$T/bad.rc" --pretend x@example.org
is "$RC" 78 "invalid port: exit 78"
check "invalid port: names -C's file and line 3" said "$T/bad.rc:3: invalid argument '99999' for command 'port'"

write_config "$T/dup.rc" "account a" "host h" "account a" "host h2"
run_outpost -C "$T/dup.rc" --pretend x@example.org
check "duplicate account: line 3 refers back to line 1" said "dup.rc:3: account 'a' is already defined in this file (line 1)"

write_config "$T/parent.rc" "account b : nope" "host h"
run_outpost -C "$T/parent.rc" --pretend x@example.org
check "unknown parent account: named" said "parent.rc:1: account 'nope' is not (yet) defined"

# ---- permissions ----------------------------------------------------------------
write_config "$T/pw.rc" "account default" "host 127.0.0.1" "port $PORT" "from a@example.com" "password s3cret"
chmod 644 "$T/pw.rc"
run_outpost -C "$T/pw.rc" -oi x@example.org <"$T/msg"
is "$RC" 78 "world-readable file with a password: exit 78"
check "world-readable file with a password: says chmod 600" said "run: chmod 600 $T/pw.rc"
check "world-readable file with a password: names the password's line" said "contains a password (line 5)"
chmod 640 "$T/pw.rc"
run_outpost -C "$T/pw.rc" --pretend x@example.org
is "$RC" 78 "group-readable file with a password: exit 78"
chmod 600 "$T/pw.rc"
run_outpost -C "$T/pw.rc" --pretend x@example.org
is "$RC" 0 "private file with a password: accepted"
check "--pretend shows the password as '*'" grep -qx 'password = \*' "$OUT"
check "--pretend never prints the password" lacks s3cret "$OUT" "$ERR"

write_config "$T/nopw.rc" "account default" "host 127.0.0.1" "port $PORT" "from a@example.com"
chmod 644 "$T/nopw.rc"
run_outpost -C "$T/nopw.rc" -oi x@example.org <"$T/msg"
is "$RC" 0 "world-readable file without a password: accepted (as msmtp does)"

chmod 666 "$T/nopw.rc"
run_outpost -C "$T/nopw.rc" --pretend x@example.org
is "$RC" 78 "world-writable file: refused"
check "world-writable file: says chmod go-w" said "run: chmod go-w $T/nopw.rc"

write_config "$T/eval.rc" "account default" "host 127.0.0.1" "passwordeval echo x" "from a@example.com"
chmod 664 "$T/eval.rc"
run_outpost -C "$T/eval.rc" --pretend x@example.org
is "$RC" 78 "group-writable file with passwordeval: refused"
check "group-writable file: names the file and the fix" said "$T/eval.rc: refusing a configuration file that other users can write (mode 0664); run: chmod go-w"

# ---- where files are found -------------------------------------------------------
rm -f "$HOME/.outpostrc"
run_outpost --pretend x@example.org
is "$RC" 78 "no configuration file: exit 78"
check "no configuration file: names every file it looked for" said "no configuration file found: looked for ~/.config/outpost/config and ~/.outpostrc (create the first, mode 0600"
OUTPOST_SYSTEM_CONFIG="$T/no-such.conf" run_outpost --pretend x@example.org
check "... the system file too" said "no configuration file found: looked for ~/.config/outpost/config, ~/.outpostrc and $T/no-such.conf (create the first, mode 0600"

write_config "$HOME/.outpostrc" "account default" "host rc.example" "from a@example.com"
mkdir -p "$XDG_CONFIG_HOME/outpost"
write_config "$XDG_CONFIG_HOME/outpost/config" "account default" "host xdg.example" "from a@example.com"
run_outpost --pretend x@example.org
check "\$XDG_CONFIG_HOME/outpost/config comes before ~/.outpostrc" grep -qx 'host = xdg.example' "$OUT"
rm "$XDG_CONFIG_HOME/outpost/config"
run_outpost --pretend x@example.org
check "~/.outpostrc is used when there is no XDG file" grep -qx 'host = rc.example' "$OUT"

write_config "$T/system.conf" "defaults" "port 2525" "account default" "host sys.example" "from sys@example.com" \
    "account sysonly" "host only.example" "from only@example.com"
export OUTPOST_SYSTEM_CONFIG="$T/system.conf"
run_outpost --pretend x@example.org
check "the user's account replaces the system account of the same name" grep -qx 'host = rc.example' "$OUT"
run_outpost -a sysonly --pretend x@example.org
check "system accounts are still available" grep -qx 'host = only.example' "$OUT"
check "a system file's defaults apply to its own accounts" grep -qx 'port = 2525' "$OUT"
rm -f "$HOME/.outpostrc"
run_outpost --pretend x@example.org
check "the system file alone is enough" grep -qx 'host = sys.example' "$OUT"
export OUTPOST_SYSTEM_CONFIG=""

# ---- choosing the account -----------------------------------------------------------
write_config "$HOME/.outpostrc" \
    "defaults" "port $PORT" "timeout 5" \
    "account work" "host work.example" "from me@work.example" \
    "account wild" "host wild.example" "from *@wild.example" \
    "account home" "host 127.0.0.1" "from me@home.example" \
    "account default : home"
run_outpost -a nope --pretend x@example.org
is "$RC" 78 "-a with an unknown account: exit 78"
check "-a with an unknown account: names it" said "account 'nope' not found in ~/.outpostrc"
run_outpost -f me@work.example --pretend x@example.org
check "-f picks the account whose from matches" grep -qx 'using account work from ~/.outpostrc' "$OUT"
run_outpost -f ME@Work.Example --pretend x@example.org
check "from matching ignores case" grep -qx 'using account work from ~/.outpostrc' "$OUT"
run_outpost -f me+lists@work.example --pretend x@example.org
check "user+detail matches the account for user" grep -qx 'using account work from ~/.outpostrc' "$OUT"
run_outpost -f anyone@wild.example --pretend x@example.org
check "a wildcard from matches" grep -qx 'using account wild from ~/.outpostrc' "$OUT"
check "the envelope sender is the -f address" grep -qx 'envelope from = anyone@wild.example' "$OUT"
run_outpost -f stranger@else.example --pretend x@example.org
check "no match: the default account" grep -qx 'using account default from ~/.outpostrc' "$OUT"
run_outpost -a wild --pretend x@example.org
is "$RC" 0 "--pretend with a wildcard from and no -f: the settings anyway (msmtp does), exit 0"
check "--pretend without a sender: says why there is none" \
    grep -q "^envelope from = (none: account 'wild': 'from \*@wild.example' is a pattern" "$OUT"
run_outpost -a wild x@example.org <<<hi
is "$RC" 78 "a wildcard from without -f cannot be a sender: exit 78"
run_outpost -a work --port=2526 --pretend x@example.org
check "command-line settings override the account" grep -qx 'port = 2526' "$OUT"

write_config "$HOME/.outpostrc" "account only" "host h" "from a@example.com"
run_outpost --pretend x@example.org
is "$RC" 78 "no default account: exit 78"
check "no default account: says how to choose one" said "add 'account default : NAME'"

# allow_from_override off keeps the account's address.
write_config "$HOME/.outpostrc" "account default" "host 127.0.0.1" "port $PORT" \
    "from fixed@example.com" "allow_from_override off"
run_outpost -f other@example.com -oi x@example.org <"$T/msg"
is "$RC" 0 "allow_from_override off: sent"
check "allow_from_override off: the account's from is the sender" \
    grep -q '"mail_from": "fixed@example.com"' "$(ls -t "$DIR"/msg-*.json | head -1)"

# ---- msmtp compatibility -----------------------------------------------------------
# Every msmtp command, inheritance, quoting, eval and old spellings: a file
# that msmtp 1.8 accepts must load unchanged.
cat >"$T/msmtprc" <<EOF
# a typical ~/.msmtprc
defaults
auth           on
tls            on
tls_trust_file /etc/ssl/certs/ca-certificates.crt
logfile        ~/.msmtp.log
timeout        30

account        gmail
host           smtp.gmail.com
port           587
from           "someone@gmail.com"
user           someone@gmail.com
passwordeval   "echo app-password"

account        full : gmail
host           mail.example.com
source_ip      127.0.0.1
proxy_host     127.0.0.1
proxy_port     9050
protocol       smtp
domain         client.example.com
auth           scram-sha-256
ntlmdomain     CORP
tls_starttls   off
tls_crl_file   /etc/ssl/crl.pem
tls_fingerprint 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF
tls_key_file   ~/key.pem
tls_cert_file  ~/cert.pem
tls_certcheck  on
tls_priorities NORMAL:-VERS-TLS1.0
tls_host_override smtp.example.com
tls_min_dh_prime_bits 2048
allow_from_override off
dsn_notify     failure,delay
dsn_return     headers
set_from_header on
set_date_header auto
set_msgid_header off
remove_bcc_headers on
undisclosed_recipients off
logfile_time_format %Y-%m-%d
syslog         LOG_MAIL
aliases        ~/.aliases
auto_from      off
maildomain     example.com
eval           echo user from-eval

account        local
host           127.0.0.1
port           $PORT
tls            off
auth           off
tls_nocertcheck
keepbcc        off
connect_timeout 5
add_missing_from_header on
add_missing_date_header off
from           me@example.com

account default : gmail
EOF
chmod 600 "$T/msmtprc"
run_outpost -C "$T/msmtprc" -a full --pretend x@example.org
is "$RC" 0 "a full msmtprc loads unchanged"
[ "$RC" -eq 0 ] || diag "$ERR"
check "inherited from the parent account" grep -qx 'passwordeval = echo app-password.*' "$OUT"
check "eval replaced its line" grep -qx 'user = from-eval' "$OUT"
check "quotes are removed" grep -qx 'from = someone@gmail.com' "$OUT"
check "~ is expanded in file names" grep -qx "tls_key_file = $HOME/key.pem" "$OUT"
check "dsn_return headers is HDRS" grep -qx 'dsn_return = HDRS.*' "$OUT"
check "the port set in the child wins" grep -qx 'port = 587' "$OUT"
check "dsn_notify is shown" grep -qx 'dsn_notify = FAILURE,DELAY' "$OUT"
if command -v msmtp >/dev/null; then
    msmtp -C "$T/msmtprc" -a full --pretend >/dev/null 2>"$T/msmtp.err"
    is "$?" 0 "msmtp itself accepts the same file"
    [ -s "$T/msmtp.err" ] && diag "$T/msmtp.err"
else
    echo "ok $((TAP_N += 1)) # SKIP msmtp is not installed"
fi

run_outpost -C "$T/msmtprc" -a local -oi x@example.org <"$T/msg"
is "$RC" 0 "old spellings (tls_nocertcheck, keepbcc, connect_timeout...) work"

done_testing
