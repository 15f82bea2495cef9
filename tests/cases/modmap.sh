#!/bin/bash
# doc/HACKING.md's module map is kept true: the "calls" column of every
# module is compared with what its object really calls (nm), so the map
# cannot drift from the code again (tests/tools/modmap.py).
. "$srcdir/tests/lib.sh"

command -v nm >/dev/null || skip_all "nm (binutils) is not installed"
"$TEST_PYTHON" "$srcdir/tests/tools/modmap.py" "$srcdir/doc/HACKING.md" "$srcdir/src" \
    "$builddir/src" >"$T/map.out" 2>"$T/map.err"
is "$?" 0 "the map was read and the objects examined"
diag "$T/map.err"
while IFS= read -r line; do
    case $line in
    '#'*) echo "$line" ;;
    *) ok "${line%%$'\t'*}" "${line#*$'\t'}" ;;
    esac
done <"$T/map.out"
check "the map has rows" test "$(grep -c . "$T/map.out")" -gt 20

done_testing
