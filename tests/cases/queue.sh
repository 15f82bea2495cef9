#!/bin/bash
# The offline queue: queued when every endpoint fails temporarily (exit 0),
# listed by mailq, delivered exactly once by -q through one session, moved
# to failed/ on a permanent error or after queue_lifetime, safe against two
# flushers at once and against being killed at any moment.
. "$srcdir/tests/lib.sh"

export XDG_STATE_HOME="$T/state"
Q="$T/queue"
stored() { ls "$1"/msg-*.eml 2>/dev/null | wc -l; }
entries() { queue_ids "$Q" | wc -l; }
config() { # config PORT [LINE...]
    local port=$1
    shift
    write_config "$HOME/.outpostrc" "account default" "host 127.0.0.1" "port $port" "timeout 5" \
        "from me@example.org" "queue on" "queue_dir $Q" "$@"
}
closed_port >"$T/down"
DOWN=$(cat "$T/down")
msg() { printf 'Subject: %s\n\nbody of %s\nend-of-%s\n' "$1" "$1" "$1"; }

# ---- queueing ---------------------------------------------------------------------------
config "$DOWN"
run_outpost -i a@example.org b@example.org < <(msg first)
is "$RC" 0 "server down, queue on: exit 0"
is "$(wc -l <"$ERR")" 1 "server down: one line on stderr"
check "server down: it says queued, where, and why" \
    grep -q "queued as [0-9T-]*-[0-9]*-[0-9a-f]* in $Q (cannot connect to 127.0.0.1 port $DOWN" "$ERR"
is "$(entries)" 1 "one entry in the queue"
check "the queue directory is private (0700)" test "$(stat -c %a "$Q")" = 700
ID=$(queue_ids "$Q")
check "the entry is private (0600)" test "$(stat -c %a "$Q/$ID")" = 600
run_outpost -bp
is "$RC" 0 "mailq: exit 0"
check "mailq: id, account, sender, recipients" \
    sh -c "grep -q '^$ID .* default\$' '$OUT' && grep -qx '    from: me@example.org' '$OUT' && grep -qx '    to: a@example.org, b@example.org' '$OUT'"
check "mailq: attempts and the last error" grep -q "attempts: 0, last error: cannot connect to 127.0.0.1 port $DOWN" "$OUT"
write_config "$HOME/.outpostrc" "account default" "host 127.0.0.1" "port $DOWN" "timeout 5" \
    "from me@example.org"
run_outpost -i a@example.org < <(msg not-queued)
is "$RC" 75 "queue off (the default): exit 75 as before"
is "$(entries)" 1 "queue off: nothing queued"

# ---- flushing -------------------------------------------------------------------------------
config "$DOWN"
for i in 2 3 4; do run_outpost -i c@example.org < <(msg "more-$i"); done
is "$(entries)" 4 "four entries queued"
run_outpost -q
is "$RC" 0 "-q with the server still down: exit 0"
is "$(entries)" 4 "-q with the server down: all kept"
check "-q with the server down: attempts counted" sh -c "\"$OUTPOST\" -bp | grep -q 'attempts: 1,'"
start_server up '{"ehlo": ["PIPELINING", "8BITMIME", "SIZE 104857600"]}'
config "$PORT"
run_outpost -q
is "$RC" 0 "-q with the server up: exit 0"
is "$(entries)" 0 "-q: the queue is empty"
is "$(stored "$DIR")" 4 "-q: four messages delivered"
is "$(ls "$DIR"/session-*.log | wc -l)" 1 "-q: through one session"
check "-q: MAIL and RCPT were pipelined" grep -q "^C: RCPT" "$DIR/session-1.log"
check "-q: the first message is intact" grep -q '^end-of-first' "$DIR/msg-1.eml"
settled
is "$(grep -c '^C: QUIT' "$DIR/session-1.log")" 1 "-q: one QUIT for the four"
is "$("$TEST_PYTHON" -c 'import json,sys; e=json.load(open(sys.argv[1])); print(e["mail_from"], *e["rcpts"])' "$DIR/msg-1.json")" \
    "me@example.org a@example.org b@example.org" "-q: the stored envelope was used"
check "-q: headers were added once, at submission" test "$(grep -c '^Message-ID:' "$DIR/msg-1.eml")" = 1
run_outpost -q
is "$(stored "$DIR")" 4 "a second -q sends nothing again"

