#!/bin/bash
# Recipients as people and programs write them: an operand is an RFC 5322
# address list (cron's MAILTO=a@x,b@y arrives as one argument);
# internationalised domains go as A-labels to a server without SMTPUTF8;
# a server that takes only N recipients per transaction (452) gets the rest
# in further transactions of the same session, each recipient exactly once.
. "$srcdir/tests/lib.sh"

CONF="$HOME/.outpostrc"
config() { # config PORT [LINE...]
    local port=$1
    shift
    write_config "$CONF" "account default" "host 127.0.0.1" "port $port" "timeout 5" \
        "from me@example.org" "$@"
}
stored() { ls "$DIR"/msg-*.eml 2>/dev/null | wc -l; }
# rcpts [N]: the envelope recipients of message N (default: the last)
rcpts() {
    "$TEST_PYTHON" -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["rcpts"]))' \
        "$DIR/msg-${1:-$(stored)}.json"
}
# every_rcpt: the recipients of every message, one per line, sorted
every_rcpt() {
    "$TEST_PYTHON" -c 'import json,sys
for f in sys.argv[1:]:
    for r in json.load(open(f))["rcpts"]:
        print(r)' "$DIR"/msg-*.json | sort
}
msg() { printf 'Subject: %s\n\nbody of %s\n' "$1" "$1"; }
sessions() { ls "$DIR"/session-*.log 2>/dev/null | wc -l; }

# ---- operands are address lists ------------------------------------------------------
start_server lists
config "$PORT"
run_outpost -i 'a@example.org,b@example.org' < <(msg comma)
is "$RC" 0 "a@x,b@y in one operand: exit 0"
is "$(rcpts)" "a@example.org b@example.org" "a@x,b@y: two recipients"
run_outpost -FCronDaemon -i -B8BITMIME -oem 'root@example.org, ops@example.org' < <(msg cron)
is "$RC" 0 "cron's argv with MAILTO=a, b: exit 0"
is "$(rcpts)" "root@example.org ops@example.org" "cron: both recipients"
run_outpost -i 'Jane Doe <jane@example.org>' < <(msg name)
is "$RC" 0 "Name <a@x>: exit 0"
is "$(rcpts)" "jane@example.org" "Name <a@x>: the address"
run_outpost -i 'joe@example.org (Joe at work)' < <(msg comment)
is "$RC" 0 "a@x (comment): exit 0"
is "$(rcpts)" "joe@example.org" "a@x (comment): the address"
run_outpost -i 'solo@example.org,' < <(msg trailing)
is "$RC" 0 "a trailing comma: exit 0"
is "$(rcpts)" "solo@example.org" "a trailing comma: one recipient"
run_outpost -i '"Doe, John" <john@example.org>, <carl@example.org>' carl@EXAMPLE.org < <(msg mixed)
is "$RC" 0 "a quoted display name with a comma, and a duplicate in another operand: exit 0"
is "$(rcpts)" "john@example.org carl@example.org" "duplicates across operands are sent once"
run_outpost -i -- '<angle@example.org>' < <(msg angle)
is "$(rcpts)" "angle@example.org" "<a@x> as before"
before=$(sessions)
run_outpost -i 'undisclosed-recipients:;' < <(msg group)
is "$RC" 64 "an operand with no address in it: exit 64"
check "an operand with no address: says so" said "holds no address"
run_outpost -i 'a@example.org,,<b@example.org' < <(msg broken)
is "$RC" 64 "an unreadable list: exit 64"
check "an unreadable list: names the operand and where it stops" said "recipient 'a@example.org,,<b@example.org' is not an address or a list of them"
run_outpost -i 'Name <a@example.org> <b@example.org>' < <(msg two-angles)
is "$RC" 64 "two angle addresses without a comma: exit 64"
is "$(sessions)" "$before" "nothing was sent for any unreadable operand"

