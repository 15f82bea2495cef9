#!/bin/bash
# Failures: each gives the right sysexits code, one line naming what went
# wrong (with the server's words when it said something), and never a false
# success.
. "$srcdir/tests/lib.sh"

printf 'Subject: test\n\nbody\n' >"$T/msg"

# fault NAME SCRIPT_JSON: start a server with that script, point the config
# at it.
fault() {
    start_server "$1" "$2"
    write_config "$HOME/.outpostrc" \
        "account default" \
        "host 127.0.0.1" \
        "port $PORT" \
        "timeout 2" \
        "from sender@example.com"
}

# One line saying what went wrong; at most one more, of advice (advice.c).
one_line() { [ "$(grep -vc '^outpost: what to do: ' "$ERR")" -eq 1 ] && [ "$(wc -l <"$ERR")" -le 2 ]; }
no_data() { lacks '^C: DATA' "$DIR"/session-*.log; }
no_message() { ! ls "$DIR"/msg-*.eml >/dev/null 2>&1; }
# With PIPELINING, DATA goes in the envelope's group (RFC 2920 3.1): after a
# refusal no message text follows it, and nothing is delivered.
no_text() {
    no_message && lacks -E '^-- (closed during the data, after [1-9]|data for no recipient: [1-9])' \
        "$DIR"/session-*.log
}
NOPIPE='"ehlo": ["8BITMIME", "ENHANCEDSTATUSCODES"]'


# ---- refusals --------------------------------------------------------------
fault rcpt550 '{"faults": [{"at": "RCPT", "match": "bad@", "reply": "550 5.1.1 <bad@example.org>: Recipient address rejected: User unknown"}]}'
run_outpost -oi good@example.org bad@example.org <"$T/msg"
is "$RC" 67 "550 5.1.1 on one RCPT: exit 67 (EX_NOUSER)"
check "550 on RCPT: the recipient and the server's words are reported" \
    said "recipient <bad@example.org> refused (server said: 550 5.1.1 <bad@example.org>: Recipient address rejected: User unknown)"
check "550 on RCPT: the message is not sent to the others either" no_text
check "550 on RCPT, the other taken and DATA answered 354: the connection is dropped before any text" \
    grep -qx -- '-- closed during the data, after 0 bytes' "$DIR/session-1.log"
check "550 on RCPT: a summary line says the message was not sent" \
    said "message not sent: 1 of 2 recipients refused"

fault rcpt550np "{$NOPIPE, \"faults\": [{\"at\": \"RCPT\", \"match\": \"bad@\", \"reply\": \"550 5.1.1 User unknown\"}]}"
run_outpost -oi good@example.org bad@example.org <"$T/msg"
is "$RC" 67 "550 on one RCPT, no PIPELINING: exit 67"
check "550 on RCPT, no PIPELINING: no DATA" no_data
check "550 on RCPT, no PIPELINING: the transaction is reset" grep -q '^C: RSET' "$DIR/session-1.log"

fault rcpt554 '{"faults": [{"at": "RCPT", "reply": "554 5.7.1 <x@example.org>: Relay access denied"}]}'
run_outpost -oi x@example.org <"$T/msg"
is "$RC" 69 "554 5.7.1 on RCPT: exit 69 (EX_UNAVAILABLE)"
check "554 on RCPT: no text, and not the pipelined DATA's refusal but the recipient's is reported" \
    eval 'no_text && said "Relay access denied" && lacks "no valid recipients" "$ERR"'
check "554 on RCPT: the pipelined DATA refused, the transaction is reset" \
    grep -A1 -x 'S: 554 5.5.1 Error: no valid recipients' "$DIR/session-1.log" | grep -qx 'C: RSET'

fault rcpt554lax '{"data_without_rcpts": true, "faults": [{"at": "RCPT", "reply": "554 5.7.1 Relay access denied"}]}'
run_outpost -oi x@example.org y@example.org <"$T/msg"
is "$RC" 69 "no recipient taken, but DATA answered 354: exit 69"
check "no recipient taken, DATA answered 354: only the final dot went (RFC 2920 3.1)" \
    grep -qx -- '-- data for no recipient: 0 bytes' "$DIR/session-1.log"
check "no recipient taken, DATA answered 354: nothing delivered, the session ended with QUIT" \
    eval 'settled && no_message && grep -qx "C: QUIT" "$DIR/session-1.log"'

