#!/bin/bash
# Sendmail behaviour around the message: -t, header rules (Bcc, From, Date,
# Message-ID, undisclosed recipients), --read-envelope-from, -F, 'from'
# substitutions, aliases, DSN, SMTPUTF8 and the log file.
. "$srcdir/tests/lib.sh"

start_server plain '{"ehlo": ["PIPELINING", "8BITMIME", "SIZE 104857600", "DSN", "SMTPUTF8"]}'
CONF="$HOME/.outpostrc"
base=("account test" "host 127.0.0.1" "port $PORT" "timeout 10" "from sender@example.com")
write_config "$CONF" "${base[@]}" "account default : test"

# Messages stored so far by the current server.
stored() { ls "$DIR"/msg-*.eml 2>/dev/null | wc -l; }
# send ARG... < message: one delivery attempt (it may run in a pipeline's
# subshell, so what it must remember goes to a file).
send() {
    stored >"$T/stored-before"
    run_outpost "$@"
}
eml() { echo "$DIR/msg-$(stored).eml"; }
# envelope KEY: a field of the last message's envelope (lists joined by spaces)
envelope() {
    "$TEST_PYTHON" -c 'import json,sys
v = json.load(open(sys.argv[1]))[sys.argv[2]]
print(" ".join(v) if isinstance(v, list) else v)' "$DIR/msg-$(stored).json" "$1"
}
header() { # header NAME: the first such field of the last message, unfolded
    "$TEST_PYTHON" -c 'import email,sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
v = m.get(sys.argv[2])
print("" if v is None else " ".join(str(v).split()))' "$(eml)" "$1"
}
count_header() { grep -ci "^$1:" <(sed '/^\r\?$/q' "$(eml)"); }
nothing_sent() { [ "$(stored)" -eq "$(cat "$T/stored-before")" ]; }

# ---- -t ----------------------------------------------------------------------
cat >"$T/t.in" <<'EOF'
From: Sender <sender@example.com>
To: "Doe, John" <john@example.org>, jane@example.org (Jane),
  Team: ann@example.org, bob@example.org;
Cc: undisclosed-recipients:;, <carl@example.org>
Bcc: secret@example.org, John <john@EXAMPLE.org>
Subject: -t test

body
EOF
send -t -i extra@example.net <"$T/t.in"
is "$RC" 0 "-t: exit 0"
[ "$RC" -eq 0 ] || diag "$ERR"
is "$(envelope rcpts)" \
    "extra@example.net john@example.org jane@example.org ann@example.org bob@example.org carl@example.org secret@example.org" \
    "-t: operands first, then To, Cc and Bcc, groups opened, duplicates removed"
is "$(count_header Bcc)" 0 "-t: the Bcc field is removed from the message"
is "$(header To)" '"Doe, John" <john@example.org>, jane@example.org (Jane), Team: ann@example.org, bob@example.org;' \
    "-t: the To field is left as it was"
check "-t: the body is intact" grep -q '^body' "$(eml)"

cat >"$T/resent.in" <<'EOF'
From: a@example.com
To: original@example.org
Resent-From: sender@example.com
Resent-To: new@example.org
Resent-Bcc: hidden@example.org
Subject: resent

x
EOF
send -t -i <"$T/resent.in"
is "$(envelope rcpts)" "new@example.org hidden@example.org" \
    "-t with a Resent- block: only the Resent- recipients"
is "$(count_header Resent-Bcc)" 0 "Resent-Bcc is removed too"

printf 'To: "unclosed <a@example.org>\nSubject: bad\n\nx\n' >"$T/bad.in"
send -t -i <"$T/bad.in"
is "$RC" 65 "-t with an unreadable To: exit 65"
check "-t with an unreadable To: the error names the header" said "the To header"
check "-t with an unreadable To: nothing was sent" nothing_sent

send -t -i < <(printf 'Subject: nobody\n\nx\n')
is "$RC" 64 "-t without recipients anywhere: exit 64"
check "-t without recipients: says where it looked" said "none found in the To, Cc or Bcc headers"

send -i b@example.org < <(printf 'To: a@example.org\nSubject: x\n\nx\n')
is "$(envelope rcpts)" "b@example.org" "without -t the headers do not add recipients"

# ---- added header fields -------------------------------------------------------
send -i rcpt@example.org < <(printf 'Subject: bare\n\nbody\n')
is "$(header From)" "sender@example.com" "a missing From is added from the envelope sender"
check "a missing Date is added (RFC 5322 form)" \
    grep -Eq '^Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}'$'\r''$' "$(eml)"