# ---- internationalised domains ---------------------------------------------------------
# Without SMTPUTF8 (the default script does not offer it).
run_outpost -i 'user@bücher.example' < <(msg idn)
is "$RC" 0 "an IDN domain, server without SMTPUTF8: exit 0"
is "$(rcpts)" "user@xn--bcher-kva.example" "the domain went as its A-label"
check "no SMTPUTF8 parameter was used" lacks SMTPUTF8 "$DIR/msg-$(stored).json"
run_outpost -i 'Ann <ann@BÜCHER.example>, bob@faß.de' < <(msg idn-list)
is "$(rcpts)" "ann@xn--bcher-kva.example bob@xn--fa-hia.de" "IDNA2008 mapping (case, ß) in a list"
run_outpost -i -f 'me@bücher.example' x@example.org < <(msg idn-from)
check "an IDN sender domain went as its A-label" \
    grep -q '^C: MAIL FROM:<me@xn--bcher-kva.example>' "$DIR/session-$(sessions).log"
printf 'To: Tom <tom@bücher.example>\nSubject: -t\n\nbody\n' >"$T/t.in"
run_outpost -t -i <"$T/t.in"
is "$RC" 0 "-t with an IDN in To: exit 0"
is "$(rcpts)" "tom@xn--bcher-kva.example" "-t: the header's IDN domain went as its A-label"
check "-t: the header itself is left as written" grep -q 'tom@bücher.example' "$DIR/msg-$(stored).eml"
printf 'root: admin@bücher.example\n' >"$T/aliases"
config "$PORT" "aliases $T/aliases"
run_outpost -i root < <(msg alias)
is "$(rcpts)" "admin@xn--bcher-kva.example" "an alias to an IDN domain: its A-label"
config "$PORT" "domain häuser.example"
run_outpost -i x@example.org < <(msg ehlo)
check "an IDN EHLO name (domain) goes as its A-label" \
    grep -q '^C: EHLO xn--huser-gra.example$' "$DIR/session-$(sessions).log"
config "$PORT"
before=$(sessions)
run_outpost -i 'jörg@example.org' < <(msg local)
is "$RC" 69 "a non-ASCII local part without SMTPUTF8: exit 69"
check "a non-ASCII local part: says SMTPUTF8 would be needed" said "before the '@', and the server does not offer SMTPUTF8"
is "$(sessions)" "$((before + 1))" "a non-ASCII local part: no MAIL went out"
check "a non-ASCII local part: no MAIL command" lacks '^C: MAIL' "$DIR/session-$(sessions).log"
# With SMTPUTF8, addresses go as they are.
start_server utf8 '{"ehlo": ["PIPELINING", "8BITMIME", "SIZE 104857600", "SMTPUTF8"]}'
config "$PORT"
run_outpost -i 'jörg@bücher.example' < <(msg utf8)
is "$RC" 0 "SMTPUTF8 offered: a UTF-8 address is sent"
is "$(rcpts)" "jörg@bücher.example" "SMTPUTF8: as UTF-8"
# An IDN host name: looked up in its ASCII form (--pretend shows the plan).
write_config "$CONF" "account default" "host smtp.bücher.example" "from me@example.org"
run_outpost --pretend x@example.org
check "an IDN host: the plan uses its A-label" grep -q '1\. smtp\.xn--bcher-kva\.example port 25' "$OUT"
write_config "$CONF" "account default" "host $(printf 'bad\xff.example')" "from me@example.org"
run_outpost -i x@example.org < <(msg badhost)
is "$RC" 78 "a host that is not valid UTF-8: a configuration error (78)"

# ---- more recipients than the server takes per transaction ------------------------------
start_server limited '{"max_rcpts": 2}'
config "$PORT"
run_outpost -i r1@example.org r2@example.org r3@example.org r4@example.org r5@example.org < <(msg five)
is "$RC" 0 "452 after two recipients: exit 0"
is "$(stored)" 3 "five recipients, two per transaction: three transactions"
is "$(sessions)" 1 "all in one session"
is "$(every_rcpt | tr '\n' ' ')" "r1@example.org r2@example.org r3@example.org r4@example.org r5@example.org " \
    "every recipient got the message exactly once"
