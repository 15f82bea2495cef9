#!/bin/bash
# outpost against msmtp, side by side, on loopback servers this script
# starts and stops itself: Postfix's smtp-sink (plain SMTP), and Postfix +
# Dovecot SASL (submission with STARTTLS, smtps with implicit TLS, AUTH
# PLAIN), as in tests/interop. Both programs get the same settings and the
# same messages, and run alternately; the table shows medians and peak RSS.
#
#   contrib/bench/bench.sh [--quick]      (as root; `make bench` runs --quick)
#
# Environment: OUTPOST (default: ./src/outpost), MSMTP (default: msmtp),
# CC (to build the small runstat helper). Needs postfix, dovecot-core,
# gnutls-bin (certtool) and msmtp: contrib/install-deps.sh, then
# `apt-get install -y msmtp`.
set -u
here=$(cd "$(dirname "$0")" && pwd)
export srcdir=${srcdir:-$(cd "$here/../.." && pwd)}
OUTPOST=$(realpath "${OUTPOST:-src/outpost}")
export OUTPOST
MSMTP=${MSMTP:-msmtp}
quick=0
[ "${1:-}" = --quick ] && quick=1

die() { echo "bench: $*" >&2; exit 1; }
[ -x "$OUTPOST" ] || die "no outpost binary at $OUTPOST (build first, or set OUTPOST)"
command -v "$MSMTP" >/dev/null || die "msmtp is not installed (apt-get install -y msmtp)"
[ "$(id -u)" -eq 0 ] || die "Postfix needs root to start"
for p in /usr/sbin/postfix /usr/sbin/dovecot /usr/sbin/smtp-sink; do
    [ -x "$p" ] || die "$p is missing (contrib/install-deps.sh)"
done

. "$srcdir/tests/lib.sh"
. "$srcdir/tests/interop/mta.sh"

if [ "$quick" -eq 1 ]; then
    RUNS_SMALL=10 RUNS_BIG=2 BULK=200 BIG_MB=100 HUGE_MB=0
else
    RUNS_SMALL=30 RUNS_BIG=5 BULK=1000 BIG_MB=100 HUGE_MB=1024
fi

"${CC:-cc}" -O2 -static -o "$T/runstat" "$here/runstat.c" 2>/dev/null ||
    "${CC:-cc}" -O2 -o "$T/runstat" "$here/runstat.c" || die "cannot build runstat"