# ---- permanent failures and queue_lifetime ---------------------------------------------------------
config "$DOWN"
run_outpost -i nobody@example.org < <(msg doomed)
start_server refuse '{"faults": [{"at": "RCPT", "reply": "550 5.1.1 no such user"}]}'
config "$PORT"
run_outpost -q
is "$RC" 0 "-q with a 550: exit 0"
is "$(entries)" 0 "550: the entry left the queue"
is "$(queue_ids "$Q/failed" | wc -l)" 1 "550: it is in failed/"
check "550: reported on stderr" said "could not be delivered and was moved to $Q/failed"
check "550: with the server's words" said "550 5.1.1 no such user"
run_outpost -bp
check "mailq shows failed messages" grep -q "1 message could not be delivered and wait in $Q/failed" "$OUT"
start_server up2
config "$PORT"
run_outpost -i x@example.org < <(msg after-failure)
is "$RC" 0 "the next send works"
check "the next send mentions the failed message" said "some queued messages could not be delivered"
run_outpost -i x@example.org < <(msg after-failure-2)
check "only once" lacks 'could not be delivered' "$ERR"

config "$DOWN" "queue_lifetime 1"
run_outpost -i x@example.org < <(msg too-old)
sleep 2
run_outpost -q
is "$(entries)" 0 "older than queue_lifetime: out of the queue"
check "older than queue_lifetime: moved to failed/ and said so" said "longer than queue_lifetime"

# ---- --queue-remove ----------------------------------------------------------------------------------
config "$DOWN"
run_outpost -i x@example.org < <(msg removable)
ID=$(queue_ids "$Q")
run_outpost --queue-remove=../../etc/passwd
is "$RC" 64 "--queue-remove with a path: refused (exit 64)"
run_outpost --queue-remove="$ID"
is "$RC" 0 "--queue-remove ID: exit 0"
is "$(entries)" 0 "--queue-remove: gone"

# ---- two flushers at once ----------------------------------------------------------------------------
config "$DOWN"
for i in $(seq 1 30); do run_outpost -i c@example.org < <(msg "pair-$i"); done
start_server pair
config "$PORT"
"$OUTPOST" -q 2>"$T/q1.err" & P1=$!
"$OUTPOST" -q 2>"$T/q2.err" & P2=$!
wait "$P1" "$P2"
is "$(stored "$DIR")" 30 "two flushers: 30 messages delivered"
is "$(cat "$DIR"/msg-*.eml | grep -c '^end-of-pair-')" 30 "two flushers: each exactly once"
is "$(cat "$DIR"/msg-*.eml | grep '^end-of-pair-' | sort -u | wc -l)" 30 "two flushers: no duplicates"
is "$(entries)" 0 "two flushers: the queue is empty"

# ---- damaged entries ---------------------------------------------------------------------------
# Each is set aside in quarantine/ with its reason (said by the flush, in
# the log and by mailq); none holds up the entries behind it, and none is
# sent: not one cut short, nor one whose bytes changed.
config "$DOWN"
for i in 1 2 3 4 5 6; do run_outpost -i d@example.org < <(msg "damaged-$i"); sleep 0.01; done
IDS=($(queue_ids "$Q"))
body_start() { grep -b -m1 -a '^$' "$1" | cut -d: -f1; }
mid_line=$(($(grep -b -a -m1 '^body of damaged-1' "$Q/${IDS[0]}" | cut -d: -f1) + 4))
truncate -s "$mid_line" "$Q/${IDS[0]}"                       # cut in the middle of a line
truncate -s "$(($(body_start "$Q/${IDS[1]}") + 1))" "$Q/${IDS[1]}" # cut at a line end
printf 'X' | dd of="$Q/${IDS[2]}" bs=1 seek=$(($(stat -c %s "$Q/${IDS[2]}") - 5)) conv=notrunc status=none
printf 'not a queue entry\n\n' >"$Q/${IDS[3]}"                  # no envelope
sed -i 's/^size .*/size 12/' "$Q/${IDS[4]}"                    # an envelope that lies
start_server damaged
config "$PORT" "logfile $T/queue.log"
start=$EPOCHREALTIME
run_outpost -q
took=$(elapsed_ms "$start" "$EPOCHREALTIME")
is "$RC" 0 "damaged entries: the flush exits 0"
check "damaged entries: the flush did not wait for any timeout" test "$took" -lt 4000
echo "# took $took ms"
is "$(stored "$DIR")" 1 "damaged entries: the good one behind them was delivered"
check "damaged entries: it was the good one" grep -q '^body of damaged-6' "$DIR/msg-1.eml"
is "$(queue_ids "$Q/quarantine" | wc -l)" 5 "damaged entries: all five are in quarantine/"
is "$(queue_ids "$Q" | wc -l)" 0 "damaged entries: none is left in the queue"
for i in 0 1 2 3 4; do
    check "damaged entry $((i + 1)): its reason is kept beside it" test -s "$Q/quarantine/${IDS[$i]}.reason"
    check "damaged entry $((i + 1)): the flush names it" said "queue entry ${IDS[$i]} is damaged"
    check "damaged entry $((i + 1)): the log names it" grep -q "queue entry ${IDS[$i]} is damaged" "$T/queue.log"
