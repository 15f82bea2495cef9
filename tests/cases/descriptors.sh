#!/bin/bash
# Started the way daemons start programs: with standard input, output or
# error closed. Nothing outpost prints may end up in a message, a queue
# file or the SMTP connection; a closed standard input is no message at
# all (exit 66), not an empty one.
. "$srcdir/tests/lib.sh"

Q="$T/queue"
closed_port >"$T/down"
DOWN=$(cat "$T/down")
config() { # config PORT [LINE...]
    local port=$1
    shift
    write_config "$HOME/.outpostrc" "account default" "host 127.0.0.1" "port $port" "timeout 5" \
        "from me@example.org" "$@"
}
msg() { printf 'Subject: %s\n\nbody of %s\n' "$1" "$1"; }
stored() { ls "$1"/msg-*.eml 2>/dev/null | wc -l; }

# ---- standard input closed ----------------------------------------------------------
start_server plain
config "$PORT"
"$OUTPOST" -oi a@example.org <&- >"$OUT" 2>"$ERR"
is "$?" 66 "stdin closed: exit 66 (EX_NOINPUT)"
check "stdin closed: says so" said "standard input is closed"
is "$(ls "$DIR"/session-*.log 2>/dev/null | wc -l)" 0 "stdin closed: nothing was sent, not even a connection"
"$OUTPOST" -t <&- >"$OUT" 2>"$ERR"
is "$?" 66 "stdin closed with -t: exit 66"
"$OUTPOST" --read-envelope-from -oi a@example.org <&- >"$OUT" 2>"$ERR"
is "$?" 66 "stdin closed with --read-envelope-from: exit 66"
"$OUTPOST" -bs <&- >"$OUT" 2>"$ERR"
is "$?" 66 "stdin closed with -bs: exit 66"
"$OUTPOST" -oi a@example.org </dev/null >"$OUT" 2>"$ERR"
is "$?" 0 "an empty stdin (not a closed one) is still an empty message: exit 0"
"$OUTPOST" --version <&- >"$OUT" 2>"$ERR"
is "$?" 0 "stdin closed: --version needs no input, exit 0"

# ---- standard output and error closed -------------------------------------------------
"$OUTPOST" -oi a@example.org < <(msg quiet) >&- 2>&-
is "$?" 0 "stdout and stderr closed: delivered, exit 0"
check "stdout and stderr closed: the message is whole" grep -q '^body of quiet' "$DIR/msg-$(stored "$DIR").eml"
"$OUTPOST" -oi a@example.org < <(msg all-closed) <&- >&- 2>&-
is "$?" 66 "all three closed: exit 66"

# A warning (queued) and an error written while the spool or the queue file
# is open: with stderr closed they must go nowhere, not into the message.
config "$DOWN" "queue on" "queue_dir $Q"
"$OUTPOST" -oi a@example.org < <(msg queued-1) 2>&-
is "$?" 0 "stderr closed, server down: queued, exit 0"
"$OUTPOST" --debug -oi a@example.org < <(msg queued-2) >/dev/null 2>&-
is "$?" 0 "stderr closed with --debug (its lines are written while the spool is open): queued, exit 0"
"$OUTPOST" -v -oi a@example.org < <(msg queued-3) >&- 2>&-
is "$?" 0 "stdout and stderr closed with -v: queued, exit 0"
"$OUTPOST" --debug -oi bad@example.org < <(msg doomed) >&- 2>&-
is "$?" 0 "stdout and stderr closed with --debug: queued, exit 0"
leaked=0
for id in $(queue_ids "$Q"); do
    grep -q 'outpost: \|^--> \|^<-- ' "$Q/$id" && leaked=$((leaked + 1))
done
is "$(queue_ids "$Q" | wc -l)" 4 "four entries queued"
is "$leaked" 0 "no line outpost printed is inside a queue entry"

# A flush with stdout and stderr closed, whose second message is refused
# (an error line is printed in the middle of the session): the others are
# delivered, nothing extra goes into the SMTP connection.
start_server flush '{"faults": [{"at": "RCPT", "match": "bad@", "reply": "550 5.1.1 no such user"}]}'
config "$PORT" "queue on" "queue_dir $Q"
"$OUTPOST" -q >&- 2>&-
is "$?" 0 "-q with stdout and stderr closed: exit 0"
is "$(grep -L 'report-type=delivery-status' "$DIR"/msg-*.eml | wc -l)" 3 "-q: the three deliverable messages were delivered"
is "$(grep -l 'report-type=delivery-status' "$DIR"/msg-*.eml | wc -l)" 1 "-q: and the sender of the refused one was sent one notice"
is "$(queue_ids "$Q/failed" | wc -l)" 1 "-q: only the refused one was given up"
is "$(queue_ids "$Q" | wc -l)" 0 "-q: the queue is empty"
check "-q: only SMTP commands reached the server" \
    lacks -Ev '^C: (EHLO|MAIL|RCPT|DATA|RSET|QUIT)|^[^C]' "$DIR"/session-*.log

# --debug with everything closed behaves as without it.
start_server debug
config "$PORT"
"$OUTPOST" --debug -oi a@example.org < <(msg debug) >&- 2>&-
is "$?" 0 "--debug, stdout and stderr closed: exit 0"
check "--debug, stdout and stderr closed: delivered whole" grep -q '^body of debug' "$DIR/msg-1.eml"
"$OUTPOST" --debug -oi a@example.org <&- >&- 2>&-
is "$?" 66 "--debug with stdin closed too: exit 66"

done_testing
