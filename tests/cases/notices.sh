#!/bin/bash
# What the sender of a queued message hears: one RFC 3464 failure notice
# when it is given up (never for the null sender, never twice, through
# another endpoint than the one that refused when there is one), one delay
# notice after queue_warn, and notify_command with the facts; mailq's exit
# status for monitoring.
. "$srcdir/tests/lib.sh"

export XDG_STATE_HOME="$T/state"
Q="$T/queue"
closed_port >"$T/down"
DOWN=$(cat "$T/down")
msg() { printf 'Subject: %s\nX-Original: yes\n\nbody of %s\n' "$1" "$1"; }
notices() { grep -l 'report-type=delivery-status' "$1"/msg-*.eml 2>/dev/null | wc -l; }
plain() { grep -L 'report-type=delivery-status' "$1"/msg-*.eml 2>/dev/null | wc -l; }
config() { # config PORTS [LINE...]
    local ports=$1
    shift
    write_config "$HOME/.outpostrc" "account default" "host 127.0.0.1" "port $ports" "timeout 5" \
        "from me@example.org" "queue on" "queue_dir $Q" \
        "notify_command $T/notify.sh" "$@"
}
cat >"$T/notify.sh" <<'SH'
#!/bin/sh
# one line per call: the facts outpost gives, and whether a secret leaked in
{ printf '%s|%s|%s|%s|%s|%s\n' "$OUTPOST_STATE" "$OUTPOST_ID" "$OUTPOST_ACCOUNT" "$OUTPOST_FROM" \
    "$OUTPOST_RECIPIENTS" "$OUTPOST_REASON"; env | grep -c 'pw-notice' ; } >>"$NOTIFY_LOG"
SH
chmod 755 "$T/notify.sh"
export NOTIFY_LOG="$T/notify.log"

# ---- queued, then refused for good: one failure notice -----------------------------------------
config "$DOWN" "password pw-notice" "auth off"
run_outpost -oi a@example.org b@example.org < <(msg doomed)
is "$RC" 0 "the server is down: queued"
ID=$(queue_ids "$Q")
check "notify_command: queued, with id, account, sender, recipients and reason" \
    grep -q "^queued|$ID|default|me@example.org|a@example.org,b@example.org|cannot connect to 127.0.0.1 port $DOWN" "$NOTIFY_LOG"
check "notify_command's environment holds no secret" sh -c "[ \$(sed -n 2p '$NOTIFY_LOG') = 0 ]"
run_outpost -bp
is "$RC" 0 "mailq: exit 0 while nothing is late or failed"
start_server refuse '{"faults": [{"at": "RCPT", "match": "<a@", "reply": "550 5.1.1 <x> no such user here"}, {"at": "RCPT", "match": "<b@", "reply": "550 5.1.1 <x> no such user here"}]}'
config "$PORT"
run_outpost -q
is "$(queue_ids "$Q/failed" | wc -l)" 1 "550 during a flush: the message is given up"
is "$(plain "$DIR")" 0 "nothing reached a recipient"
is "$(notices "$DIR")" 1 "exactly one notice"
N=$(grep -l 'report-type=delivery-status' "$DIR"/msg-*.eml)
J=${N%.eml}.json
check "the notice has the null sender" grep -q '"mail_from": ""' "$J"
check "the notice goes to the envelope sender" grep -q '"rcpts": \["me@example.org"\]' "$J"
check "it is a multipart/report of delivery-status (RFC 3464)" \
    sh -c "grep -q '^Content-Type: multipart/report; report-type=delivery-status;' '$N' && grep -q '^Content-Type: message/delivery-status' '$N'"
check "one status per recipient: failed, 5.1.1" \
    sh -c "[ \$(grep -c '^Action: failed' '$N') = 2 ] && grep -q '^Final-Recipient: rfc822; a@example.org' '$N' && grep -q '^Status: 5.1.1' '$N'"
