#!/bin/bash
# Byte-exact delivery to the scripted server: what the server stores must be
# exactly the caller's message with CRLF line ends.
. "$srcdir/tests/lib.sh"

start_server plain
CONF="$HOME/.outpostrc"
write_config "$CONF" \
    "account test" \
    "host 127.0.0.1" \
    "port $PORT" \
    "timeout 10" \
    "from sender@example.com" \
    "${KEEP_HEADERS[@]}" \
    "account default : test"

msgno=0
# deliver NAME EXPECTED_FILE [outpost args...] < input: delivers, then checks
# the stored message against EXPECTED_FILE.
deliver() {
    local name=$1 expected=$2
    shift 2
    run_outpost "$@"
    msgno=$((msgno + 1))
    is "$RC" 0 "$name: exit 0"
    [ "$RC" -eq 0 ] || diag "$ERR"
    check "$name: stored bytes are exact" same_bytes "$DIR/msg-$msgno.eml" "$expected"
}

# Leading dots: transparency on the wire, removed again by the server.
printf 'Subject: dots\n\n.leading dot\n..two dots\n.\nnot the end\n' >"$T/dots.in"
printf 'Subject: dots\n\n.leading dot\n..two dots\n.\nnot the end\n' | crlf >"$T/dots.exp"
deliver "leading dots with -i" "$T/dots.exp" -i rcpt@example.org <"$T/dots.in"
check "leading dots are doubled on the wire" \
    grep -q '^\.\.leading dot' "$DIR/msg-$msgno.raw"
check "a line of two dots is sent as three" grep -q '^\.\.\.two dots' "$DIR/msg-$msgno.raw"

# Without -i a line with a single dot ends the message (sendmail's rule).
printf 'Subject: dots\n\nbody\n' | crlf >"$T/dotend.exp"
deliver "a lone dot ends input without -i" "$T/dotend.exp" rcpt@example.org \
    < <(printf 'Subject: dots\n\nbody\n.\nafter the end\n')
printf 'Subject: dots\r\n\r\nbody\r\n' >"$T/dotend-crlf.exp"
deliver "a lone dot with CRLF ends input too" "$T/dotend-crlf.exp" rcpt@example.org \
    < <(printf 'Subject: dots\r\n\r\nbody\r\n.\r\nafter the end\r\n')

# Bare LF, CRLF and a mix all become CRLF.
printf 'Subject: lf\n\nline one\nline two\n' >"$T/lf.in"
crlf <"$T/lf.in" >"$T/lf.exp"
deliver "bare LF input" "$T/lf.exp" -oi rcpt@example.org <"$T/lf.in"
printf 'Subject: crlf\r\n\r\nline one\r\nline two\r\n' >"$T/crlf.in"
deliver "CRLF input is unchanged" "$T/crlf.in" -oi rcpt@example.org <"$T/crlf.in"
printf 'Subject: mixed\r\n\nline one\r\nline two\nbare\rCR ends a line\n' >"$T/mixed.in"
printf 'Subject: mixed\r\n\r\nline one\r\nline two\r\nbare\r\nCR ends a line\r\n' >"$T/mixed.exp"
deliver "mixed line ends" "$T/mixed.exp" -oi rcpt@example.org <"$T/mixed.in"

# No trailing newline: the last line is terminated.
printf 'Subject: no newline\n\nlast line' >"$T/nonl.in"
printf 'Subject: no newline\r\n\r\nlast line\r\n' >"$T/nonl.exp"
deliver "no trailing newline" "$T/nonl.exp" -oi rcpt@example.org <"$T/nonl.in"

# 8-bit text: BODY=8BITMIME when the server offers 8BITMIME.
printf 'Subject: caf\xc3\xa9\n\n\xe2\x82\xac 100\n\xff raw byte\n' >"$T/8bit.in"
crlf <"$T/8bit.in" >"$T/8bit.exp"
deliver "8-bit bytes" "$T/8bit.exp" -oi rcpt@example.org <"$T/8bit.in"
check "BODY=8BITMIME for an 8-bit message" grep -q 'BODY=8BITMIME' "$DIR/msg-$msgno.json"
check "SIZE= gives the exact size" \
    grep -q "SIZE=$(stat -c %s "$T/8bit.exp")" "$DIR/msg-$msgno.json"