check "the message was the same each time" bash -c "cmp -s '$DIR/msg-1.eml' '$DIR/msg-3.eml'"
# With CHUNKING (BDAT) and without PIPELINING too.
start_server limited-bdat '{"max_rcpts": 1, "ehlo": ["CHUNKING", "8BITMIME"]}'
config "$PORT"
run_outpost -i s1@example.org s2@example.org s3@example.org < <(msg bdat)
is "$RC" 0 "one per transaction, BDAT, no pipelining: exit 0"
is "$(every_rcpt | tr '\n' ' ')" "s1@example.org s2@example.org s3@example.org " "BDAT: each exactly once"
# LMTP answers per recipient after the data; the 452 continuation still holds.
start_server limited-lmtp '{"max_rcpts": 2, "lmtp": {}}'
config "$PORT" "protocol lmtp"
run_outpost -i l1@example.org l2@example.org l3@example.org < <(msg lmtp)
is "$RC" 0 "LMTP with 452: exit 0"
is "$(every_rcpt | tr '\n' ' ')" "l1@example.org l2@example.org l3@example.org " "LMTP: each exactly once"
# A 452 for the very first recipient is a temporary failure, not a loop.
start_server full '{"max_rcpts": 0}'
config "$PORT"
run_outpost -i z1@example.org z2@example.org < <(msg none)
is "$RC" 75 "452 for every recipient: exit 75 (try later)"
is "$(stored)" 0 "452 for every recipient: nothing delivered"

# The second transaction fails: the message is queued for the rest only,
# and the flush sends it to them alone.
Q="$T/queue"
start_server partial '{"max_rcpts": 2, "faults": [{"at": "MAIL", "after": 1, "reply": "451 4.3.0 try later"}]}'
config "$PORT" "queue on" "queue_dir $Q"
run_outpost -i p1@example.org p2@example.org p3@example.org p4@example.org < <(msg partial)
is "$RC" 0 "the second transaction refused temporarily, queue on: exit 0 (queued)"
is "$(every_rcpt | tr '\n' ' ')" "p1@example.org p2@example.org " "the first two have it"
ID=$(queue_ids "$Q")
is "$(grep '^rcpt ' "$Q/$ID" | tr '\n' ' ')" "rcpt p3@example.org rcpt p4@example.org " \
    "the queue entry holds only the two that do not"
PARTIAL_DIR=$DIR
start_server partial-flush '{"max_rcpts": 1}'
config "$PORT" "queue on" "queue_dir $Q"
run_outpost -q
is "$RC" 0 "flush: exit 0"
is "$(every_rcpt | tr '\n' ' ')" "p3@example.org p4@example.org " "flush: the rest, one per transaction, each once"
is "$(queue_ids "$Q" | wc -l)" 0 "flush: the queue is empty"
# A flush whose second transaction fails keeps the entry for the rest.
closed_port >"$T/down"
config "$(cat "$T/down")" "queue on" "queue_dir $Q"
run_outpost -i q1@example.org q2@example.org q3@example.org < <(msg flush-partial)
start_server flush-partial '{"max_rcpts": 1, "faults": [{"at": "MAIL", "after": 1, "reply": "451 4.3.0 try later"}]}'
config "$PORT" "queue on" "queue_dir $Q"
run_outpost -q
is "$(every_rcpt | tr '\n' ' ')" "q1@example.org " "flush, second transaction refused: the first recipient has it"
ID=$(queue_ids "$Q")
is "$(grep '^rcpt ' "$Q/$ID" 2>/dev/null | tr '\n' ' ')" "rcpt q2@example.org rcpt q3@example.org " \
    "flush: the entry now holds only the others"
start_server flush-partial-2
config "$PORT" "queue on" "queue_dir $Q"
run_outpost -q
is "$(every_rcpt | tr '\n' ' ')" "q2@example.org q3@example.org " "the next flush: the others, once each"
is "$(queue_ids "$Q" | wc -l)" 0 "the queue is empty"

done_testing