done
check "cut short: the reason says how much is missing" grep -q "bytes, not the" "$Q/quarantine/${IDS[0]}.reason"
check "altered: the reason says the checksum differs" grep -q "checksum differs" "$Q/quarantine/${IDS[2]}.reason"
check "no envelope: the reason says so" grep -q "not an outpost queue entry" "$Q/quarantine/${IDS[3]}.reason"
check "the flush's summary counts them" said "5 damaged (moved to $Q/quarantine)"
run_outpost -bp
check "mailq lists the quarantine" grep -q "5 damaged entries were set aside in $Q/quarantine" "$OUT"
check "mailq gives each one's reason" grep -q "queue entry ${IDS[2]} is damaged: its message is not the one stored" "$OUT"
run_outpost -q
is "$(stored "$DIR")" 1 "a second flush sends nothing from the quarantine"

# Entries written before entries carried a checksum (version 1) are still
# sent; whatever such a file holds, the data ends with CRLF before the dot.
legacy() { # legacy ID BODY: a version 1 entry, as an older outpost wrote it
    printf 'outpost-queue 1\naccount default\nfrom me@example.org\nqueued %s\nrcpt l@example.org\n\n%s' \
        "$(date +%s)" "$2" >"$Q/$1"
    chmod 600 "$Q/$1"
}
legacy 20260101T000000-1-00000001 $'Subject: legacy\r\n\r\nno line end at the end'
legacy 20260101T000000-1-00000002 $'Subject: legacy 2\r\n\r\ncomplete\r\n'
run_outpost -q
is "$RC" 0 "version 1 entries: flushed"
is "$(stored "$DIR")" 3 "version 1 entries: both delivered"
check "an entry without a final line end: CRLF added before the dot" \
    grep -q $'no line end at the end\r$' "$DIR/msg-2.eml"
check "the complete one: sent as it is" same_bytes "$DIR/msg-3.eml" <(printf 'Subject: legacy 2\r\n\r\ncomplete\r\n')
start_server legacy-bdat '{"ehlo": ["CHUNKING", "PIPELINING"]}'
config "$PORT"
legacy 20260101T000000-1-00000003 $'Subject: legacy 3\r\n\r\nno line end, BDAT'
run_outpost -q
is "$RC" 0 "BDAT, an entry without a final line end: exit 0"
check "BDAT: the chunk ends with CRLF too" grep -q $'no line end, BDAT\r$' "$DIR/msg-1.eml"

# An entry whose account is gone from the configuration is given up after
# the lifetime it was queued with, like any other.
write_config "$HOME/.outpostrc" "account gone" "host 127.0.0.1" "port $DOWN" "timeout 5" \
    "from me@example.org" "queue on" "queue_dir $Q" "queue_lifetime 1" "account default : gone"
run_outpost -a gone -i x@example.org < <(msg orphaned)
is "$(queue_ids "$Q" | wc -l)" 1 "an entry of account 'gone' is queued"
config "$DOWN"
run_outpost -q
is "$(queue_ids "$Q" | wc -l)" 1 "its account removed, within its lifetime: kept"
sleep 2
run_outpost -q
is "$(queue_ids "$Q" | wc -l)" 0 "its account removed, past its lifetime: out of the queue"
check "its account removed, past its lifetime: moved to failed/ and said so" said "longer than queue_lifetime (1s)"

# ---- submissions while flushes run ----------------------------------------------------------------
# Three flushers loop while 600 messages are submitted (the server is down,
# so each is queued): none may fail, and no side file may be left alone.
rm -rf "$Q"
config "$DOWN"
: >"$T/flushers.stop"
flusher() { while [ -e "$T/flushers.stop" ]; do "$OUTPOST" -q >/dev/null 2>&1; done; }
flusher & F1=$!
flusher & F2=$!
flusher & F3=$!
fails=0
for batch in $(seq 1 100); do
    pids=()
    for k in 1 2 3 4 5 6; do
        "$OUTPOST" -i c@example.org < <(msg "busy-$batch-$k") >/dev/null 2>"$T/busy-$batch-$k.err" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
