#!/bin/bash
# The fault-injection matrix (tests/tools/faultmatrix.py has the table):
# plain, STARTTLS and implicit TLS x every step of the dialogue x closed,
# reset, stalled, garbage, no line end, 4xx, 5xx; with the queue off and
# on. Each cell checks the exit code, the time bound, no false success and,
# with the queue on, that nothing is lost.
. "$srcdir/tests/lib.sh"

command -v certtool >/dev/null || skip_all "certtool (gnutls-bin) is not installed"
PKI="$T/pki"
sh "$srcdir/tests/tools/mkcerts.sh" "$PKI" || skip_all "could not make test certificates"

mkdir "$T/matrix"
"$TEST_PYTHON" "$srcdir/tests/tools/faultmatrix.py" "$OUTPOST" "$PKI" "$T/matrix" >"$T/matrix.out" 2>"$T/matrix.err"
is "$?" 0 "the matrix ran to the end"
diag "$T/matrix.err"
while IFS= read -r line; do
    case $line in
    '#'*) echo "$line" ;;
    *) ok "${line%%$'\t'*}" "${line#*$'\t'}" ;;
    esac
done <"$T/matrix.out"
check "the matrix has cells" grep -q '^# fault matrix: [1-9]' "$T/matrix.out"

done_testing