check "a missing Message-ID is added, in the sender's domain" \
    grep -Eq '^Message-ID: <[0-9]{14}\.[0-9]+\.[0-9a-f]{16}@example\.com>'$'\r''$' "$(eml)"
is "$(sed -n '/^\r$/,$p' "$(eml)" | tr -d '\r')" "$(printf '\nbody')" "the body follows unchanged"

send -i -F "Jane Q. Public" rcpt@example.org < <(printf 'Subject: bare\n\nbody\n')
is "$(header From)" '"Jane Q. Public" <sender@example.com>' "-F: a name with a dot is quoted"
send -i -F "Jane Doe" rcpt@example.org < <(printf 'Subject: bare\n\nbody\n')
is "$(header From)" 'Jane Doe <sender@example.com>' "-F: a plain name stays plain"
send -i -F "Jörg Müller" rcpt@example.org < <(printf 'Subject: bare\n\nbody\n')
check "-F: a non-ASCII name is an RFC 2047 encoded word" \
    grep -q "^From: =?UTF-8?B?$(printf 'Jörg Müller' | base64 -w0)?= <sender@example.com>" "$(eml)"
send -i -F "$(printf 'Evil\r\nBcc: victim@example.org')" rcpt@example.org < <(printf 'Subject: x\n\nx\n')
is "$RC" 64 "-F with a line break: refused (exit 64)"
check "-F with a line break: nothing was sent" nothing_sent

printf 'From: Me <me@example.net>\nDate: Mon, 01 Jan 2024 00:00:00 +0000\nMessage-ID: <keep@example.net>\nSubject: s\n\nx\n' >"$T/full.in"
send -i rcpt@example.org <"$T/full.in"
is "$(header From)|$(header Date)|$(header Message-ID)" \
    "Me <me@example.net>|Mon, 01 Jan 2024 00:00:00 +0000|<keep@example.net>" \
    "existing From, Date and Message-ID are kept (auto)"
is "$(count_header From)$(count_header Date)$(count_header Message-ID)" 111 "and not doubled"
send -i --set-from-header=on rcpt@example.org <"$T/full.in"
is "$(header From)" "sender@example.com" "set_from_header on replaces From"
is "$(count_header From)" 1 "set_from_header on: one From"
send -i --set-from-header=off --set-date-header=off \
    --set-msgid-header=off rcpt@example.org < <(printf 'Subject: bare\n\nx\n')
is "$(count_header From)$(count_header Date)$(count_header Message-ID)" 000 "all three off: nothing added"

send -i rcpt@example.org < <(printf 'no header block at all\n')
is "$(sed -n '/^\r$/,$p' "$(eml)" | tr -d '\r')" "$(printf '\nno header block at all')" \
    "text without headers: the added fields get their own empty line after them"

printf 'To: a@example.org\nCc: b@example.org\nBcc: c@example.org\nSubject: s\n\nx\n' >"$T/undis.in"
send -t -i --undisclosed-recipients=on <"$T/undis.in"
is "$(header To)" "undisclosed-recipients:;" "undisclosed_recipients: To says so"
is "$(count_header To)$(count_header Cc)$(count_header Bcc)" 100 "undisclosed_recipients: Cc and Bcc are gone"
is "$(envelope rcpts)" "a@example.org b@example.org c@example.org" "undisclosed_recipients: the envelope is unchanged"

# ---- the envelope sender ------------------------------------------------------
write_config "$CONF" "${base[@]}" \
    "account other" "host 127.0.0.1" "port $PORT" "from other@example.net" \
    "account default : test"
send -i --read-envelope-from --debug rcpt@example.org < <(printf 'From: Other <other@example.net>\nSubject: s\n\nx\n')
is "$(envelope mail_from)" "other@example.net" "--read-envelope-from: MAIL FROM is the From address"
check "--read-envelope-from: it chose the account" said "account 'other' chosen by the envelope sender"
send -i --read-envelope-from rcpt@example.org < <(printf 'Subject: s\n\nx\n')
is "$(envelope mail_from)" "sender@example.com" "--read-envelope-from without a From: the account's from"
send -i -f custom@example.org --allow-from-override=off rcpt@example.org < <(printf 'Subject: s\n\nx\n')
is "$(envelope mail_from)" "sender@example.com" "allow_from_override off: -f is ignored"
write_config "$CONF" "account default" "host 127.0.0.1" "port $PORT" "from %U@example.org"
USER=cronuser send -i rcpt@example.org < <(printf 'Subject: s\n\nx\n')
is "$(envelope mail_from)" "cronuser@example.org" "from %U@...: the user name"
write_config "$CONF" "account default" "host 127.0.0.1" "port $PORT" "auto_from on" "maildomain example.edu"
USER=auto send -i rcpt@example.org < <(printf 'Subject: s\n\nx\n')
is "$(envelope mail_from)" "auto@example.edu" "auto_from with maildomain: user@maildomain"
write_config "$CONF" "${base[@]}" "account default : test"
send -i -f "$(printf 'a@example.org\r\nRCPT TO:<x@example.org>')" rcpt@example.org < <(printf 'x\n')
is "$RC" 64 "-f with a line break: exit 64"
check "-f with a line break: nothing was sent" nothing_sent

