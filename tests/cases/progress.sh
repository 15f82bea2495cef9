#!/bin/bash
# Progress on a terminal: a long send or a queue flush shows one line on
# stderr, redrawn in place and cleared at the end; nothing with --quiet,
# for a small message, or when stderr is not a terminal.
. "$srcdir/tests/lib.sh"

# ontty ERRFILE ARG...: outpost with stderr on a pseudo-terminal
ontty() {
    local errfile=$1
    shift
    "$TEST_PYTHON" "$srcdir/tests/tools/ontty.py" "$errfile" "$OUTPOST" "$@" >"$OUT"
    RC=$?
}
CR=$'\r'
CLEAR=$'\r\033[K'

"$TEST_PYTHON" -c 'import sys
line = b"x" * 78 + b"\n"
sys.stdout.buffer.write(b"Subject: big\n\n" + line * (16 * 1024 * 1024 // len(line)))' >"$T/big"
printf 'Subject: small\n\nsmall\n' >"$T/small"

# The server reads at 8 MB/s, so 16 MB take about two seconds.
start_server slow '{"read_rate": 8000000}'
write_config "$HOME/.outpostrc" "account default" "host localhost" "port $PORT" \
    "from sender@example.com" "${KEEP_HEADERS[@]}"

ontty "$T/tty" -oi rcpt@example.org <"$T/big"
is "$RC" 0 "a 16 MB message on a terminal: exit 0"
check "the progress line: how much of the total" \
    grep -aqE "^${CR}outpost: sending 0 KB of 16.2 MB \\(0%\\)" "$T/tty"
check "later: the rate and the time left" grep -aqE 'outpost: sending [0-9.]+ MB of [0-9.]+ MB \([0-9]+%\), [0-9.]+ [KM]B/s, [0-9]+ s left' "$T/tty"
check "redrawn in place: several carriage returns, no new line" \
    sh -c '[ "$(tr -cd "\r" <"$0" | wc -c)" -ge 3 ] && [ "$(tr -cd "\n" <"$0" | wc -c)" -eq 0 ]' "$T/tty"
check "cleared at the end" sh -c '[ "$(tail -c 4 "$0" | od -An -c | tr -d " ")" = "\r033[K" ]' "$T/tty"
check "the message arrived whole" same_bytes "$DIR/msg-1.eml" <(crlf <"$T/big")

# The rest need no slow server.
start_server fast
write_config "$HOME/.outpostrc" "account default" "host localhost" "port $PORT" \
    "from sender@example.com"
ontty "$T/tty" --quiet -oi rcpt@example.org <"$T/big"
is "$RC" 0 "--quiet: exit 0"
check "--quiet: nothing on the terminal" test ! -s "$T/tty"
ontty "$T/tty" -oi rcpt@example.org <"$T/small"
check "a small message: nothing on the terminal" test ! -s "$T/tty"
"$OUTPOST" -oi rcpt@example.org <"$T/big" >"$OUT" 2>"$ERR"
is "$?" 0 "stderr not a terminal: exit 0"
check "stderr not a terminal: nothing on it" test ! -s "$ERR"

# A failure: the line goes before the error is printed.
start_server refuses '{"read_rate": 8000000, "faults": [{"at": "DATA_END", "reply": "554 5.6.0 Rejected"}]}'
write_config "$HOME/.outpostrc" "account default" "host localhost" "port $PORT" \
    "from sender@example.com"
ontty "$T/tty" -oi rcpt@example.org <"$T/big"
is "$RC" 69 "a refusal after a long send: exit 69"
check "the progress line is cleared before the error line" \
    grep -aqF "${CLEAR}outpost: " "$T/tty"
check "the error line is whole, with the server's words" \
    grep -aqF "${CLEAR}outpost: the server refused the message (server said: 554 5.6.0 Rejected)$CR" "$T/tty"

# A queue flush.
closed_port >"$T/closed"
write_config "$HOME/.outpostrc" "account default" "host localhost" "port $(cat "$T/closed")" \
    "from sender@example.com" "queue on"
for i in 1 2 3; do "$OUTPOST" -oi rcpt@example.org <"$T/small" 2>/dev/null; done
start_server flush
sed -i "s/^port .*/port $PORT/" "$HOME/.outpostrc"
ontty "$T/tty" -q
is "$RC" 0 "a queue flush on a terminal: exit 0"
check "flush: the count of messages" grep -aqF "${CR}outpost: flushing the queue: 0 of 3 messages (0%)" "$T/tty"
check "flush: the summary comes after the line is cleared" \
    grep -aqF "${CLEAR}outpost: queue " "$T/tty"
check "flush: all three delivered" test -e "$DIR/msg-3.eml"

done_testing
