#!/bin/bash
# What makes a run fast, checked as behaviour (never as time, so a slow
# machine cannot fail it): CHUNKING/BDAT, one write per command group,
# nothing loaded or looked up that the run does not need.
. "$srcdir/tests/lib.sh"

{
    printf 'Subject: chunked\n\n.leading dot\n..two dots\n.\nafter a lone dot\ncaf\303\251\n'
    printf 'last line without newline'
} >"$T/msg"
crlf <"$T/msg" >"$T/msg.crlf"
printf '\r\n' >>"$T/msg.crlf" # the unterminated last line is terminated
size=$(stat -c %s "$T/msg.crlf")

config() {
    write_config "$HOME/.outpostrc" "account default" "host 127.0.0.1" "port $PORT" \
        "from sender@example.com" "${KEEP_HEADERS[@]}" "timeout 5" "domain client.example" "$@"
}
send() { run_outpost -oi rcpt@example.org other@example.org <"${1:-$T/msg}"; }
CHUNKING='"ehlo": ["PIPELINING", "CHUNKING", "8BITMIME", "SIZE 100000000"]'

# ---- BDAT ---------------------------------------------------------------------
start_server chunking "{$CHUNKING}"
config
send
is "$RC" 0 "CHUNKING offered: delivered"
check "the message went as one BDAT chunk of its exact size, marked LAST" \
    grep -qx "C: BDAT $size LAST" "$DIR/session-1.log"
check "no DATA command with CHUNKING" lacks "^C: DATA" "$DIR/session-1.log"
check "BDAT: the message arrived byte for byte, with no dot-stuffing" \
    same_bytes "$DIR/msg-1.eml" "$T/msg.crlf"
check "BDAT: MAIL FROM declares SIZE and 8BITMIME" \
    grep -qx "C: MAIL FROM:<sender@example.com> SIZE=$size BODY=8BITMIME" "$DIR/session-1.log"

# A large message, several times any buffer outpost has.
"$TEST_PYTHON" -c '
import sys
sys.stdout.buffer.write(b"Subject: big\n\n" + b"".join(b".%07d line of the body\n" % i for i in range(200000)))' >"$T/big"
crlf <"$T/big" >"$T/big.crlf"
send "$T/big"
is "$RC" 0 "BDAT: a 5 MB message is delivered"
check "BDAT: the 5 MB message arrived byte for byte" same_bytes "$DIR/msg-2.eml" "$T/big.crlf"

start_server refused "{$CHUNKING, \"faults\": [{\"at\": \"DATA_END\", \"reply\": \"554 5.7.1 Message rejected as spam\"}]}"
config
send
is "$RC" 69 "BDAT: a 554 to the last chunk is a refusal (exit 69)"
check "BDAT refused: the server's words are shown" said "554 5.7.1 Message rejected as spam"

start_server lost "{$CHUNKING, \"faults\": [{\"at\": \"DATA_END\", \"action\": \"close\"}]}"
config
send
is "$RC" 75 "BDAT: the connection lost before the final reply: exit 75"
check "BDAT, reply lost: the message may have been delivered, and outpost says so" \
    said "may have been delivered"

start_server nochunking '{"ehlo": ["PIPELINING", "8BITMIME"]}'
config
send
is "$RC" 0 "without CHUNKING: delivered"
check "without CHUNKING: DATA, dot-stuffed" grep -q '^C: DATA' "$DIR/session-1.log"
check "without CHUNKING: the message arrived byte for byte" same_bytes "$DIR/msg-1.eml" "$T/msg.crlf"

# ---- round trips ------------------------------------------------------------------
# The scripted server logs "-- client's turn" each time data comes from the
# client after it wrote: a round trip. With QUIT's 221 not waited for (which
# quit_wait shows), the client waits once per turn. What the RFCs allow:
# with PIPELINING, DATA closes the MAIL/RCPT group (RFC 2920 3.1), and so
# does a one-recipient BDAT LAST chunk (RFC 3030).
turns() { grep -c "^-- client's turn" "$DIR/session-${1:-1}.log"; }
roundtrips() { # NAME EXPECTED DESCRIPTION
    local n
    settled
    n=$(turns)
    is "$n" "$2" "$1: $2 round trips: $3"
    [ "$n" -eq "$2" ] || sed 's/^/#   /' "$DIR/session-1.log"
}
no_221_wait() { settled && grep -qx -- '-- the client left without waiting for the 221' "$DIR/session-1.log"; }

start_server rt-data '{"quit_wait": 3, "ehlo": ["PIPELINING", "8BITMIME"]}'
config
run_outpost -oi rcpt@example.org other@example.org <"$T/msg"
is "$RC" 0 "PIPELINING, DATA: delivered"
roundtrips "PIPELINING, DATA" 4 "the greeting; EHLO; MAIL, RCPT, RCPT, DATA; the text and the dot"
check "QUIT: its 221 is not waited for" no_221_wait