fault rcpt452 '{"faults": [{"at": "RCPT", "reply": "452 4.2.2 Mailbox full"}]}'
run_outpost -oi x@example.org <"$T/msg"
is "$RC" 75 "452 on RCPT: exit 75 (EX_TEMPFAIL)"

fault mail451 '{"faults": [{"at": "MAIL", "reply": "451 4.3.0 Try again later"}]}'
run_outpost -oi x@example.org <"$T/msg"
is "$RC" 75 "451 at MAIL: exit 75"
check "451 at MAIL: one line with the server's words" \
    said "sender <sender@example.com> refused (server said: 451 4.3.0 Try again later)"
check "451 at MAIL: no message text" no_text
check "451 at MAIL: exactly one line on stderr" one_line

fault mail553 '{"faults": [{"at": "MAIL", "reply": "553 5.7.1 Sender address rejected: not owned by user"}]}'
run_outpost -oi x@example.org <"$T/msg"
is "$RC" 69 "553 at MAIL: exit 69"

fault greet554 '{"greeting": "554 5.7.1 No SMTP service here"}'
run_outpost -oi x@example.org <"$T/msg"
is "$RC" 69 "554 greeting: exit 69"
check "554 greeting: the server's words" said "(server said: 554 5.7.1 No SMTP service here)"
check "554 greeting: nothing but QUIT sent" lacks '^C: \(EHLO\|MAIL\)' "$DIR/session-1.log"

fault ehlo550 '{"faults": [{"at": "EHLO", "reply": "550 5.7.1 Go away", "action": "close"}]}'
run_outpost -oi x@example.org <"$T/msg"
is "$RC" 69 "550 to EHLO, then the connection closed: exit 69, not a network error"
check "550 to EHLO then closed: the server's words about EHLO" \
    said "the server refused EHLO, then did not answer HELO (server said: 550 5.7.1 Go away)"

fault greet421 '{"greeting": "421 4.3.2 Service not available, closing channel"}'
run_outpost -oi x@example.org <"$T/msg"
is "$RC" 75 "421 greeting: exit 75"

fault data554 '{"faults": [{"at": "DATA", "reply": "554 5.5.1 Error: no valid recipients"}]}'
run_outpost -oi x@example.org <"$T/msg"
is "$RC" 69 "554 to DATA: exit 69"
check "554 to DATA: nothing stored" no_message

fault end552 '{"faults": [{"at": "DATA_END", "reply": "552 5.3.4 Message size exceeds fixed limit"}]}'
run_outpost -oi x@example.org <"$T/msg"
is "$RC" 69 "552 after the message: exit 69"
check "552 after the message: the server's words" said "552 5.3.4 Message size exceeds fixed limit"

fault end451 '{"faults": [{"at": "DATA_END", "reply": "451 4.3.0 Queue file write error"}]}'
run_outpost -oi x@example.org <"$T/msg"
is "$RC" 75 "451 after the message: exit 75"

fault size '{"ehlo": ["SIZE 10"]}'
run_outpost -oi x@example.org <"$T/msg"
is "$RC" 69 "larger than the server's SIZE: exit 69"
check "larger than SIZE: refused before MAIL" lacks '^C: MAIL' "$DIR/session-1.log"
check "larger than SIZE: says so" said "larger than the server accepts (10 bytes)"

# ---- the network -------------------------------------------------------------
unused=$(free_port)
run_outpost --host=127.0.0.1 --port="$unused" --from=s@example.com -oi x@example.org <"$T/msg"
is "$RC" 75 "connection refused: exit 75"
check "connection refused: says so" said "Connection refused"
check "connection refused: one line" one_line

fault closeconn '{"faults": [{"at": "CONNECT", "action": "close"}]}'
run_outpost -oi x@example.org <"$T/msg"
is "$RC" 75 "closed before the greeting: exit 75"

fault stall '{"faults": [{"at": "CONNECT", "action": "stall"}]}'
start=$(now)
run_outpost -oi x@example.org <"$T/msg"
ms=$(elapsed_ms "$start" "$(now)")
is "$RC" 75 "stalled server: exit 75"
check "stalled server: gave up after the 2 s timeout" test "$ms" -ge 1900 -a "$ms" -lt 4000
echo "# took $ms ms"
check "stalled server: says it waited for the greeting" said "waiting for the greeting: the server did not answer within 2 s"

