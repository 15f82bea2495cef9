#!/bin/bash
# Other ways in and out: -bs (SMTP on stdin/stdout), --serve (a loopback
# listener), LMTP over a unix socket, and a SOCKS5 proxy.
. "$srcdir/tests/lib.sh"

start_server upstream
UP_DIR=$DIR UP_PORT=$PORT
write_config "$HOME/.outpostrc" "account default" "host 127.0.0.1" "port $PORT" "timeout 10" \
    "from sender@example.com" "${KEEP_HEADERS[@]}" "aliases $T/aliases"
printf 'root: admin@example.org\n' >"$T/aliases"
stored() { ls "$UP_DIR"/msg-*.eml 2>/dev/null | wc -l; }

# ---- -bs ------------------------------------------------------------------------
printf '%s\r\n' "EHLO client.example" "MAIL FROM:<app@example.com>" "RCPT TO:<one@example.org>" \
    "RCPT TO:<root>" "DATA" "Subject: via -bs" "" "..dot line" "body" "." \
    "MAIL FROM:<app@example.com>" "RCPT TO:<nobody>" "DATA" "Subject: 2" "" "x" "." "QUIT" \
    >"$T/bs.in"
"$OUTPOST" -bs <"$T/bs.in" >"$T/bs.out" 2>"$T/bs.err"
is "$?" 0 "-bs: exit 0 after QUIT"
tr -d '\r' <"$T/bs.out" >"$T/bs.replies"
check "-bs: greets with 220" grep -q '^220 .* outpost ESMTP' "$T/bs.replies"
check "-bs: EHLO lists PIPELINING and 8BITMIME" sh -c "grep -q '^250-PIPELINING' '$T/bs.replies' && grep -q '^250-8BITMIME' '$T/bs.replies'"
check "-bs: the first message is accepted after delivery" grep -q '^250 2.0.0 message accepted' "$T/bs.replies"
is "$(stored)" 1 "-bs: one message reached the server"
printf 'Subject: via -bs\r\n\r\n.dot line\r\nbody\r\n' >"$T/bs1.exp"
check "-bs: delivered byte for byte, dot-stuffing undone" same_bytes "$UP_DIR/msg-1.eml" "$T/bs1.exp"
is "$("$TEST_PYTHON" -c 'import json,sys; e=json.load(open(sys.argv[1])); print(e["mail_from"], *e["rcpts"])' "$UP_DIR/msg-1.json")" \
    "app@example.com one@example.org admin@example.org" "-bs: envelope from MAIL and RCPT, aliases applied"
check "-bs: an undeliverable local name gets 550 with outpost's reason" \
    grep -q "^550 5.1.1 local recipient 'nobody' is not in the aliases file" "$T/bs.replies"
check "-bs: QUIT is answered" grep -q '^221 ' "$T/bs.replies"
# Replies wait until the server would wait for the client: a multi-line
# reply and the replies to a pipelined group leave in one write each.
if command -v strace >/dev/null && strace -o /dev/null true 2>/dev/null; then
    printf '%s\r\n' "EHLO client.example" "MAIL FROM:<app@example.com>" "RCPT TO:<one@example.org>" \
        "RCPT TO:<two@example.org>" "RSET" "QUIT" >"$T/pipe.in"
    ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" strace -s 2048 -e trace=write -o "$T/bs.trace" \
        "$OUTPOST" -bs <"$T/pipe.in" >"$T/pipe.out" 2>/dev/null
    check "-bs: every reply line was sent" test "$(tr -d '\r' <"$T/pipe.out" | grep -c '^[0-9]')" -ge 11
    check "-bs: the greeting goes before the server waits for the client" \
        grep -qE '^write\(1, "220 [^"]*\\r\\n", [0-9]+\)' "$T/bs.trace"
    check "-bs: the EHLO reply and the group's replies leave together, in one write" \
        grep -qE '^write\(1, "250-[^"]*\\r\\n250-PIPELINING[^"]*\\r\\n250 [^"]*\\r\\n250 2\.1\.0[^"]*\\r\\n250 2\.1\.5[^"]*\\r\\n250 2\.1\.5[^"]*\\r\\n250 [^"]*\\r\\n221 ' "$T/bs.trace"
    is "$(grep -c '^write(1,' "$T/bs.trace")" 2 "-bs: a script read at once is answered in two writes (the greeting, the rest)"
else
    skip 4 "strace is not available"
fi

printf '%s\r\n' "EHLO c" "MAIL FROM:<a@example.com>" "RCPT TO:<b@example.org>" "DATA" "Subject: cut" "" "partial" \
    >"$T/cut.in"
"$OUTPOST" -bs <"$T/cut.in" >"$T/cut.out" 2>&1
is "$(stored)" 1 "-bs: a client that leaves inside DATA: nothing is delivered"
printf '%s\r\n' "EHLO c" "MAIL FROM:<a@example.com>" "RCPT TO:<b@example.org>$(printf '\r')RCPT TO:<c@example.org>" "QUIT" >"$T/inj.in"
"$OUTPOST" -bs <"$T/inj.in" >"$T/inj.out" 2>&1
check "-bs: a recipient with a bare CR is refused" grep -q '^501 ' "$T/inj.out"

