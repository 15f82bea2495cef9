#!/bin/bash
# outpost against msmtp, side by side, on loopback servers this script
# starts and stops itself: Postfix's smtp-sink (plain SMTP), and Postfix +
# Dovecot SASL (submission with STARTTLS, smtps with implicit TLS, AUTH
# PLAIN), as in tests/interop. Both programs get the same settings and the
# same messages, and run alternately; the table shows medians and peak RSS,
# and for the small messages the floor: floor.py, a client that waits only
# where the RFCs make it (timed from connect, without a process start).
# The network section puts delayproxy.py (10 ms each way) in front of the
# servers; the recipients section sends one message to 1 to 10000.
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
    RUNS_SMALL=10 RUNS_BIG=2 BULK=200 BIG_MB=100 HUGE_MB=0 RUNS_NET=5
else
    RUNS_SMALL=30 RUNS_BIG=5 BULK=1000 BIG_MB=100 HUGE_MB=1024 RUNS_NET=20
fi
DELAY_MS=10 # each way, through delayproxy.py
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

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

# The delay proxies, one in front of each server.
PROXY_PIDS=()
stop_proxies() { local p; for p in "${PROXY_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; }
at_exit stop_proxies
proxy() { # proxy TARGET_PORT: prints the proxy's port
    "$TEST_PYTHON" "$here/delayproxy.py" "$T/proxy.$1" "$1" "$DELAY_MS" 2>>"$T/proxy.err" &
    PROXY_PIDS+=($!)
    for _ in $(seq 1 50); do [ -s "$T/proxy.$1" ] && break; sleep 0.1; done
    [ -s "$T/proxy.$1" ] || die "the delay proxy did not start"
}
proxy "$SINK_PORT"
proxy "$SUBMISSION_PORT"
proxy "$SMTPS_PORT"
NET_SINK_PORT=$(cat "$T/proxy.$SINK_PORT")
NET_SUBMISSION_PORT=$(cat "$T/proxy.$SUBMISSION_PORT")
NET_SMTPS_PORT=$(cat "$T/proxy.$SMTPS_PORT")

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
conf netsink "$NET_SINK_PORT" plain
conf netsubmission "$NET_SUBMISSION_PORT" starttls
conf netsmtps "$NET_SMTPS_PORT" smtps
for rc in submission smtps; do
    cp "$T/$rc.rc" "$T/$rc-noresume.rc"
    printf 'tls_resume off\n' >>"$T/$rc-noresume.rc"
done

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
# programs RUNS times (after one unrecorded warm-up run each). With FLOOR
# set (floor.py's options), the floor is measured RUNS times after them;
# RCPTS (default 1) is the number of recipients.
bench() {
    local key=$1 label=$2 runs=$3 input=$4 rc=$5 orc=${6:-$5} i
    local rcpts=()
    for i in $(seq 1 "${RCPTS:-1}"); do rcpts+=("rcpt$i@example.test"); done
    ORDER+=("$key")
    printf '%s\n' "$label" >"$RES/$key.label"
    echo "bench: $label ($runs runs each)" >&2
    "$T/runstat" "$input" /dev/null "$MSMTP" -C "$T/$rc.rc" "${rcpts[@]}"
    "$T/runstat" "$input" /dev/null "$OUTPOST" -C "$T/$orc.rc" "${rcpts[@]}"
    for i in $(seq 1 "$runs"); do
        "$T/runstat" "$input" "$RES/$key.msmtp" "$MSMTP" -C "$T/$rc.rc" "${rcpts[@]}"
        "$T/runstat" "$input" "$RES/$key.outpost" "$OUTPOST" -C "$T/$orc.rc" "${rcpts[@]}"
    done
    if [ -n "${FLOOR:-}" ]; then
        # shellcheck disable=SC2086 # FLOOR is a list of options
        "$TEST_PYTHON" "$here/floor.py" --runs "$runs" --message "$input" --rcpts "${RCPTS:-1}" \
            $FLOOR >"$RES/$key.floor" 2>>"$RES/stderr" || echo "bench: floor.py failed ($label)" >&2
    fi
}
TLSFLOOR="--user $MTA_USER --password $MTA_PASSWORD --ca $PKI/ca.pem"

FLOOR="--mode plain --port $SINK_PORT" \
    bench plain1k "1 KB, plain SMTP to smtp-sink" "$RUNS_SMALL" "$T/1k" sink
FLOOR="--mode starttls --port $SUBMISSION_PORT --resume $TLSFLOOR" \
    bench starttls1k "1 KB, 587 STARTTLS + AUTH PLAIN (Postfix + Dovecot), outpost resuming" \
    "$RUNS_SMALL" "$T/1k" submission
FLOOR="--mode starttls --port $SUBMISSION_PORT $TLSFLOOR" \
    bench starttls1k_noresume "1 KB, 587 STARTTLS + AUTH, a full handshake (tls_resume off)" \
    "$RUNS_SMALL" "$T/1k" submission submission-noresume
FLOOR="--mode smtps --port $SMTPS_PORT --resume $TLSFLOOR" \
    bench smtps1k "1 KB, 465 implicit TLS + AUTH PLAIN, outpost resuming" "$RUNS_SMALL" "$T/1k" smtps
FLOOR="--mode smtps --port $SMTPS_PORT $TLSFLOOR" \
    bench smtps1k_noresume "1 KB, 465 implicit TLS + AUTH, a full handshake (tls_resume off)" \
    "$RUNS_SMALL" "$T/1k" smtps smtps-noresume

# Across a network: the same through the delay proxies (a 20 ms round trip).
FLOOR="--mode plain --port $NET_SINK_PORT" \
    bench net_plain1k "1 KB, plain SMTP, ${DELAY_MS} ms each way" "$RUNS_NET" "$T/1k" netsink
FLOOR="--mode starttls --port $NET_SUBMISSION_PORT --resume $TLSFLOOR" \
    bench net_starttls1k "1 KB, 587 STARTTLS + AUTH, ${DELAY_MS} ms each way, outpost resuming" \
    "$RUNS_NET" "$T/1k" netsubmission
FLOOR="--mode smtps --port $NET_SMTPS_PORT --resume $TLSFLOOR" \
    bench net_smtps1k "1 KB, 465 implicit TLS + AUTH, ${DELAY_MS} ms each way, outpost resuming" \
    "$RUNS_NET" "$T/1k" netsmtps

# Recipients: one 1 KB message to 1, 100, 1000 and 10000 (smtp-sink has no
# limit; a real server's 452 is tested, not measured).
for n in 1 100 1000 10000; do
    RCPTS=$n FLOOR="--mode plain --port $SINK_PORT" \
        bench "rcpt$n" "1 KB to $n recipients, smtp-sink" "$RUNS_BIG" "$T/1k" sink
done
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
fill_start=$(date +%s%N)
for i in $(seq 1 "$BULK"); do
    "$OUTPOST" -C "$T/away.rc" rcpt@example.test <"$T/2k" 2>/dev/null
done
echo "$(( ($(date +%s%N) - fill_start) / 1000000 ))" >"$RES/bulk.fill" # ms, for all of them
queued=$(ls "$T/queue" | grep -cv '\.state$\|^tmp$\|^failed$\|^quarantine$')
[ "$queued" -eq "$BULK" ] || { tail -5 "$RES/stderr" >&2; die "only $queued of $BULK messages were queued"; }
printf '#!/bin/sh\nfor i in $(seq 1 %s); do "%s" -C "%s" rcpt@example.test <"%s" || exit 1; done\n' \
    "$BULK" "$MSMTP" "$T/submission.rc" "$T/2k" >"$T/msmtp-loop"
ORDER+=(bulk)
printf '%s\n' "$BULK x 2 KB through Postfix 587 (msmtp: $BULK runs; outpost: one -q)" >"$RES/bulk.label"
"$T/runstat" /dev/null "$RES/bulk.msmtp" sh "$T/msmtp-loop"
"$T/runstat" /dev/null "$RES/bulk.outpost" "$OUTPOST" -C "$T/flush.rc" -q
left=$(ls "$T/queue" | grep -cv '\.state$\|^tmp$\|^failed$\|^quarantine$')
[ "$left" -eq 0 ] || die "$left messages are still queued after the flush"

# ---- the table --------------------------------------------------------------------
LOAD_BEFORE=$LOAD_BEFORE "$TEST_PYTHON" - "$RES" "${ORDER[@]}" <<'PY'
import os, statistics, sys
res, keys = sys.argv[1], sys.argv[2:]
def load(path):
    rows = [l.split() for l in open(path)] if os.path.exists(path) else []
    return [(float(ms), int(kib), int(rc)) for ms, kib, rc in rows]
def fmt_ms(ms):
    return "%.2f s" % (ms / 1000) if ms >= 1000 else "%.1f ms" % ms
print("| workload | msmtp median | outpost median | outpost / msmtp | floor median | outpost / floor | msmtp peak RSS | outpost peak RSS |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
failed = False
for k in keys:
    label = open(os.path.join(res, k + ".label")).read().strip()
    m, o = load(os.path.join(res, k + ".msmtp")), load(os.path.join(res, k + ".outpost"))
    fpath = os.path.join(res, k + ".floor")
    f = [float(l) for l in open(fpath)] if os.path.exists(fpath) else []
    if any(r[2] for r in m + o) or not m or not o:
        failed = True
        label += " (FAILED RUNS: exit %s)" % sorted({r[2] for r in m + o})
    mm = statistics.median(r[0] for r in m) if m else float("nan")
    om = statistics.median(r[0] for r in o) if o else float("nan")
    fm = statistics.median(f) if f else None
    print("| %s | %s | %s | %.2f | %s | %s | %.1f MB | %.1f MB |" % (
        label, fmt_ms(mm), fmt_ms(om), om / mm,
        fmt_ms(fm) if fm else "–", "%.2f" % (om / fm) if fm else "–",
        max(r[1] for r in m) / 1024 if m else 0, max(r[1] for r in o) / 1024 if o else 0))
ceiling = [float(l) * 1000 for l in open(os.path.join(res, "ceiling"))]
o = load(os.path.join(res, "sink100m.outpost"))
if ceiling and o:
    c, om = statistics.median(ceiling), statistics.median(r[0] for r in o)
    print()
    print("smtp-sink's ceiling (a client sending the message from memory in 1 MiB writes): "
          "%s; outpost reaches %.0f %% of it, spooling included" % (fmt_ms(c), 100 * c / om))
fill = os.path.join(res, "bulk.fill")
b = load(os.path.join(res, "bulk.outpost"))
if os.path.exists(fill) and b:
    ms = float(open(fill).read())
    print()
    print("filling the queue for the flush (%s runs of outpost, the server away) took %s, "
          "not counted above: with it, outpost's total is %s" % (
              open(os.path.join(res, "bulk.label")).read().split(" x ")[0], fmt_ms(ms),
              fmt_ms(ms + b[0][0])))
small, huge = load(os.path.join(res, "rss.small")), load(os.path.join(res, "rss.huge"))
if small and huge:
    print()
    print("outpost peak RSS: %.2f MB for 1 KB, %.2f MB for the large message (+%d KiB); "
          "the large one took %.2f s" % (small[0][1] / 1024, huge[0][1] / 1024,
                                        huge[0][1] - small[0][1], huge[0][0] / 1000))
print()
print("load average (1, 5, 15 min): %s before, %s after; %d CPUs" % (
    os.environ["LOAD_BEFORE"], " ".join(open("/proc/loadavg").read().split()[0:3]), os.cpu_count()))
sys.exit(1 if failed else 0)
PY
status=$?
if [ "$status" -ne 0 ] && [ -s "$RES/stderr" ]; then
    echo "bench: some runs failed; what they said:" >&2
    sort "$RES/stderr" | uniq -c | sort -rn | head -20 >&2
fi
exit "$status"