fault stallend '{"faults": [{"at": "DATA_END", "action": "stall"}]}'
start=$(now)
run_outpost -oi x@example.org <"$T/msg"
ms=$(elapsed_ms "$start" "$(now)")
is "$RC" 75 "no reply after the final dot: exit 75"
check "no reply after the final dot: 'may have been delivered'" said "may have been delivered"
check "no reply after the final dot: within the timeout" test "$ms" -lt 4000
echo "# took $ms ms"

fault closeend '{"faults": [{"at": "DATA_END", "action": "close"}]}'
run_outpost -oi x@example.org <"$T/msg"
is "$RC" 75 "connection closed after the final dot: exit 75"
check "connection closed after the final dot: 'may have been delivered'" said "may have been delivered"

printf 'Subject: big\n\n' >"$T/big"
head -c 3000000 /dev/zero | tr '\0' 'x' | fold -w 70 >>"$T/big"
fault midbody '{"faults": [{"at": "DATA_BODY", "action": "reset"}]}'
run_outpost -oi x@example.org <"$T/big"
is "$RC" 75 "connection reset in the middle of the message: exit 75"
check "reset mid-body: one line" one_line

# ---- hostile replies -----------------------------------------------------------
fault garbage '{"greeting": "hello there"}'
run_outpost -oi x@example.org <"$T/msg"
is "$RC" 76 "malformed greeting: exit 76 (EX_PROTOCOL)"
check "malformed greeting: shows what came" said "the server sent a malformed reply: 'hello there'"

fault code600 '{"faults": [{"at": "MAIL", "reply": "600 what"}]}'
run_outpost -oi x@example.org <"$T/msg"
is "$RC" 76 "reply code 600: exit 76"
fault code199 '{"faults": [{"at": "MAIL", "reply": "199 what"}]}'
run_outpost -oi x@example.org <"$T/msg"
is "$RC" 76 "reply code 199: exit 76"

fault mismatch '{"faults": [{"at": "EHLO", "raw": "250-first\r\n251 second\r\n"}]}'
run_outpost -oi x@example.org <"$T/msg"
is "$RC" 76 "multi-line reply with mismatched codes: exit 76"

long=$(head -c 5000 /dev/zero | tr '\0' 'a')
fault longline "{\"faults\": [{\"at\": \"MAIL\", \"reply\": \"250 $long\"}]}"
run_outpost -oi x@example.org <"$T/msg"
is "$RC" 76 "a 5000-byte reply line: exit 76"
check "a 5000-byte reply line: says the line is too long" said "longer than 4096 bytes"

many=$("$TEST_PYTHON" -c 'print("".join("250-line %d\r\n" % i for i in range(1200)) + "250 end\r\n", end="")' | "$TEST_PYTHON" -c 'import json,sys; print(json.dumps(sys.stdin.read()))')
fault manylines "{\"faults\": [{\"at\": \"EHLO\", \"raw\": $many}]}"
run_outpost -oi x@example.org <"$T/msg"
is "$RC" 76 "a 1200-line reply: exit 76"
check "a 1200-line reply: says so" said "more than 1000 lines"

fault escape '{"faults": [{"at": "MAIL", "raw": "550 5.7.1 \u001b[31mred\u001b[0m \u0007 denied\r\n"}]}'
run_outpost -oi x@example.org <"$T/msg"
is "$RC" 69 "a refusal with terminal escapes: exit 69"
check "terminal escapes in the server's words are not passed to the terminal" \
    bash -c "! grep -q $'\x1b' '$ERR' && ! grep -q $'\x07' '$ERR' && grep -q '?\[31mred' '$ERR'"

# ---- the message ---------------------------------------------------------------
fault nulbyte ''
printf 'Subject: nul\n\nbad \0 byte\n' >"$T/nul.msg"
run_outpost -oi x@example.org <"$T/nul.msg"
is "$RC" 65 "a NUL byte in the message: exit 65 (EX_DATAERR)"
check "a NUL byte: names the line" said "NUL byte (line 3)"
check "a NUL byte: nothing was sent" bash -c "! ls '$DIR'/session-*.log >/dev/null 2>&1"

done_testing