# ---- aliases ---------------------------------------------------------------------
cat >"$T/aliases" <<'EOF'
# system aliases, msmtp format
root: admins
admins: alice@example.org, Bob Builder <bob@example.org>,
   carol@example.org
postmaster: root
default: fallback@example.org
EOF
write_config "$CONF" "${base[@]}" "aliases $T/aliases" "account default : test"
printf 'From: root\nTo: root\nSubject: Cron <root@host> run-parts\n\noutput\n' >"$T/cron.in"
send -i root <"$T/cron.in"
is "$RC" 0 "cron mail to root: exit 0"
is "$(envelope rcpts)" "alice@example.org bob@example.org carol@example.org" \
    "root expands through two levels (and a continuation line)"
send -i postmaster someone alice@example.org < <(printf 'x\n')
is "$(envelope rcpts)" "alice@example.org bob@example.org carol@example.org fallback@example.org" \
    "three levels, 'default' for an unknown name, duplicates removed"
send -t -i < <(printf 'To: root\nSubject: s\n\nx\n')
is "$(envelope rcpts)" "alice@example.org bob@example.org carol@example.org" "-t: header recipients go through aliases too"

printf 'a: b\nb: c\nc: a\n' >"$T/loop"
write_config "$CONF" "${base[@]}" "aliases $T/loop" "account default : test"
send -i a < <(printf 'x\n')
is "$RC" 78 "an alias loop: exit 78"
check "an alias loop: the chain is shown" said "alias loop: a -> b -> c -> a"
check "an alias loop: nothing was sent" nothing_sent
send -i nobody < <(printf 'x\n')
is "$RC" 67 "a local name without alias or default: exit 67"
check "a local name without alias: named" said "local recipient 'nobody' is not in the aliases file"
write_config "$CONF" "${base[@]}" "account default : test"
send -i root < <(printf 'x\n')
is "$RC" 67 "a local name without an aliases file: exit 67, not sent to a guessed domain"
check "without an aliases file: says how to fix it" said "set 'aliases' in the account"
check "without an aliases file: nothing was sent" nothing_sent
printf 'bad line without colon\n' >"$T/badaliases"
write_config "$CONF" "${base[@]}" "aliases $T/badaliases" "account default : test"
send -i root < <(printf 'x\n')
is "$RC" 78 "a bad aliases file: exit 78"
check "a bad aliases file: file and line named" said "$T/badaliases:1:"

# ---- DSN and SMTPUTF8 -----------------------------------------------------------
write_config "$CONF" "${base[@]}" "account default : test"
send -i -N failure,delay -R hdrs -V 'id+1=2' rcpt@example.org < <(printf 'x\n')
is "$RC" 0 "DSN: exit 0"
is "$(envelope mail_params)" "SIZE=$(stat -c %s "$(eml)") RET=HDRS ENVID=id+2B1+3D2" "DSN: RET and ENVID (as xtext) on MAIL"
is "$(envelope rcpt_params)" "NOTIFY=FAILURE,DELAY" "DSN: NOTIFY on RCPT"
send -i 'jörg@exämple.org' < <(printf 'x\n')
is "$RC" 0 "a UTF-8 address: exit 0"
is "$(envelope mail_params | grep -o SMTPUTF8)" SMTPUTF8 "a UTF-8 address: SMTPUTF8 on MAIL"
is "$(envelope rcpts)" "jörg@exämple.org" "a UTF-8 address: sent as UTF-8"

start_server nodsn
write_config "$CONF" "account default" "host 127.0.0.1" "port $PORT" "from sender@example.com" "dsn_notify success"
send -i rcpt@example.org < <(printf 'x\n')
is "$RC" 69 "DSN asked for, not offered: exit 69"
check "DSN not offered: says so" said "does not offer DSN"
check "DSN not offered: no MAIL was sent" lacks '^C: MAIL' "$DIR/session-1.log"
write_config "$CONF" "account default" "host 127.0.0.1" "port $PORT" "from sender@example.com"
send -i 'jörg@example.org' < <(printf 'x\n')
is "$RC" 69 "a UTF-8 address without SMTPUTF8: exit 69"
check "without SMTPUTF8: says so" said "does not offer SMTPUTF8"

