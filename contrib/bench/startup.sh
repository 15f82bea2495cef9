#!/bin/bash
# What a plain send costs, one build against another: N alternate runs of
# each (1 KB, plain SMTP to Postfix's smtp-sink on loopback), medians, the
# 90th percentile and peak RSS. For showing that something added (OAuth 2.0,
# its libraries loaded only when a token is fetched) costs a run that does
# not use it nothing.
#
#   contrib/bench/startup.sh OLD_OUTPOST NEW_OUTPOST [RUNS]   (default 300)
set -u
old=$1 new=$2 runs=${3:-300}
here=$(cd "$(dirname "$0")" && pwd)
die() { echo "startup: $*" >&2; exit 1; }
[ -x "$old" ] && [ -x "$new" ] || die "usage: startup.sh OLD_OUTPOST NEW_OUTPOST [RUNS]"
[ -x /usr/sbin/smtp-sink ] || die "smtp-sink (postfix) is not installed"
T=$(mktemp -d /tmp/outpost-startup.XXXXXX)
trap 'kill "$sink" 2>/dev/null; wait "$sink" 2>/dev/null; rm -rf "$T"' EXIT
"${CC:-cc}" -O2 -o "$T/runstat" "$here/runstat.c" || die "cannot build runstat"
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
user=()
[ "$(id -u)" -eq 0 ] && user=(-u nobody)
/usr/sbin/smtp-sink "${user[@]}" -c "127.0.0.1:$port" 256 </dev/null >/dev/null 2>&1 &
sink=$!
sleep 1
printf 'account default\nhost 127.0.0.1\nport %s\nfrom a@b.example\ndomain bench.example\ntls off\n' \
    "$port" >"$T/rc"
chmod 600 "$T/rc"
{ printf 'Subject: startup\n\n'; head -c 1000 /dev/zero | tr '\0' x; echo; } >"$T/1k"
for _ in $(seq 1 "$runs"); do
    "$T/runstat" "$T/1k" "$T/old" "$old" -C "$T/rc" rcpt@example.test
    "$T/runstat" "$T/1k" "$T/new" "$new" -C "$T/rc" rcpt@example.test
done
/usr/bin/python3 - "$T" "$old" "$new" <<'PY'
import statistics, sys
d = sys.argv[1]
for name, binary in (("old", sys.argv[2]), ("new", sys.argv[3])):
    rows = [l.split() for l in open(d + "/" + name)]
    ms = sorted(float(r[0]) for r in rows)
    print("%s  %-40s median %.2f ms, p90 %.2f ms, peak RSS %d KiB, failed %d of %d" % (
        name, binary, statistics.median(ms), ms[int(len(ms) * 0.9)], max(int(r[1]) for r in rows),
        sum(r[2] != "0" for r in rows), len(rows)))
print("load average: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))
PY