done
rm -f "$T/flushers.stop"
wait "$F1" "$F2" "$F3"
is "$fails" 0 "600 submissions during three looping flushes: none failed"
[ "$fails" -eq 0 ] || diag <(cat "$T"/busy-*.err | sort | uniq -c | head -5)
is "$(queue_ids "$Q" | wc -l)" 600 "600 submissions during flushes: 600 entries"
orphans=0
for f in "$Q"/*.state; do
    [ -e "$f" ] || continue
    [ -e "${f%.state}" ] || orphans=$((orphans + 1))
done
is "$orphans" 0 "no .state file without its entry"
rm -rf "$Q"

# ---- killed at random moments ---------------------------------------------------------------------------
# 200 submissions with the server down, each killed (SIGKILL) after a random
# delay; then 30 flushes killed at random, then one flush to the end. Every
# message whose run exited 0 must be delivered (at least once), complete.
config "$DOWN"
failed_before=$(queue_ids "$Q/failed" | wc -l)
head -c 300000 /dev/urandom | base64 -w 76 >"$T/filler"
accepted=0 killed=0
: >"$T/accepted"
# A run killed while LeakSanitizer checks it at exit leaves a note that is
# not a finding; the killed runs are not about leaks (the final flush is).
KILLED_ASAN="$ASAN_OPTIONS:detect_leaks=0"
# The kills land anywhere in a run: from 0 to twice the time one run takes
# on this machine (or build: a sanitizer build is several times slower).
start=$EPOCHREALTIME
{ printf 'Subject: crash-0\n\n'; cat "$T/filler"; printf 'end-of-crash-0\n'; } | "$OUTPOST" -i x@example.org >/dev/null 2>&1
run_ms=$("$TEST_PYTHON" -c "import sys; print(max(2, int((float(sys.argv[2]) - float(sys.argv[1])) * 1000)))" "$start" "$EPOCHREALTIME")
echo 0 >>"$T/accepted"
for i in $(seq 1 200); do
    { printf 'Subject: crash-%s\n\n' "$i"; cat "$T/filler"; printf 'end-of-crash-%s\n' "$i"; } >"$T/crash.in"
    ASAN_OPTIONS=$KILLED_ASAN "$OUTPOST" -i x@example.org <"$T/crash.in" >/dev/null 2>&1 &
    pid=$!
    sleep "$(printf '0.%03d' $((RANDOM % (2 * run_ms) % 1000)))"
    kill -9 "$pid" 2>/dev/null && killed=$((killed + 1))
    if wait "$pid"; then
        accepted=$((accepted + 1))
        echo "$i" >>"$T/accepted"
    fi
done
diag <(echo "one run takes $run_ms ms; of 200 submissions, $accepted exited 0 and $killed were sent SIGKILL")
check "some submissions were killed and some got through (the test exercised both)" \
    test "$accepted" -gt 0 -a "$killed" -gt 0
start_server crash
config "$PORT"
for i in $(seq 1 30); do
    ASAN_OPTIONS=$KILLED_ASAN "$OUTPOST" -q >/dev/null 2>&1 &
    pid=$!
    sleep "0.0$((RANDOM % 5))"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
done
run_outpost -q
is "$RC" 0 "the final flush: exit 0"
is "$(entries)" 0 "after the final flush the queue is empty (no partial entry was left in it)"
is "$(ls "$Q/tmp" | wc -l)" 0 "no temporary file is left behind"
missing=0
for i in $(cat "$T/accepted"); do
    grep -lq "^end-of-crash-$i" "$DIR"/msg-*.eml 2>/dev/null || missing=$((missing + 1))
done
is "$missing" 0 "every accepted message was delivered"
bad=0
for f in "$DIR"/msg-*.eml; do
    [ -e "$f" ] || continue # nothing delivered at all: "every accepted..." says if that is wrong
    n=$(sed -n 's/^Subject: crash-//p' "$f" | tr -d '\r')
    if ! grep -q "^end-of-crash-$n" "$f"; then
        bad=$((bad + 1))
        diag <(echo "incomplete: $f ($(wc -c <"$f") bytes), starts:"; head -c 300 "$f"; echo; echo "ends:"; tail -c 200 "$f")
    fi
done
is "$bad" 0 "every delivered message is complete"
is "$(queue_ids "$Q/failed" | wc -l)" "$failed_before" "nothing was moved to failed/"

done_testing