start_server rt-bdat1 "{\"quit_wait\": 3, $CHUNKING}"
config
run_outpost -oi rcpt@example.org <"$T/msg"
is "$RC" 0 "PIPELINING and CHUNKING, one recipient: delivered"
roundtrips "CHUNKING, one recipient" 3 "the greeting; EHLO; MAIL, RCPT and the chunk in one group"
check "CHUNKING, one recipient: the message arrived byte for byte" same_bytes "$DIR/msg-1.eml" "$T/msg.crlf"
check "CHUNKING, one recipient: no 221 waited for" no_221_wait

start_server rt-bdat2 "{$CHUNKING}"
config
send
roundtrips "CHUNKING, two recipients" 4 "the chunk waits for the RCPT replies (a refusal stops it for both)"

start_server rt-plain '{"quit_wait": 3, "ehlo": ["8BITMIME"]}'
config
run_outpost -oi rcpt@example.org <"$T/msg"
is "$RC" 0 "no PIPELINING: delivered"
roundtrips "no PIPELINING" 6 "one command at a time"
check "no PIPELINING: no 221 waited for either" no_221_wait

start_server rt-lmtp '{"lmtp": {"refuse": ["other@example.org"]}, "ehlo": ["PIPELINING", "8BITMIME"]}'
config "protocol lmtp"
send
is "$RC" 69 "LMTP, one recipient refused after the data: exit 69 as before"
check "LMTP: the other recipient has it" grep -q 'rcpt@example.org' "$DIR/msg-1.json"
roundtrips "LMTP with PIPELINING" 4 "as SMTP: DATA in the group"

start_server rt-452 '{"max_rcpts": 1, "ehlo": ["PIPELINING", "8BITMIME"]}'
config
send
is "$RC" 0 "452 after one recipient: delivered in two transactions"
is "$(ls "$DIR"/msg-*.eml | wc -l)" 2 "452: two messages stored"
roundtrips "452 continuation" 6 "two transactions of two round trips each"

start_server rt-final '{"ehlo": ["PIPELINING", "8BITMIME"], "faults": [{"at": "DATA_END", "reply": "554 5.7.1 rejected"}]}'
config
run_outpost -oi rcpt@example.org <"$T/msg"
is "$RC" 69 "PIPELINING, a 554 after the dot: exit 69, no false success"
check "a 554 after the dot: the server's words" said "554 5.7.1 rejected"

start_server rt-lost '{"ehlo": ["PIPELINING", "CHUNKING"], "faults": [{"at": "DATA_END", "action": "close"}]}'
config
run_outpost -oi rcpt@example.org <"$T/msg"
is "$RC" 75 "CHUNKING in the group, closed before the chunk's reply: exit 75"
check "...it may have been delivered, and outpost says so" said "may have been delivered"

start_server rt-lostrcpt '{"ehlo": ["PIPELINING", "CHUNKING"], "faults": [{"at": "RCPT", "action": "reset"}]}'
config
run_outpost -oi rcpt@example.org <"$T/msg"
is "$RC" 75 "CHUNKING in the group, reset at RCPT: exit 75"
check "...the chunk had gone, so it may have been delivered: outpost says so" said "may have been delivered"

# ---- system calls ----------------------------------------------------------------
if ! command -v strace >/dev/null || ! strace -o /dev/null true 2>/dev/null; then
    skip_all_rest=1
    ok 0 "# SKIP strace is not available: write coalescing and start-up checks not run"
else
    skip_all_rest=0
fi

# traced ARG...: run outpost under strace (stdin: the message), into $T/trace
traced() {
    LANG=C.UTF-8 LC_ALL= ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" strace -f -s 256 -e trace=openat,connect,sendto,write \
        -o "$T/trace" "$OUTPOST" "$@" <"$T/msg" >/dev/null 2>&1
}
# socket_writes: the writes to the SMTP connection, one line each
socket_writes() { grep -E '^[0-9]+ +sendto\(' "$T/trace"; }