check "the server's words are in it" grep -q "Diagnostic-Code: smtp; 550 5.1.1 <x> no such user here" "$N"
check "the original headers are in it" sh -c "grep -q '^Content-Type: text/rfc822-headers' '$N' && grep -q '^X-Original: yes' '$N' && grep -q '^Subject: doomed' '$N'"
check "the original body is not" sh -c "! grep -q 'body of doomed' '$N'"
check "it says it was sent by a machine (Auto-Submitted)" grep -q '^Auto-Submitted: auto-replied' "$N"
check "notify_command: failed" grep -q "^failed|$ID|default|me@example.org|a@example.org,b@example.org|" "$NOTIFY_LOG"
run_outpost -q
is "$(notices "$DIR")" 1 "another flush: no second notice"
run_outpost -bp
is "$RC" 2 "mailq: exit 2 when a message was given up (failed/)"
rm -rf "$Q"

# ---- the null sender: no notice -----------------------------------------------------------------
config "$DOWN"
run_outpost -f '<>' -oi a@example.org < <(msg bounce)
is "$RC" 0 "a null-sender message queued"
config "$PORT"
before=$(notices "$DIR")
run_outpost -q
is "$(queue_ids "$Q/failed" | wc -l)" 1 "it is given up too"
is "$(notices "$DIR")" "$before" "no notice for a message with the null sender"
rm -rf "$Q"

# ---- another endpoint than the one that refused ----------------------------------------------------
DIR1=$DIR
P1=$PORT
start_server other
P2=$PORT
config "$DOWN"
run_outpost -oi a@example.org < <(msg two-ends)
config "$P1 $P2"
run_outpost -q
is "$(queue_ids "$Q/failed" | wc -l)" 1 "refused on the first endpoint: given up"
is "$(notices "$DIR")" 1 "the notice went through the second endpoint"
is "$(notices "$DIR1")" 1 "and not through the first (which refused the message)"
rm -rf "$Q"

# ---- a delay notice, once ----------------------------------------------------------------------------
config "$DOWN" "queue_warn 1"
run_outpost -oi late@example.org < <(msg slow)
ID=$(queue_ids "$Q")
sleep 1.2
start_server sink '{"faults": [{"at": "MAIL", "match": "me@", "reply": "451 4.3.0 not now"}]}'
config "$PORT" "queue_warn 1"
run_outpost -q
is "$(queue_ids "$Q" | wc -l)" 1 "a 451: still queued"
is "$(notices "$DIR")" 1 "after queue_warn: one delay notice"
N=$(grep -l 'report-type=delivery-status' "$DIR"/msg-*.eml)
check "it says delayed, and until when it is tried" \
    sh -c "grep -q '^Action: delayed' '$N' && grep -q '^Will-Retry-Until: ' '$N' && grep -q '^Subject: Delayed Mail' '$N'"
check "notify_command: delayed" grep -q "^delayed|$ID|default|me@example.org|late@example.org|" "$NOTIFY_LOG"
run_outpost -q
is "$(notices "$DIR")" 1 "the next flush: no second delay notice"
run_outpost -bp
is "$RC" 1 "mailq: exit 1 when a message waited longer than queue_warn"
check "mailq says so" grep -q "1 message waited longer than queue_warn (1s)" "$OUT"
run_outpost --check
check "--check reports the queue's state" grep -q "^queue $Q: 1 waiting, 1 longer than queue_warn, 0 given up (failed/)" "$OUT"
run_outpost --check --json
check "--check --json too" grep -q '"queue":{"dir":"'"$Q"'","waiting":1,"late":1,"failed":0}' "$OUT"
start_server good
config "$PORT" "queue_warn 1"
run_outpost -q
is "$(plain "$DIR")" 1 "delivered at last"
check "notify_command: delivered (late)" grep -q "^delivered|$ID|default|me@example.org|late@example.org|" "$NOTIFY_LOG"
run_outpost -bp
is "$RC" 0 "mailq: exit 0 again"

# ---- a user queue warns only when asked --------------------------------------------------------------
config "$DOWN"
run_outpost -oi late@example.org < <(msg unasked)
sleep 1.1
config "$PORT"
start_server sink2 '{"faults": [{"at": "MAIL", "reply": "451 4.3.0 not now"}]}'
config "$PORT"
run_outpost -q
is "$(notices "$DIR")" 0 "no queue_warn in a user's account: no delay notice"
done_testing
