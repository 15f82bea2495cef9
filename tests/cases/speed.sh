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
    is "$writes" 4 "a whole send with PIPELINING and CHUNKING takes four writes (EHLO, envelope, message, QUIT)"
    [ "$writes" -eq 4 ] || socket_writes | cut -c1-120 | sed 's/^/#   /'
    check "MAIL FROM and every RCPT TO leave in one write" \
        grep -qE 'sendto\([0-9]+, "MAIL FROM:<sender@example.com>[^"]*\\r\\nRCPT TO:<rcpt@example.org>\\r\\nRCPT TO:<other@example.org>\\r\\n"' "$T/trace"
    check "BDAT and the message leave in one write" \
        grep -qE "sendto\([0-9]+, \"BDAT $size LAST\\\\r\\\\nSubject: chunked" "$T/trace"

    start_server datamode '{"ehlo": ["PIPELINING"]}'
    config
    traced -oi rcpt@example.org
    check "with DATA, the message and its final dot leave in one write" \
        grep -qE 'sendto\([0-9]+, "Subject: chunked.*last line without newline\\r\\n\.\\r\\n"' "$T/trace"

    # Nothing is loaded or looked up that this run does not need.
    start_server startup "{$CHUNKING}"
    config "auth plain" "user u" "password p" "tls off" "auth_without_tls on"
    # (the server offers no AUTH: the run fails, after the point that matters)
    traced -oi rcpt@example.org
    check "a password in the configuration: libsecret is not loaded" \
        lacks "libsecret" "$T/trace"
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