deliver "7-bit message" "$T/lf.exp" -oi rcpt@example.org <"$T/lf.in"
check "no BODY= for a 7-bit message" lacks BODY= "$DIR/msg-$msgno.json"

# An empty message is still a message.
: >"$T/empty.exp"
deliver "empty message" "$T/empty.exp" -oi rcpt@example.org </dev/null

# Envelope: sender and every recipient, in order; -f overrides 'from'.
printf 'Subject: env\n\nx\n' >"$T/env.in"
crlf <"$T/env.in" >"$T/env.exp"
deliver "several recipients" "$T/env.exp" -oi -f other@example.net \
    a@example.org '<b@example.org>' c@example.org <"$T/env.in"
is "$("$TEST_PYTHON" -c 'import json,sys; e=json.load(open(sys.argv[1])); print(e["mail_from"], *e["rcpts"])' "$DIR/msg-$msgno.json")" \
    "other@example.net a@example.org b@example.org c@example.org" "envelope sender and recipients"

# Bcc fields (with folded continuation lines) are removed by default...
printf 'From: a@example.com\nBcc: hidden@example.org,\n  other-hidden@example.org\nTo: x@example.org\nbcc:  second@example.org\nSubject: bcc\n\nBcc: in the body stays\n' >"$T/bcc.in"
printf 'From: a@example.com\r\nTo: x@example.org\r\nSubject: bcc\r\n\r\nBcc: in the body stays\r\n' >"$T/bcc.exp"
deliver "Bcc header fields are removed" "$T/bcc.exp" -oi x@example.org <"$T/bcc.in"
# ...and kept with remove_bcc_headers off.
crlf <"$T/bcc.in" >"$T/bcc-kept.exp"
deliver "Bcc kept with --remove-bcc-headers=off" "$T/bcc-kept.exp" \
    --remove-bcc-headers=off -oi x@example.org <"$T/bcc.in"

# The EHLO name: 'domain' when set.
deliver "domain sets the EHLO name" "$T/env.exp" --domain=client.example -oi r@example.org <"$T/env.in"
check "EHLO client.example" grep -q '^C: EHLO client.example$' "$DIR/session-$msgno.log"

# Without PIPELINING each command waits for its reply; the bytes are the same.
start_server nopipe '{"ehlo": ["8BITMIME", "SIZE 1000000"]}'
run_outpost --port="$PORT" -oi a@example.org b@example.org <"$T/env.in"
is "$RC" 0 "without PIPELINING: exit 0"
check "without PIPELINING: stored bytes are exact" same_bytes "$DIR/msg-1.eml" "$T/env.exp"

# A server without EHLO gets HELO, and no ESMTP parameters.
start_server helo '{"ehlo": null}'
run_outpost --port="$PORT" -oi a@example.org <"$T/8bit.in"
is "$RC" 0 "HELO fallback: exit 0"
check "HELO fallback: stored bytes are exact" same_bytes "$DIR/msg-1.eml" "$T/8bit.exp"
check "HELO fallback: HELO was sent" grep -q '^C: HELO ' "$DIR/session-1.log"
check "HELO fallback: no SIZE or BODY parameters" grep -q '^C: MAIL FROM:<sender@example.com>$' "$DIR/session-1.log"

# IPv6 loopback, when the machine has it.
if "$TEST_PYTHON" -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
    start_server v6 "" "::1"
    run_outpost --host=::1 --port="$PORT" --from=s@example.com --set-from-header=off --set-date-header=off --set-msgid-header=off -oi a@example.org <"$T/env.in"
    is "$RC" 0 "IPv6 ::1: exit 0"
    check "IPv6 ::1: stored bytes are exact" same_bytes "$DIR/msg-1.eml" "$T/env.exp"
else
    echo "ok $((TAP_N += 1)) # SKIP no IPv6 loopback on this machine"
fi

done_testing
