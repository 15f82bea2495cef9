#!/bin/bash
# Hostile servers, hostile input, hostile files. A server's reply of 10 MB,
# one that never ends, NUL bytes, invalid UTF-8, odd codes and absurd
# capabilities: a clear error (or a correct delivery), bounded memory. CR
# or LF smuggled in through any field that reaches the SMTP dialogue: refused
# before anything is sent. Files: symlinks and shared directories refused.
# (The fault matrix is faults.sh; the STARTTLS attacks are in tls.sh.)
. "$srcdir/tests/lib.sh"

printf 'Subject: hostile\n\nbody\n' >"$T/msg"
export MAXRSS_OUT="$T/rss"

# serve NAME SCRIPT_JSON: a server and a config pointing at it
serve() {
    start_server "$1" "$2"
    write_config "$HOME/.outpostrc" "account default" "host 127.0.0.1" "port $PORT" \
        "timeout 3" "from sender@example.com" "${@:3}"
}
# measured ARG...: run outpost under maxrss.py; sets RC and KIB
measured() {
    "$TEST_PYTHON" "$srcdir/tests/tools/maxrss.py" "$OUTPOST" "$@" <"$T/msg" >"$OUT" 2>"$ERR"
    read -r RC KIB <"$T/rss"
}
no_mail() { lacks '^C: MAIL' "$DIR"/session-*.log; }
delivered() { test -s "$DIR/msg-1.eml"; }

serve baseline '{}'
measured -oi x@example.org
is "$RC" 0 "baseline: a normal delivery"
BASE=$KIB
echo "# peak RSS of a normal delivery: $BASE KiB"
bounded() { test "$KIB" -lt $((BASE + 4096)); }

# ---- replies ---------------------------------------------------------------------
# flooded DESCRIPTION WORDS FAULT_RULE: a reply that is too much gives exit 76
# with WORDS on stderr, at once (not after the 3 s timeout), in bounded memory
flooded() {
    serve "flood$TAP_N" "{\"faults\": [$3]}"
    local start ms
    start=$(now)
    measured -oi x@example.org
    ms=$(elapsed_ms "$start" "$(now)")
    is "$RC" 76 "$1: exit 76"
    check "$1: says so ('$2')" said "$2"
    check "$1: memory stays bounded ($KIB KiB, normal $BASE KiB)" bounded
    check "$1: gives up at once, not after the timeout" test "$ms" -lt 2500
    echo "# took $ms ms"
}
flooded "a 10 MB reply line" "longer than 4096 bytes" \
    '{"at": "MAIL", "raw": "250 ", "flood": "a", "flood_bytes": 10485760, "tail": "\r\n", "action": "stall"}'
flooded "an endless multi-line reply" "more than 1000 lines" \
    '{"at": "EHLO", "raw": "250-outpost-test\r\n", "flood": "250-AUTH PLAIN LOGIN\r\n", "flood_bytes": 0}'
flooded "an endless greeting line" "longer than 4096 bytes" \
    '{"at": "CONNECT", "raw": "220 ", "flood": "x", "flood_bytes": 0}'

serve nul '{"faults": [{"at": "MAIL", "raw": "550 5.7.1 denied\u0000MAIL FROM:<evil@example.org>\r\n"}]}'
measured -oi x@example.org
is "$RC" 69 "a NUL byte in a refusal: still the refusal (exit 69)"
check "a NUL byte: the server's words are shown, the NUL made visible" \
    said "denied?MAIL FROM:<evil@example.org>"
check "a NUL byte: no NUL on stderr" bash -c "! tr -d '\n' <'$ERR' | grep -qaP '\x00'"

serve nulok '{"faults": [{"at": "DATA_END", "raw": "250 2.0.0 Ok\u0000 queued\r\n"}]}'
measured -oi x@example.org
is "$RC" 0 "a NUL byte in the final 250: it is still a 250, delivered"

serve utf8 '{"faults": [{"at": "RCPT", "raw": "550 5.1.1 bad \u00ff\u00fe\u00c3\u0028 bytes\r\n"}]}'
measured -oi x@example.org
is "$RC" 67 "invalid UTF-8 in a refusal: exit 67"
check "invalid UTF-8: stderr is clean text (no invalid bytes passed on)" \
    "$TEST_PYTHON" -c 'import sys; sys.stdin.buffer.read().decode("utf-8")' <"$ERR"
check "invalid UTF-8: the server's readable words are kept" said "bytes)"

for code in 099 abc 2500 25 '250x'; do
    serve "code$code" "{\"faults\": [{\"at\": \"MAIL\", \"raw\": \"$code ok\\r\\n\", \"action\": \"stall\"}]}"
    measured -oi x@example.org
    is "$RC" 76 "reply code '$code': exit 76 (protocol error)"
    check "reply code '$code': no message delivered" bash -c "! ls '$DIR'/msg-* >/dev/null 2>&1"
