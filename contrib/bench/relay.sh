#!/bin/bash
# The system relay under a cron storm: N separate sendmail runs, one after
# the other, by an unprivileged user, through `outpost --serve --socket`
# (running as the user outpost) to a private Postfix + Dovecot on 587 with
# STARTTLS + AUTH PLAIN; against msmtp doing the same N runs as that user
# with the same account, and against one `outpost -q` flush of N queued
# messages (one session for all). Prints messages per second and the
# ratios (doc/performance.md has the latest output).
#
#   contrib/bench/relay.sh [N]        (as root; N defaults to 1000)
#
# Environment: OUTPOST (default ./src/outpost), MSMTP (default msmtp);
# ROUNDS (default 3): rounds of the relay's storm and the flush, alternately,
# whose medians are compared; SKIP_MSMTP=1 leaves msmtp out (its runs take
# minutes); SERVICE_WRAP and CLIENT_WRAP go before the service's and each
# run's program (strace -c).
# Needs what tests/interop needs (contrib/install-deps.sh) and msmtp.
set -u
here=$(cd "$(dirname "$0")" && pwd)
export srcdir=${srcdir:-$(cd "$here/../.." && pwd)}
OUTPOST=$(realpath "${OUTPOST:-src/outpost}")
export OUTPOST
MSMTP=$(command -v "${MSMTP:-msmtp}") || { echo "bench: msmtp is not installed" >&2; exit 1; }
N=${1:-1000}
[ "$(id -u)" -eq 0 ] || { echo "bench: run as root (Postfix, and the users)" >&2; exit 1; }

# (into a private mount namespace first, so that the users can be added:
# before lib.sh makes $T, so that $T is not inside the first run's)
. "$srcdir/tests/interop/common.sh"
private_mount_namespace "$@"
. "$srcdir/tests/lib.sh"
. "$srcdir/tests/interop/mta.sh"
add_system_users outpost:4890 benchuser:4891 || { echo "bench: cannot add the users" >&2; exit 1; }
die() { echo "bench: $*" >&2; exit 1; }

PKI="$T/pki"
sh "$srcdir/tests/tools/mkcerts.sh" "$PKI" || die "cannot make test certificates"
chmod 755 "$PKI"
chmod 644 "$PKI"/*.pem
MTA_MAIN_CF_EXTRA="virtual_transport = discard"
start_mta "$PKI"

# Everything the users reach lives outside $T (which may be private).
R=$(mktemp -d /tmp/outpost-relay-bench.XXXXXX)
remove_r() { rm -rf "$R"; }
at_exit remove_r
chmod 755 "$R"
cp "$OUTPOST" "$R/outpost"
chmod 755 "$R/outpost"
mkdir -m 755 "$R/etc" "$R/run"
mkdir -m 711 "$R/spool"
mkdir -m 1733 "$R/spool/maildrop"
mkdir -m 700 "$R/state"
mkdir -m 700 "$R/home"
chown outpost:outpost "$R/run" "$R/spool" "$R/spool/maildrop" "$R/state"
chown benchuser:benchuser "$R/home"
printf '%s\n' "$MTA_PASSWORD" >"$R/etc/password"
chown root:outpost "$R/etc/password"
chmod 640 "$R/etc/password"
SOCK="$R/run/submit"
account() { # the account both programs use
    printf '%s\n' "host 127.0.0.1" "port $SUBMISSION_PORT" "tls on" "tls_starttls on" \
        "tls_trust_file $PKI/ca.pem" "auth plain" "user $MTA_USER" "timeout 60" \
        "from benchuser@example.com"
}
{
    printf '%s\n' "defaults" "service_socket $SOCK" "maildrop_dir $R/spool/maildrop" \
        "queue_dir $R/spool" "account default"
    account
    echo "password_file $R/etc/password"
} >"$R/etc/outpost.conf"
chmod 644 "$R/etc/outpost.conf"
{
    echo "account default"
    account
    echo "password $MTA_PASSWORD"
} >"$R/home/msmtprc"
chown benchuser "$R/home/msmtprc"
chmod 600 "$R/home/msmtprc"
printf 'From: benchuser@example.com\nTo: rcpt@example.test\nSubject: cron\n\n%s\n' \
    "$(head -c 1500 /dev/zero | tr '\0' x)" >"$R/msg"
chmod 644 "$R/msg"

setpriv --reuid=outpost --regid=outpost --clear-groups env -i PATH=/usr/bin:/bin \
    HOME="$R/state" XDG_STATE_HOME="$R/state" TMPDIR="$R/state" \
    OUTPOST_SYSTEM_CONFIG="$R/etc/outpost.conf" ${SERVICE_WRAP:-} "$R/outpost" --serve --socket "$SOCK" \
    2>"$R/service.log" &
SERVICE=$!
stop_service() { kill "$SERVICE" 2>/dev/null; wait "$SERVICE" 2>/dev/null; }
at_exit stop_service
for _ in $(seq 100); do grep -q "listening on" "$R/service.log" && break; sleep 0.05; done

# storm PROGRAM...: N runs as benchuser, one after the other; prints seconds
storm() {
    local start end
    start=$(date +%s%N)
    setpriv --reuid=benchuser --regid=benchuser --clear-groups env -i PATH=/usr/bin:/bin \
        HOME="$R/home" TMPDIR="$R/home" OUTPOST_SYSTEM_CONFIG="$R/etc/outpost.conf" \
        sh -c 'n=$1; shift; i=0; while [ $i -lt $n ]; do "$@" <"'"$R/msg"'" >/dev/null || exit 1; i=$((i+1)); done' \
        storm "$N" ${CLIENT_WRAP:-} "$@" || die "a run of $1 failed"
    end=$(date +%s%N)
    echo "$(( (end - start) / 1000000 ))"
}

connections() { grep -c "submission/smtpd.*: connect from" "$T/postfix/maillog"; }
ticks() { awk '{ print $14 + $15 }' "/proc/$SERVICE/stat"; } # the service's CPU (clock ticks)

# The flush: N messages queued with the server away (not timed), then one
# `outpost -q`, timed.
Q="$T/queue"
closed_port >"$T/away.port"
{
    echo "account default"
    account
    echo "password $MTA_PASSWORD"
    echo "queue on"
    echo "queue_dir $Q"
} >"$T/flush.rc"
sed "s/^port .*/port $(cat "$T/away.port")/" "$T/flush.rc" >"$T/away.rc"
chmod 600 "$T/flush.rc" "$T/away.rc"
flush() {
    local start
    for _ in $(seq "$N"); do "$OUTPOST" -C "$T/away.rc" -oi rcpt@example.test <"$R/msg" 2>/dev/null; done
    start=$(date +%s%N)
    "$OUTPOST" -C "$T/flush.rc" -q 2>/dev/null
    echo "$(( ($(date +%s%N) - start) / 1000000 ))"
    [ -z "$(queue_ids "$Q")" ] || die "the flush left messages queued"
}