if [ "$skip_all_rest" -eq 0 ]; then
    start_server pipelined "{$CHUNKING}"
    config
    traced -oi rcpt@example.org other@example.org
    writes=$(socket_writes | wc -l)
    is "$writes" 4 "a whole send with PIPELINING and CHUNKING, two recipients, takes four writes (EHLO, envelope, chunk, QUIT)"
    [ "$writes" -eq 4 ] || socket_writes | cut -c1-120 | sed 's/^/#   /'
    check "MAIL FROM and every RCPT TO leave in one write" \
        grep -qE 'sendto\([0-9]+, "MAIL FROM:<sender@example.com>[^"]*\\r\\nRCPT TO:<rcpt@example.org>\\r\\nRCPT TO:<other@example.org>\\r\\n"' "$T/trace"
    check "BDAT and the message leave in one write" \
        grep -qE "sendto\([0-9]+, \"BDAT $size LAST\\\\r\\\\nSubject: chunked" "$T/trace"

    traced -oi rcpt@example.org
    writes=$(socket_writes | wc -l)
    is "$writes" 3 "one recipient: three writes (EHLO; the envelope and the chunk; QUIT)"
    [ "$writes" -eq 3 ] || socket_writes | cut -c1-120 | sed 's/^/#   /'

    start_server datamode '{"ehlo": ["PIPELINING"]}'
    config
    traced -oi rcpt@example.org
    check "with DATA, the message and its final dot leave in one write" \
        grep -qE 'sendto\([0-9]+, "Subject: chunked.*last line without newline\\r\\n\.\\r\\n"' "$T/trace"
    check "with DATA, it closes the envelope's group" \
        grep -qE 'sendto\([0-9]+, "MAIL FROM:[^"]*\\r\\nRCPT TO:<rcpt@example.org>\\r\\nDATA\\r\\n"' "$T/trace"

    # No delayed ACK of ours may hold a server's reply: TCP_QUICKACK is set
    # before every wait to read, in the TLS handshake too (the kernel
    # clears it, so once would not do).
    # quickack_waits: "WAITS ARMED" over the trace: the polls for input on
    # the SMTP connection, and those the syscall just before armed.
    quickack_waits() {
        awk -v fd="$1" '
            $2 ~ "^setsockopt\\(" fd "," && /TCP_QUICKACK, \[1\]/ { armed = 1; next }
            $0 ~ "^[0-9]+ +poll\\(\\[\\{fd=" fd ", events=POLLIN" { waits++; if (armed) ok++; armed = 0; next }
            $2 ~ "^(poll|setsockopt)\\(" { armed = 0 }
            END { printf "%d %d\n", waits, ok }' "$T/trace"
    }
    smtp_fd() { grep -E "^[0-9]+ +connect\([0-9]+, .*htons\($PORT\)" "$T/trace" | sed -E 's/^[0-9]+ +connect\(([0-9]+),.*/\1/' | tail -1; }
    ackcheck() { # NAME: every wait armed, and there were waits
        local fd counts
        fd=$(smtp_fd)
        counts=$(quickack_waits "$fd")
        check "$1: TCP_QUICKACK armed before each of the ${counts% *} waits for the server" \
            test "${counts% *}" -ge 3 -a "${counts% *}" = "${counts#* }"
        [ "${counts% *}" = "${counts#* }" ] ||
            grep -E "^[0-9]+ +(poll|setsockopt)\($fd," "$T/trace" | head -20 | sed 's/^/#   /'
    }
    ack_traced() {
        LANG=C.UTF-8 LC_ALL= ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" strace -f -e trace=connect,poll,setsockopt \
            -o "$T/trace" "$OUTPOST" "$@" <"$T/msg" >/dev/null 2>&1
    }
    start_server quickack "{$CHUNKING}"
    config
    ack_traced -oi rcpt@example.org
    ackcheck "plain SMTP"
    if command -v certtool >/dev/null && sh "$srcdir/tests/tools/mkcerts.sh" "$T/pki" >/dev/null 2>&1; then
        for mode in implicit starttls; do
            start_server "quickack-$mode" "{\"tls\": {\"mode\": \"$mode\", \"cert\": \"$T/pki/server.pem\", \"key\": \"$T/pki/key.pem\"}}"
            write_config "$HOME/.outpostrc" "account default" "host localhost" "port $PORT" \
                "from sender@example.com" "timeout 5" "tls on" "tls_trust_file $T/pki/ca.pem" \
                "tls_starttls $([ "$mode" = starttls ] && echo on || echo off)" "tls_resume off"
            ack_traced -oi rcpt@example.org
            ackcheck "$mode TLS, a full handshake"
        done
    fi

    # Nothing is loaded or looked up that this run does not need.
    start_server startup "{$CHUNKING}"
    config "auth plain" "user u" "password p" "tls off" "auth_without_tls on"
    # (the server offers no AUTH: the run fails, after the point that matters)
    traced -oi rcpt@example.org
    check "a password in the configuration: libsecret is not loaded" \
        lacks "libsecret" "$T/trace"
    check "no OAuth 2.0: neither libcurl nor jansson is loaded" lacks -E "libcurl|libjansson" "$T/trace"
    config
    traced -oi rcpt@example.org
    check "with domain set and a numeric host, no name lookup at all (no hosts file, no DNS)" \
        lacks -E "/etc/hosts|/etc/resolv.conf|htons\(53\)" "$T/trace"
    check "no locale data is read, though LANG is set (outpost never calls setlocale)" \
        lacks -E "/usr/lib/locale|/usr/share/locale" "$T/trace"
    check "without TLS, no trust store is read" \
        lacks -E "ca-certificates|/etc/ssl" "$T/trace"
    write_config "$HOME/.outpostrc" "account default" "host 127.0.0.1" "port $PORT" \
        "from sender@example.com" "timeout 5"
    traced -oi rcpt@example.org
    check "without domain, this machine's name is looked up (so the check above can fail)" \
        grep -qE "/etc/hosts|/etc/resolv.conf|/etc/nsswitch.conf" "$T/trace"
fi

done_testing