# ---- servers ------------------------------------------------------------------
PKI="$T/pki"
sh "$srcdir/tests/tools/mkcerts.sh" "$PKI" || die "cannot make test certificates"
chmod 755 "$PKI"
chmod 644 "$PKI"/*.pem
MTA_MAIN_CF_EXTRA="message_size_limit = 0
virtual_transport = discard"
start_mta "$PKI"

SINK_PORT=$(free_port)
/usr/sbin/smtp-sink -u nobody -c "127.0.0.1:$SINK_PORT" 256 </dev/null >/dev/null 2>&1 &
SINK_PID=$!
stop_sink() { kill "$SINK_PID" 2>/dev/null; wait "$SINK_PID" 2>/dev/null; }
at_exit stop_sink
for _ in $(seq 1 50); do
    listening "$SINK_PORT" && break
    sleep 0.1
done

# ---- identical configurations ---------------------------------------------------
# conf NAME PORT MODE: MODE is plain, starttls or smtps. Written for both
# programs (the syntax is shared); outpost's state (TLS tickets) lives in $HOME.
conf() {
    local name=$1 port=$2 mode=$3
    {
        printf 'defaults\ndomain bench.example\ntimeout 60\n\n'
        printf 'account %s\nhost 127.0.0.1\nport %s\nfrom sender@example.com\n' "$name" "$port"
        case $mode in
        plain) printf 'tls off\nauth off\n' ;;
        starttls) printf 'tls on\ntls_starttls on\n' ;;
        smtps) printf 'tls on\ntls_starttls off\n' ;;
        esac
        if [ "$mode" != plain ]; then
            printf 'tls_trust_file %s\n' "$PKI/ca.pem"
            printf 'auth plain\nuser %s\npassword %s\n' "$MTA_USER" "$MTA_PASSWORD"
        fi
        printf '\naccount default : %s\n' "$name"
    } >"$T/$name.rc"
    chmod 600 "$T/$name.rc"
}
conf sink "$SINK_PORT" plain
conf submission "$SUBMISSION_PORT" starttls
conf smtps "$SMTPS_PORT" smtps
cp "$T/submission.rc" "$T/noresume.rc"
printf 'tls_resume off\n' >>"$T/noresume.rc"

# ---- messages -----------------------------------------------------------------
message() { # message FILE BODY_BYTES
    "$TEST_PYTHON" - "$1" "$2" <<'PY'
import sys
path, size = sys.argv[1], int(sys.argv[2])
line = b"x" * 75 + b"\n"
with open(path, "wb") as f:
    f.write(b"From: Sender <sender@example.com>\nTo: rcpt@example.test\nSubject: bench\n"
            b"MIME-Version: 1.0\nContent-Type: text/plain\n\n")
    chunk = line * 13797  # ~1 MB
    left = size
    while left > 0:
        n = min(left, len(chunk))
        f.write(chunk[:n - 1] + b"\n")
        left -= n
PY
}
message "$T/1k" 1000
message "$T/2k" 2000
message "$T/big" $((BIG_MB * 1024 * 1024))
sync # no writeback of the messages just written during the measurements

# ---- measuring ------------------------------------------------------------------
RES="$T/results"
mkdir -p "$RES"
export RUNSTAT_ERR="$RES/stderr" # shown if a run fails
ORDER=()
# bench KEY "LABEL" RUNS INPUT CONF [OUTPOST_CONF]: alternate the two
# programs RUNS times (after one unrecorded warm-up run each).
bench() {
    local key=$1 label=$2 runs=$3 input=$4 rc=$5 orc=${6:-$5} i
    ORDER+=("$key")
    printf '%s\n' "$label" >"$RES/$key.label"
    echo "bench: $label ($runs runs each)" >&2
    "$T/runstat" "$input" /dev/null "$MSMTP" -C "$T/$rc.rc" rcpt@example.test
    "$T/runstat" "$input" /dev/null "$OUTPOST" -C "$T/$orc.rc" rcpt@example.test
    for i in $(seq 1 "$runs"); do
        "$T/runstat" "$input" "$RES/$key.msmtp" "$MSMTP" -C "$T/$rc.rc" rcpt@example.test
        "$T/runstat" "$input" "$RES/$key.outpost" "$OUTPOST" -C "$T/$orc.rc" rcpt@example.test
    done
}

bench plain1k "1 KB, plain SMTP to smtp-sink" "$RUNS_SMALL" "$T/1k" sink
bench starttls1k "1 KB, 587 STARTTLS + AUTH PLAIN (Postfix + Dovecot)" "$RUNS_SMALL" "$T/1k" submission
bench starttls1k_noresume "1 KB, 587 STARTTLS + AUTH, outpost with tls_resume off" "$RUNS_SMALL" \
    "$T/1k" submission noresume
bench smtps1k "1 KB, 465 implicit TLS + AUTH PLAIN" "$RUNS_SMALL" "$T/1k" smtps
bench sink100m "$BIG_MB MB to smtp-sink" "$RUNS_BIG" "$T/big" sink
bench postfix100m "$BIG_MB MB through Postfix, 587 STARTTLS + AUTH" "$RUNS_BIG" "$T/big" submission

# The ceiling smtp-sink allows, for scale: what a client that does no work
# at all (the message prepared in memory beforehand) achieves.
for i in $(seq 1 "$RUNS_BIG"); do
    "$TEST_PYTHON" "$here/ceiling.py" "$SINK_PORT" "$T/big" >>"$RES/ceiling" || die "ceiling.py failed"
done

# Memory against message size: outpost alone (msmtp is linear in time too).
if [ "$HUGE_MB" -gt 0 ]; then
    echo "bench: outpost, 1 KB and $HUGE_MB MB to smtp-sink (peak RSS)" >&2
    message "$T/huge" $((HUGE_MB * 1024 * 1024))
    sync
    "$T/runstat" "$T/1k" "$RES/rss.small" "$OUTPOST" -C "$T/sink.rc" rcpt@example.test
    "$T/runstat" "$T/huge" "$RES/rss.huge" "$OUTPOST" -C "$T/sink.rc" rcpt@example.test
    rm -f "$T/huge"
fi

# Bulk: BULK messages of 2 KB. msmtp: one run (one connection, one TLS
# handshake, one AUTH) each. outpost: queued while the server is away, then
# one `outpost -q` sends them all through one session.
echo "bench: $BULK messages through Postfix 587 (msmtp: $BULK runs; outpost: one flush)" >&2
{
    cat "$T/submission.rc"
    printf 'queue on\nqueue_dir %s\n' "$T/queue"
} >"$T/flush.rc"
closed_port >"$T/away.port" # (held by a child: not in $(...), which would wait for it)
sed "s/^port .*/port $(cat "$T/away.port")/" "$T/flush.rc" >"$T/away.rc"
chmod 600 "$T/flush.rc" "$T/away.rc"
for i in $(seq 1 "$BULK"); do
    "$OUTPOST" -C "$T/away.rc" rcpt@example.test <"$T/2k" 2>>"$RES/stderr"
