#!/bin/bash
# A 50 MB message arrives byte for byte, and outpost's memory does not grow
# with the message (it streams through the spool file).
. "$srcdir/tests/lib.sh"

start_server large
write_config "$HOME/.outpostrc" "account default" "host 127.0.0.1" "port $PORT" \
    "timeout 30" "from sender@example.com" "${KEEP_HEADERS[@]}"

# 50 MB of LF text: lines of many lengths, some starting with dots, some 8-bit.
"$TEST_PYTHON" - "$T/big.in" <<'EOF'
import random, sys
rnd = random.Random(42)
target = 50 * 1024 * 1024
# a pool of varied lines, drawn from at random
pool = []
for _ in range(4096):
    n = rnd.choice((0, 1, 10, 72, 76, 200, 998))
    line = bytes(rnd.choice(b"abcdefghij .\xc3\xa9") for _ in range(n))
    if rnd.random() < 0.05:
        line = b"." + line
    pool.append(line + b"\n")
with open(sys.argv[1], "wb") as f:
    f.write(b"Subject: large\nFrom: sender@example.com\n\n")
    size = 0
    while size < target:
        chunk = b"".join(rnd.choices(pool, k=1000))
        f.write(chunk)
        size += len(chunk)
EOF
crlf <"$T/big.in" >"$T/big.exp"

export MAXRSS_OUT="$T/rss"
"$TEST_PYTHON" "$srcdir/tests/tools/maxrss.py" "$OUTPOST" -oi rcpt@example.org <"$T/big.in" 2>"$ERR"
read -r status big_kib <"$T/rss"
is "$status" 0 "50 MB message: exit 0"
check "50 MB message: stored bytes are exact" same_bytes "$DIR/msg-1.eml" "$T/big.exp"
echo "# peak RSS for 50 MB: $big_kib KiB"
check "50 MB message: peak RSS under 16 MB ($big_kib KiB)" test "$big_kib" -lt 16384

printf 'Subject: small\n\nsmall\n' >"$T/small.in"
"$TEST_PYTHON" "$srcdir/tests/tools/maxrss.py" "$OUTPOST" -oi rcpt@example.org <"$T/small.in" 2>"$ERR"
read -r status small_kib <"$T/rss"
is "$status" 0 "small message: exit 0"
echo "# peak RSS for a small message: $small_kib KiB"
check "memory does not grow with the message (50 MB: $big_kib KiB, small: $small_kib KiB)" \
    test "$big_kib" -lt $((small_kib + 2048))

done_testing