# ---- the log file -------------------------------------------------------------------
start_server logged '{"auth": {"user": "joe", "password": "s3cret-Pa55", "mechanisms": ["PLAIN"]}}'
LOG="$T/outpost.log"
write_config "$CONF" "account default" "host 127.0.0.1" "port $PORT" "from sender@example.com" \
    "auth plain" "user joe" "password s3cret-Pa55" "logfile $LOG" "tls off" "auth_without_tls on"
run_outpost -i a@example.org b@example.org < <(printf 'x\n')
is "$RC" 0 "logfile: delivered"
check "logfile: one line in msmtp's format" grep -Eq \
    "^[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} host=127.0.0.1 tls=off auth=on user=joe from=sender@example.com recipients=a@example.org,b@example.org mailsize=[0-9]+ smtpstatus=250 smtpmsg='250 2.0.0 Ok: queued as 1' exitcode=EX_OK$" "$LOG"
check "logfile: private (0600)" test "$(stat -c %a "$LOG")" = 600
write_config "$CONF" "account default" "host 127.0.0.1" "port $PORT" "from sender@example.com" \
    "auth plain" "user joe" "password wrong-Pa55" "logfile $LOG" "tls off" "auth_without_tls on"
run_outpost -i a@example.org < <(printf 'x\n')
is "$RC" 77 "logfile: a failure"
check "logfile: the failure is logged with the server's words and the exit code" grep -Eq \
    "smtpstatus=535 smtpmsg='535 5.7.8 Error: authentication failed: authentication failure' errormsg='.*' exitcode=EX_NOPERM$" "$LOG"
is "$(wc -l <"$LOG")" 2 "logfile: one line per message"
check "logfile: no password in it" lacks -E 's3cret-Pa55|wrong-Pa55|czNjcmV0' "$LOG"
write_config "$CONF" "account default" "host 127.0.0.1" "port $PORT" "from sender@example.com" \
    "auth plain" "user joe" "password s3cret-Pa55" "logfile -" "tls off" "auth_without_tls on" "logfile_time_format %Y"
run_outpost -i a@example.org < <(printf 'x\n')
check "logfile -: the line goes to standard output, with logfile_time_format" \
    grep -Eq "^[0-9]{4} host=127.0.0.1 .* exitcode=EX_OK$" "$OUT"

# syslog: in a private mount namespace /dev/log is our own datagram socket.
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && unshare -m true 2>/dev/null; then
    SOCK="$T/devlog"
    "$TEST_PYTHON" -c 'import socket,sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); s.settimeout(20)
open(sys.argv[2], "wb").write(s.recv(65536))' "$SOCK" "$T/syslog.got" &
    SYSLOG_PID=$!
    for i in $(seq 1 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
    write_config "$CONF" "account default" "host 127.0.0.1" "port $PORT" "from sender@example.com" \
        "auth plain" "user joe" "password s3cret-Pa55" "syslog LOG_MAIL" "tls off" "auth_without_tls on"
    printf 'x\n' >"$T/x.in"
    unshare -m sh -c 'mount -t tmpfs none /dev && mknod -m 666 /dev/null c 1 3 &&
        ln -s "$1" /dev/log && "$OUTPOST" -i a@example.org <"$2"' sh "$SOCK" "$T/x.in" >"$OUT" 2>"$ERR"
    is "$?" 0 "syslog: delivered"
    wait "$SYSLOG_PID"
    # <22> is LOG_MAIL (2 << 3) | LOG_INFO (6)
    check "syslog: one LOG_MAIL|LOG_INFO line from outpost in msmtp's format" \
        grep -Eq "^<22>.*outpost\[[0-9]+\]: host=127.0.0.1 tls=off auth=on user=joe from=sender@example.com recipients=a@example.org mailsize=[0-9]+ smtpstatus=250 .*exitcode=EX_OK$" "$T/syslog.got"
    check "syslog: no password" lacks s3cret "$T/syslog.got"
else
    echo "ok $((TAP_N += 1)) # SKIP syslog: needs root and unshare for a private /dev/log"
    echo "ok $((TAP_N += 1)) # SKIP syslog: needs root and unshare for a private /dev/log"
    echo "ok $((TAP_N += 1)) # SKIP syslog: needs root and unshare for a private /dev/log"
fi

done_testing
