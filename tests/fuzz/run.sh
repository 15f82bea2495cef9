#!/bin/bash
# run.sh CORPUS_DIR BUILD_DIR SECONDS NAME...: "make fuzz". Runs each
# libFuzzer target for SECONDS, two at a time, starting from a copy of
# its seed corpus (the source tree may be read-only); new inputs and any
# crash go to BUILD_DIR/work/NAME. Prints one line per target with the
# executions and the corpus size; exits 1 if any target crashed.
set -u
corpus=$1 build=$2 seconds=$3
shift 3
mkdir -p "$build/work"
# The queue target writes files on every run: a memory file system keeps
# it from being limited by the disk.
[ -d /dev/shm ] && [ -w /dev/shm ] && export TMPDIR=/dev/shm
run_one() {
    local name=$1 work="$build/work/$1"
    mkdir -p "$work/corpus"
    cp -n "$corpus/$name"/* "$work/corpus/" 2>/dev/null
    "$build/fuzz_$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -max_len=65536 -print_final_stats=1 -artifact_prefix="$work/" \
        "$work/corpus" >"$work/log" 2>&1
    local rc=$?
    local execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
    local size=$(ls "$work/corpus" | wc -l)
    if [ "$rc" -eq 0 ]; then
        echo "fuzz $name: ok, ${execs:-?} executions in ${seconds} s, corpus $size"
    else
        echo "fuzz $name: FAILED (exit $rc), see $work/log"
        grep -A30 '==ERROR\|runtime error\|deadly signal' "$work/log" | head -40
    fi
    return $rc
}
export -f run_one
export build corpus seconds
printf '%s\n' "$@" | xargs -P 2 -I{} bash -c 'run_one {}'
