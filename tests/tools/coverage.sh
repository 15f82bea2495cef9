#!/bin/bash
# coverage.sh [unit|all] [FILE...]: line coverage of src/ (gcov), in a
# separate build under $COVERAGE_DIR (default /tmp/outpost-coverage) from
# `make distdir` of this tree. "unit" runs only the unit tests (what
# tests/unit/*.c reach by themselves), "all" the whole of make check.
# Prints one line per source file and a total; with FILE arguments, only
# those files (e.g. "unit smtp.c session.c").
#   tests/tools/coverage.sh unit smtp.c session.c
set -eu
what=${1:-all}
shift || true
top=$(cd "$(dirname "$0")/../.." && pwd)
dir=${COVERAGE_DIR:-/tmp/outpost-coverage}
rm -rf "$dir"
mkdir -p "$dir"
(cd "$top" && make distdir distdir="$dir/src" >/dev/null)
mkdir "$dir/build"
cd "$dir/build"
../src/configure CFLAGS='-O0 -g --coverage' LDFLAGS='--coverage' >/dev/null
make -j2 >/dev/null 2>&1
if [ "$what" = unit ]; then
    make -j2 check TESTS="$(cd ../src && ls tests/unit/*_test.c | sed 's/\.c$//' | tr '\n' ' ')" >/dev/null 2>&1 || true
else
    make -j2 check >/dev/null 2>&1 || true
fi
cd src
/usr/bin/python3 - "$@" <<'PY'
import glob, os, re, subprocess, sys
want = set(sys.argv[1:])
total = covered = 0
rows = []
for gcno in sorted(glob.glob("*.gcno")):
    # automake names objects src/libcore_a-NAME.o or NAME.o
    name = re.sub(r"^libcore_a-", "", gcno[:-5]) + ".c"
    if want and name not in want:
        continue
    out = subprocess.run(["gcov", "-n", "-o", ".", gcno], capture_output=True, text=True).stdout
    m = re.search(r"File '[^']*%s'\nLines executed:([0-9.]+)%% of ([0-9]+)" % re.escape(name), out)
    if not m:
        continue
    pct, lines = float(m.group(1)), int(m.group(2))
    rows.append((name, pct, lines))
    total += lines
    covered += round(pct * lines / 100)
for name, pct, lines in rows:
    print("%-16s %6.1f%% of %5d lines" % (name, pct, lines))
print("%-16s %6.1f%% of %5d lines" % ("total", 100.0 * covered / max(total, 1), total))
PY