# ROUNDS rounds of the relay's storm and the flush, alternately (the
# machine's drift falls on both): the medians are compared.
relay_all="" flush_all="" sessions=0 service_ticks=0
for round in $(seq "${ROUNDS:-3}"); do
    echo "bench: round $round: $N separate sendmail runs through the relay" >&2
    connected_before=$(connections)
    ticks_before=$(ticks)
    relay_all="$relay_all $(storm "$R/outpost" -oi rcpt@example.test)"
    sessions=$(( sessions + $(connections) - connected_before ))
    service_ticks=$(( service_ticks + $(ticks) - ticks_before ))
    echo "bench: round $round: one flush of $N queued messages" >&2
    flush_all="$flush_all $(flush)"
done

echo "bench: $N runs of outpost --help (the price of a process alone)" >&2
process_ms=$(storm "$R/outpost" --help)
echo "bench: $N runs of outpost --version (a process that loads GnuTLS and GNU SASL)" >&2
loading_ms=$(storm "$R/outpost" --version)

echo "bench: $N separate msmtp runs" >&2
[ -n "${SKIP_MSMTP:-}" ] && msmtp_ms=1 || msmtp_ms=$(storm "$MSMTP" -C "$R/home/msmtprc" rcpt@example.test)

"$TEST_PYTHON" - "$N" "${ROUNDS:-3}" "$relay_all" "$msmtp_ms" "$flush_all" "$sessions" "$service_ticks" \
    "$(getconf CLK_TCK)" "$process_ms" "$loading_ms" <<'PY'
import statistics, sys
n, rounds = int(sys.argv[1]), int(sys.argv[2])
relays = [int(x) for x in sys.argv[3].split()]
msmtp = int(sys.argv[4] or 0)
flushes = [int(x) for x in sys.argv[5].split()]
sessions, ticks, hz, process, loading = (int(x or 0) for x in sys.argv[6:11])
relay, flush = statistics.median(relays), statistics.median(flushes)
rate = lambda ms: n / (ms / 1000)
print("%d messages of 1.5 KB to Postfix 587, STARTTLS + AUTH PLAIN (medians of %d rounds)" % (n, rounds))
print("  %-52s %8.1f msg/s  (%d ms; rounds: %s)" % ("%d sendmail runs through the system relay" % n,
      rate(relay), relay, " ".join(map(str, relays))))
print("  %-52s %8.1f msg/s  (%d ms)" % ("%d msmtp runs" % n, rate(msmtp), msmtp))
print("  %-52s %8.1f msg/s  (%d ms; rounds: %s)" % ("one outpost -q flush of %d queued messages" % n,
      rate(flush), flush, " ".join(map(str, flushes))))
print("  %-52s %8.1f runs/s   (%d ms)" % ("%d runs of outpost --help (a process alone)" % n, rate(process), process))
print("  %-52s %8.1f runs/s   (%d ms)" % ("%d runs of outpost --version (GnuTLS, GNU SASL loaded)" % n,
      rate(loading), loading))
print("  relay / msmtp: %.1f x the messages per second" % (rate(relay) / rate(msmtp)))
print("  flush / relay: %.2f (the relay within %.2f x one flush; each round: %s)" % (
      rate(flush) / rate(relay), relay / flush, " ".join("%.2f" % (r / f) for r, f in zip(relays, flushes))))
print("  SMTP connections Postfix saw during the relay's %d runs: %d" % (rounds * n, sessions))
print("  the service's CPU time for them: %.2f ms a message" % (ticks * 1000 / hz / (rounds * n)))
print("  the relay less the process alone: %.2f ms a message, against %.2f for the flush"
      % ((relay - process) / n, flush / n))
PY