done
queued=$(ls "$T/queue" | grep -cv '\.state$\|^tmp$\|^failed$')
[ "$queued" -eq "$BULK" ] || { tail -5 "$RES/stderr" >&2; die "only $queued of $BULK messages were queued"; }
printf '#!/bin/sh\nfor i in $(seq 1 %s); do "%s" -C "%s" rcpt@example.test <"%s" || exit 1; done\n' \
    "$BULK" "$MSMTP" "$T/submission.rc" "$T/2k" >"$T/msmtp-loop"
ORDER+=(bulk)
printf '%s\n' "$BULK x 2 KB through Postfix 587 (msmtp: $BULK runs; outpost: one -q)" >"$RES/bulk.label"
"$T/runstat" /dev/null "$RES/bulk.msmtp" sh "$T/msmtp-loop"
"$T/runstat" /dev/null "$RES/bulk.outpost" "$OUTPOST" -C "$T/flush.rc" -q
left=$(ls "$T/queue" | grep -cv '\.state$\|^tmp$\|^failed$')
[ "$left" -eq 0 ] || die "$left messages are still queued after the flush"

# ---- the table --------------------------------------------------------------------
"$TEST_PYTHON" - "$RES" "${ORDER[@]}" <<'PY'
import os, statistics, sys
res, keys = sys.argv[1], sys.argv[2:]
def load(path):
    rows = [l.split() for l in open(path)] if os.path.exists(path) else []
    return [(float(ms), int(kib), int(rc)) for ms, kib, rc in rows]
def fmt_ms(ms):
    return "%.2f s" % (ms / 1000) if ms >= 1000 else "%.1f ms" % ms
print("| workload | msmtp median | outpost median | outpost / msmtp | msmtp peak RSS | outpost peak RSS |")
print("|---|---:|---:|---:|---:|---:|")
failed = False
for k in keys:
    label = open(os.path.join(res, k + ".label")).read().strip()
    m, o = load(os.path.join(res, k + ".msmtp")), load(os.path.join(res, k + ".outpost"))
    if any(r[2] for r in m + o) or not m or not o:
        failed = True
        label += " (FAILED RUNS: exit %s)" % sorted({r[2] for r in m + o})
    mm = statistics.median(r[0] for r in m) if m else float("nan")
    om = statistics.median(r[0] for r in o) if o else float("nan")
    print("| %s | %s | %s | %.2f | %.1f MB | %.1f MB |" % (
        label, fmt_ms(mm), fmt_ms(om), om / mm,
        max(r[1] for r in m) / 1024 if m else 0, max(r[1] for r in o) / 1024 if o else 0))
ceiling = [float(l) * 1000 for l in open(os.path.join(res, "ceiling"))]
o = load(os.path.join(res, "sink100m.outpost"))
if ceiling and o:
    c, om = statistics.median(ceiling), statistics.median(r[0] for r in o)
    print()
    print("smtp-sink's ceiling (a client sending the message from memory in 1 MiB writes): "
          "%s; outpost reaches %.0f %% of it, spooling included" % (fmt_ms(c), 100 * c / om))
small, huge = load(os.path.join(res, "rss.small")), load(os.path.join(res, "rss.huge"))
if small and huge:
    print()
    print("outpost peak RSS: %.2f MB for 1 KB, %.2f MB for the large message (+%d KiB); "
          "the large one took %.2f s" % (small[0][1] / 1024, huge[0][1] / 1024,
                                        huge[0][1] - small[0][1], huge[0][0] / 1000))
sys.exit(1 if failed else 0)
PY
status=$?
if [ "$status" -ne 0 ] && [ -s "$RES/stderr" ]; then
    echo "bench: some runs failed; what they said:" >&2
    sort "$RES/stderr" | uniq -c | sort -rn | head -20 >&2
fi
exit "$status"