done

serve mismatch '{"faults": [{"at": "DATA_END", "raw": "250-2.0.0 first\r\n550 5.0.0 second\r\n"}]}'
measured -oi x@example.org
is "$RC" 75 "mismatched codes after the final dot: not a success (75, may have been delivered)"
check "mismatched codes after the dot: says it may have been delivered" said "may have been delivered"

for size in 99999999999999999999 18446744073709551616 -5 1e9 ''; do
    serve "size$size" "{\"ehlo\": [\"PIPELINING\", \"SIZE $size\"]}"
    measured -oi x@example.org
    is "$RC" 0 "SIZE '$size': taken as no stated limit, delivered"
    check "SIZE '$size': MAIL states our own size, nothing taken from theirs" \
        grep -qE '^C: MAIL FROM:<sender@example.com>( BODY=8BITMIME)? SIZE=[0-9]{2,3}$' "$DIR/session-1.log"
done

serve auth '{"ehlo": ["AUTH PLAIN '"$(head -c 4000 /dev/zero | tr '\0' 'X')"'"]}'
measured -oi x@example.org
is "$RC" 0 "an AUTH line of 4000 bytes (auth off): delivered, no overflow"

# ---- injection: CR or LF in anything that reaches the dialogue -------------------
CR=$'\r'
LF=$'\n'
EVIL="RCPT TO:<evil@example.org>"
serve inject '{}'
INJECT_DIR=$DIR
sessions() { ls "$INJECT_DIR"/session-*.log 2>/dev/null | wc -l; }
# refused DESCRIPTION CODES: the last run exited with one of CODES (a
# space-separated list) and the server never saw a connection
refused() {
    local desc=$1 codes=" $2 "
    if [[ "$codes" == *" $RC "* ]]; then ok 0 "$desc: exit $RC"; else ok 1 "$desc: exit $RC, expected one of$codes"; diag "$ERR"; fi
    is "$(sessions)" 0 "$desc: nothing was sent"
}
base_config=("account default" "host 127.0.0.1" "port $PORT" "timeout 3")
inject_config() { write_config "$HOME/.outpostrc" "${base_config[@]}" "$@"; }

inject_config "from sender@example.com${CR}${EVIL}"
run_outpost -oi x@example.org <"$T/msg"
refused "CR inside 'from' in the configuration" "78"
check "CR inside 'from': the file and line are named" said ".outpostrc:5"

inject_config "eval printf 'from sender@example.com\\r$EVIL'"
run_outpost -oi x@example.org <"$T/msg"
refused "CR inside what an 'eval' printed" "78"
check "CR from 'eval': the file and line are named" said ".outpostrc:5: the output of 'eval' contains a control character"

inject_config "from sender@example.com" "domain client.example${CR}${EVIL}"
run_outpost -oi x@example.org <"$T/msg"
refused "CR inside 'domain'" "78"

printf 'root: admin@example.org\r%s\n' "$EVIL" >"$T/aliases"
inject_config "from sender@example.com" "aliases $T/aliases"
run_outpost -oi root <"$T/msg"
refused "CR inside an alias target" "64 65 67 78"

inject_config "from sender@example.com"
run_outpost -oi -f "sender@example.com${CR}${EVIL}" x@example.org <"$T/msg"
refused "CR inside -f" "64"
run_outpost -oi "x@example.org${CR}${EVIL}" <"$T/msg"
refused "bare CR inside a recipient operand" "64"
run_outpost -oi -F "Joe${CR}${LF}Bcc: evil@example.org" x@example.org <"$T/msg"
refused "CR LF inside -F (the full name)" "64"
run_outpost -oi -N "success${CR}${LF}${EVIL}" x@example.org <"$T/msg"
refused "CR LF inside -N (DSN notify)" "64"
run_outpost -oi -V "id${CR}${LF}${EVIL}" x@example.org <"$T/msg"
refused "CR LF inside -V (the envelope id)" "64"

printf 'To: <x@example.org\r%s>\nSubject: t\n\nbody\n' "$EVIL" >"$T/tomsg"
run_outpost -oi -t <"$T/tomsg"
refused "-t: a bare CR inside a To address" "64 65"
printf 'From: <sender@example.com\r%s>\nTo: x@example.org\n\nbody\n' "$EVIL" >"$T/frommsg"
run_outpost -oi --read-envelope-from x@example.org <"$T/frommsg"
refused "--read-envelope-from: a bare CR inside the From address" "64 65"

# ---- files -----------------------------------------------------------------------
closed_port >"$T/down"
DOWN=$(cat "$T/down")
queue_config() { # queue_config DIR: queue on, server down
    write_config "$HOME/.outpostrc" "account default" "host 127.0.0.1" "port $DOWN" "timeout 3" \
        "from sender@example.com" "queue on" "queue_dir $1"
}
mkdir -m 777 "$T/sharedq"
chmod 777 "$T/sharedq"
queue_config "$T/sharedq"
run_outpost -oi x@example.org <"$T/msg"
is "$RC" 75 "a queue_dir others can write in: not queued there, exit 75 (still the caller's)"
check "a queue_dir others can write in: says why and what to do" said "other users can write in it (mode 0777); run: chmod 700"
is "$(find "$T/sharedq" -type f | wc -l)" 0 "a queue_dir others can write in: nothing written in it"