# ---- --serve ------------------------------------------------------------------------
SERVE_PORT=$("$TEST_PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$OUTPOST" --serve=127.0.0.1:"$SERVE_PORT" >"$T/serve.out" 2>"$T/serve.err" &
SERVE_PID=$!
stop_serve() { kill "$SERVE_PID" 2>/dev/null; wait "$SERVE_PID" 2>/dev/null; }
at_exit stop_serve
for i in $(seq 1 100); do grep -q listening "$T/serve.err" 2>/dev/null && break; sleep 0.05; done
check "--serve: says where it listens" grep -q "listening on 127.0.0.1 port $SERVE_PORT" "$T/serve.err"
"$TEST_PYTHON" - "$SERVE_PORT" >"$T/smtplib.out" 2>&1 <<'EOF'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=20)
s.ehlo("app.example")
r1 = s.sendmail("app@example.com", ["first@example.org"], b"Subject: one\r\n\r\nfirst\r\n")
r2 = s.sendmail("app@example.com", ["second@example.org", "root"], b"Subject: two\r\n\r\nsecond\r\n")
try:
    s.sendmail("app@example.com", ["nobody"], b"Subject: three\r\n\r\nthird\r\n")
    print("third accepted")
except smtplib.SMTPDataError as e:
    print("third refused", e.smtp_code)
s.quit()
print("done", r1, r2)
EOF
is "$?" 0 "--serve: smtplib sent two messages over one connection"
check "--serve: both were accepted, the bad one refused with 550" \
    sh -c "grep -q '^third refused 550' '$T/smtplib.out' && grep -q '^done {} {}' '$T/smtplib.out'"
is "$(stored)" 3 "--serve: both messages reached the server"
check "--serve: first message intact" grep -q '^first' "$UP_DIR/msg-2.eml"
is "$("$TEST_PYTHON" -c 'import json,sys; e=json.load(open(sys.argv[1])); print(e["mail_from"], *e["rcpts"])' "$UP_DIR/msg-3.json")" \
    "app@example.com second@example.org admin@example.org" "--serve: second message's envelope, aliases applied"
"$OUTPOST" --serve=127.0.0.1:"$SERVE_PORT" >/dev/null 2>"$T/serve2.err"
is "$?" 71 "--serve on a port in use: exit 71"
check "--serve on a port in use: says why" grep -q "cannot listen on 127.0.0.1 port $SERVE_PORT" "$T/serve2.err"
stop_serve

# ---- LMTP over a unix socket ------------------------------------------------------------
SERVER_FLAGS="--unix $T/lmtp.sock" start_server lmtp '{"lmtp": {"refuse": ["full@example.org"]}}' || true
write_config "$HOME/.outpostrc" "account default" "protocol lmtp" "socket $T/lmtp.sock" \
    "from sender@example.com" "timeout 10"
run_outpost -i a@example.org local-user < <(printf 'Subject: lmtp\n\nx\n')
is "$RC" 0 "LMTP over a socket: exit 0"
[ "$RC" -eq 0 ] || diag "$ERR"
check "LMTP: LHLO was used" grep -q '^C: LHLO ' "$DIR/session-1.log"
check "LMTP: a bare local name goes to the LMTP server as it is" grep -q '^C: RCPT TO:<local-user>' "$DIR/session-1.log"
run_outpost -i a@example.org full@example.org < <(printf 'Subject: lmtp\n\nx\n')
is "$RC" 69 "LMTP: one recipient refused after the data: exit 69"
check "LMTP: the refused recipient is named" said "delivery to <full@example.org> refused"
write_config "$HOME/.outpostrc" "account default" "protocol lmtp" "socket $T/missing.sock" \
    "from sender@example.com"
run_outpost -i a@example.org < <(printf 'x\n')
is "$RC" 78 "a missing socket: exit 78"
check "a missing socket: named" said "$T/missing.sock"

# ---- SOCKS5 ------------------------------------------------------------------------------
"$TEST_PYTHON" "$srcdir/tests/tools/socks5.py" --port-file "$T/socks.port" --log "$T/socks.log" 2>"$T/socks.err" &
SERVER_PIDS+=($!)
for i in $(seq 1 100); do [ -s "$T/socks.port" ] && break; sleep 0.05; done
SOCKS_PORT=$(cat "$T/socks.port")
write_config "$HOME/.outpostrc" "account default" "host localhost" "port $UP_PORT" "timeout 10" \
    "from sender@example.com" "proxy_host 127.0.0.1" "proxy_port $SOCKS_PORT"
before=$(stored)
run_outpost -i via@example.org < <(printf 'Subject: socks\n\nx\n')
is "$RC" 0 "SOCKS5: delivered through the proxy"
[ "$RC" -eq 0 ] || diag "$ERR"
is "$(stored)" "$((before + 1))" "SOCKS5: the message reached the server"
check "SOCKS5: the proxy was asked for the host by name (it resolves it)" \
    grep -qx "CONNECT localhost $UP_PORT" "$T/socks.log"
write_config "$HOME/.outpostrc" "account default" "host 192.0.2.1" "port 25" "timeout 10" \
    "from sender@example.com" "proxy_host 127.0.0.1" "proxy_port $SOCKS_PORT"
run_outpost -i via@example.org < <(printf 'x\n')
is "$RC" 69 "SOCKS5: a connection the proxy refuses: exit 69"
check "SOCKS5: the proxy's answer is shown" said "connection not allowed by ruleset"

done_testing
