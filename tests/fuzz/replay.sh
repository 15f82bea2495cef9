#!/bin/bash
# Every file of every seed corpus (tests/fuzz/corpus/NAME) through its fuzz
# target, once: in an ordinary build the targets are plain programs
# (tests/fuzz/standalone.c), so make check (and the sanitizer build) keep
# the parsers honest on inputs that once mattered, crashes found included.
. "$srcdir/tests/lib.sh"

for dir in "$srcdir"/tests/fuzz/corpus/*/; do
    name=$(basename "$dir")
    target="$builddir/tests/fuzz/fuzz_$name"
    if [ ! -x "$target" ]; then
        ok 1 "fuzz target $name is built"
        continue
    fi
    mapfile -t files < <(find "$dir" -type f | sort)
    "$target" "${files[@]}" >"$T/$name.out" 2>&1
    rc=$?
    [ "$rc" -ne 0 ] && diag "$T/$name.out" | tail -20
    ok "$rc" "fuzz corpus $name: ${#files[@]} inputs, no crash"
done
check "every target has a corpus" test "$(ls -d "$srcdir"/tests/fuzz/corpus/*/ | wc -l)" -eq "$(ls "$srcdir"/tests/fuzz/fuzz_*.c | wc -l)"

done_testing