mkdir -m 700 "$T/realq"
ln -s "$T/realq" "$T/linkq"
queue_config "$T/linkq"
run_outpost -oi x@example.org <"$T/msg"
is "$RC" 75 "a queue_dir that is a symlink: refused, exit 75"
is "$(find "$T/realq" -type f | wc -l)" 0 "a queue_dir that is a symlink: not followed"

mkdir -m 700 "$T/q"
queue_config "$T/q"
run_outpost -oi x@example.org <"$T/msg"
is "$RC" 0 "a private queue_dir: queued"
ID=$(queue_ids "$T/q")
cp "$T/q/$ID" "$T/outside-entry"
rm "$T/q/$ID"
PLANTED=20260101T000000-1-0badf00d
ln -s "$T/outside-entry" "$T/q/$PLANTED"
serve planted '{}'
write_config "$HOME/.outpostrc" "account default" "host 127.0.0.1" "port $PORT" "timeout 3" \
    "from sender@example.com" "queue on" "queue_dir $T/q"
run_outpost -q
check "a symlink planted in the queue: not followed, nothing delivered from it" \
    bash -c "! ls '$DIR'/msg-* >/dev/null 2>&1"
check "a symlink planted in the queue: its target is untouched" test -s "$T/outside-entry"
run_outpost --queue-remove="../outside-entry"
is "$RC" 64 "a queue id with a path in it: refused (exit 64)"
check "a queue id with a path: its target is untouched" test -s "$T/outside-entry"
check "a queue id with a path: says it is not a queue id" said "is not a queue id"

if command -v strace >/dev/null; then
    write_config "$HOME/.outpostrc" "account default" "host 127.0.0.1" "port $PORT" "timeout 3" \
        "from sender@example.com"
    # LeakSanitizer cannot work under ptrace (as in speed.sh)
    traced_spool() {
        ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" strace -f -o "$T/strace" -e trace=openat,memfd_create \
            "$OUTPOST" -oi x@example.org <"$1" >/dev/null 2>&1
    }
    # A small message is spooled in memory: no name in TMPDIR at all.
    traced_spool "$T/msg"
    check "a small message's spool is in memory (memfd_create)" grep -q 'memfd_create("outpost-spool"' "$T/strace"
    check "nothing is opened in TMPDIR for it" lacks "\"$TMPDIR/" "$T/strace"
    # One over 1 MiB goes to a file in TMPDIR, which a planted name cannot be.
    { printf 'Subject: big\n\n'; head -c 1500000 /dev/zero | tr '\0' 'x' | fold -w 70; } >"$T/big.msg"
    traced_spool "$T/big.msg"
    check "a message over 1 MiB: the spool file in TMPDIR is created with O_EXCL and mode 0600 (a planted name is never opened)" \
        grep -qE "openat\(AT_FDCWD, \"$TMPDIR/outpost\.[A-Za-z0-9]{6}\", O_RDWR\|O_CREAT\|O_EXCL(\|O_CLOEXEC)?, 0600\)" "$T/strace"
    check "nothing else is opened in TMPDIR" \
        test "$(grep -c "\"$TMPDIR/" "$T/strace")" -eq 1
    check "and the server got it whole" sh -c "[ \$(tr -d '\r' <\"\$(ls '$DIR'/msg-*.eml | sort -V | tail -1)\" | grep -c '^x') -eq \$(grep -c '^x' '$T/big.msg') ]"
fi

printf 'account default\nhost 127.0.0.1\nport %s\nfrom sender@example.com\n' "$PORT" >"$T/open.conf"
chmod 666 "$T/open.conf"
ln -sf "$T/open.conf" "$HOME/.outpostrc"
run_outpost -oi x@example.org <"$T/msg"
is "$RC" 78 "the config is a symlink to a world-writable file: refused (exit 78)"
check "the config symlink: the check is on the file it points to" said "other users can write (mode 0666)"
printf 'account default\nhost 127.0.0.1\nport %s\nfrom sender@example.com\npasswordeval echo x\n' "$PORT" >"$T/group.conf"
chmod 620 "$T/group.conf"
ln -sf "$T/group.conf" "$HOME/.outpostrc"
run_outpost -oi x@example.org <"$T/msg"
is "$RC" 78 "the config is a symlink to a group-writable file with passwordeval: refused (exit 78)"
check "a group-writable file: refused whatever it holds" said "other users can write (mode 0620)"
rm -f "$HOME/.outpostrc"

done_testing
