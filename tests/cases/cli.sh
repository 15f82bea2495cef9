#!/bin/bash
# The command line as real callers use it.
. "$srcdir/tests/lib.sh"

start_server cli
write_config "$HOME/.outpostrc" "account default" "host 127.0.0.1" "port $PORT" \
    "timeout 5" "from sender@example.com"
printf 'Subject: cli\n\nbody\n.\nmore\n' >"$T/msg"
msgno=0
delivered() { # the next message arrived with the dot line kept
    msgno=$((msgno + 1))
    grep -q '^more' "$DIR/msg-$msgno.eml"
}

# ---- what real clients pass --------------------------------------------------------
run_outpost -oem -oi -- rcpt@example.org <"$T/msg"
is "$RC" 0 "mutt's argv (-oem -oi -- rcpt): exit 0"
check "mutt's argv: -oi keeps the '.' line" delivered
run_outpost -i rcpt@example.org <"$T/msg"
is "$RC" 0 "git send-email's argv (-i rcpt): exit 0"
check "git send-email's argv: delivered" delivered
run_outpost -oee -odi -odb -om -obx -B 8BITMIME -G -U -m -n -L tag -h 5 -O Opt=v -p smtp -oi rcpt@example.org <"$T/msg"
is "$RC" 0 "sendmail options that mean nothing here are accepted"
check "...and the message is delivered" delivered
run_outpost -oi rcpt@example.org -f other@example.org <"$T/msg"
is "$RC" 0 "options after operands are still options"
check "...so -f took effect" grep -q '"mail_from": "other@example.org"' "$DIR/msg-$((msgno + 1)).json"
delivered
run_outpost -oi -ftight@example.org rcpt@example.org <"$T/msg"
check "-fADDR (attached value)" grep -q '"mail_from": "tight@example.org"' "$DIR/msg-$((msgno + 1)).json"
delivered
run_outpost -oi -- -dash@example.org <"$T/msg"
is "$RC" 0 "after --, an operand starting with '-' is a recipient"
check "...and was used as one" grep -q '"rcpts": \["-dash@example.org"\]' "$DIR/msg-$((msgno + 1)).json"
delivered

# ---- usage errors ------------------------------------------------------------------
run_outpost -Z rcpt@example.org </dev/null
is "$RC" 64 "unknown option: exit 64 (EX_USAGE)"
is "$(cat "$ERR")" "outpost: unknown option '-Z' (see outpost --help)" "unknown option: one line naming it"
run_outpost --frobnicate </dev/null
is "$RC" 64 "unknown long option: exit 64"
run_outpost </dev/null
is "$RC" 64 "no recipients: exit 64"
check "no recipients: says so" said "no recipients given"
run_outpost -f </dev/null
is "$RC" 64 "-f without a value: exit 64"
run_outpost --password=x rcpt@example.org </dev/null
is "$RC" 64 "a password is never taken from the command line"
run_outpost --port=abc rcpt@example.org </dev/null
is "$RC" 64 "--port=abc: exit 64"
check "--port=abc: names the option" said "option --port: invalid argument 'abc'"
run_outpost -t </dev/null
is "$RC" 64 "-t with an empty message and no operand: no recipients, exit 64"
run_outpost -bs </dev/null
is "$RC" 0 "-bs with a client that says nothing: greets and ends, exit 0"
check "-bs: the greeting went to standard output" grep -q '^220 ' "$OUT"

# ---- injection: a line break can never become an SMTP command ----------------------------
sessions_before=$(ls "$DIR"/session-*.log | wc -l)
run_outpost -oi $'victim@example.org\r\nRCPT TO:<evil@example.org>' <"$T/msg"
is "$RC" 64 "CRLF in a recipient: exit 64"
check "CRLF in a recipient: says so" said "contains a control character (a line break)"
run_outpost -oi -f $'me@example.org\nRCPT TO:<evil@example.org>' x@example.org <"$T/msg"
is "$RC" 64 "LF in -f: exit 64"
run_outpost -oi 'a b@example.org' <"$T/msg"
is "$RC" 64 "a blank inside a recipient: exit 64"
is "$(ls "$DIR"/session-*.log | wc -l)" "$sessions_before" "nothing was sent for any of them"
run_outpost -oi '"john doe"@example.org' <"$T/msg"
is "$RC" 0 "a quoted local part with a blank is fine"
delivered

# ---- modes -------------------------------------------------------------------------
run_outpost --version
is "$RC" 0 "--version: exit 0"
check "--version names the TLS library" grep -q '^TLS/SSL library: GnuTLS [0-9]' "$OUT"
check "--version names the SASL library (or its absence)" grep -q '^Authentication library: ' "$OUT"
check "--version names the keyring support (or its absence)" grep -q '^Keyring support: ' "$OUT"
run_outpost --help
is "$RC" 0 "--help: exit 0"
check "--help lists -oi" grep -q -- '-oi' "$OUT"

mkdir -p "$T/bin"
ln -s "$OUTPOST" "$T/bin/mailq"
ln -s "$OUTPOST" "$T/bin/newaliases"
ln -s "$OUTPOST" "$T/bin/sendmail"
"$T/bin/mailq" >"$OUT" 2>&1
is "$?" 0 "as mailq: exit 0"
check "as mailq: lists the (empty) queue" grep -q 'the queue .* is empty' "$OUT"
"$T/bin/newaliases" >"$OUT" 2>&1
is "$?" 0 "as newaliases: exit 0"
is "$(cat "$OUT")" "" "as newaliases: silent"
"$T/bin/sendmail" -oi rcpt@example.org <"$T/msg" 2>"$ERR"
is "$?" 0 "as sendmail: delivers"
delivered

run_outpost --debug -oi rcpt@example.org <"$T/msg"
is "$RC" 0 "--debug: exit 0"
check "--debug: the transcript shows what was sent" grep -q '^--> MAIL FROM:<sender@example.com>' "$ERR"
check "--debug: and what was received" grep -q '^<-- 250 2.1.0 Ok' "$ERR"
delivered
run_outpost -v -oi rcpt@example.org <"$T/msg"
check "-v is --debug" grep -q '^--> RCPT TO:<rcpt@example.org>' "$ERR"
delivered

run_outpost --host=127.0.0.1 --port="$PORT" --from=h@example.org -oi rcpt@example.org <"$T/msg"
is "$RC" 0 "--host: no configuration file needed"
delivered
run_outpost --host=127.0.0.1 -a default rcpt@example.org </dev/null
is "$RC" 64 "--host with --account: exit 64"

run_outpost --pretend -X /tmp/log -N failure,delay -R hdrs -F 'Jo Doe' -V env42 rcpt@example.org
is "$RC" 0 "--pretend with sendmail's DSN and log options"
check "-X sets the log file" grep -qx 'logfile = /tmp/log.*' "$OUT"
check "-N sets dsn_notify" grep -qx 'dsn_notify = FAILURE,DELAY.*' "$OUT"
check "-R hdrs sets dsn_return" grep -qx 'dsn_return = HDRS.*' "$OUT"
check "-F and -V are shown" bash -c "grep -q '^full name (-F) = Jo Doe' '$OUT' && grep -q '^envelope id (-V) = env42' '$OUT'"

done_testing
