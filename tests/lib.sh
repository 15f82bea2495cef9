# Helpers for outpost's end-to-end tests. Source it from a bash test script;
# the script prints TAP (ok / not ok lines, then the plan).
#
# Environment (set by `make check`, see Makefile.am):
#   OUTPOST      the built binary
#   TEST_PYTHON  /usr/bin/python3 (the test server needs only its stdlib)
#   srcdir       the source tree (read-only under distcheck)

set -u
: "${OUTPOST:?OUTPOST must name the outpost binary}"
: "${srcdir:=.}"
: "${TEST_PYTHON:=/usr/bin/python3}"

T=$(mktemp -d "${TMPDIR:-/tmp}/outpost-test.XXXXXX")
SERVER_PIDS=()
TAP_N=0
TAP_FAILED=0

EXIT_HOOKS=()
at_exit() { EXIT_HOOKS+=("$1"); } # at_exit FUNCTION: run it when the script ends

cleanup() {
    local pid hook
    for hook in "${EXIT_HOOKS[@]}"; do
        "$hook"
    done
    for pid in "${SERVER_PIDS[@]}"; do
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# Each test file gets its own home and temporary directory, and no system
# configuration file, so nothing on the machine leaks in.
export HOME="$T/home"
export TMPDIR="$T/tmp"
export XDG_CONFIG_HOME="$HOME/.config"
export OUTPOST_SYSTEM_CONFIG=""
mkdir -p "$HOME" "$TMPDIR"

# Under AddressSanitizer/UBSan builds, reports go to files that
# done_testing checks: a report fails the script even when the test that
# ran the binary only looked at its exit code.
SANITIZER_LOGS="$T/sanitizer"
mkdir -p "$SANITIZER_LOGS"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$SANITIZER_LOGS/asan"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:log_path=$SANITIZER_LOGS/ubsan"

# ---- TAP -------------------------------------------------------------------
ok() { # ok STATUS DESCRIPTION
    TAP_N=$((TAP_N + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $TAP_N - $2"
    else
        echo "not ok $TAP_N - $2"
        TAP_FAILED=$((TAP_FAILED + 1))
    fi
}

check() { # check DESCRIPTION COMMAND...
    local desc=$1
    shift
    if "$@"; then ok 0 "$desc"; else ok 1 "$desc"; fi
}

is() { # is ACTUAL EXPECTED DESCRIPTION
    if [ "$1" = "$2" ]; then
        ok 0 "$3"
    else
        ok 1 "$3"
        echo "#   got:      '$1'"
        echo "#   expected: '$2'"
    fi
}

skip_all() {
    echo "1..0 # SKIP $*"
    exit 0
}

skip() { # skip N REASON: N checks that cannot run here
    local i
    for i in $(seq 1 "$1"); do echo "ok $((TAP_N += 1)) # SKIP $2"; done
}

done_testing() {
    if ls "$SANITIZER_LOGS"/* >/dev/null 2>&1; then
        ok 1 "no sanitizer reports"
        cat "$SANITIZER_LOGS"/* | sed 's/^/#   /' | head -60
    fi
    echo "1..$TAP_N"
    [ "$TAP_FAILED" -eq 0 ]
}

diag() { sed 's/^/#   /' "$@"; }

# lacks [GREP_OPTION...] PATTERN FILE...: no FILE holds PATTERN, and every
# FILE exists: a negative grep on a file that is not there would pass for
# nothing (a missing transcript is not a clean one).
lacks() {
    local opts=()
    while [[ ${1:-} == -[a-zA-Z]* ]]; do
        opts+=("$1")
        shift
    done
    local pattern=$1
    shift
    if [ $# -eq 0 ]; then
        echo "#   lacks: no file to read"
        return 1
    fi
    local f
    for f in "$@"; do
        if [ ! -e "$f" ]; then
            echo "#   lacks: $f does not exist"
            return 1
        fi
    done
    ! grep -q "${opts[@]}" -e "$pattern" -- "$@"
}

# said TEXT: outpost's stderr (of the last run_outpost) contains TEXT
said() { grep -qF -- "$1" "$ERR" || { diag "$ERR"; false; }; }

# ---- the scripted server ----------------------------------------------------
# start_server NAME [SCRIPT_JSON] [HOST]: sets PORT and DIR (where it records).
# SERVER_FLAGS (e.g. --pop3) is passed on to the server.
start_server() {
    local name=$1 script=${2:-} host=${3:-127.0.0.1}
    DIR="$T/$name"
    mkdir -p "$DIR"
    local args=(--port-file "$DIR/port" --record "$DIR" --host "$host" ${SERVER_FLAGS:-})
    [ -n "${SERVER_PORT:-}" ] && args+=(--port "$SERVER_PORT")
    if [ -n "$script" ]; then
        printf '%s\n' "$script" >"$DIR/script.json"
        args+=(--script "$DIR/script.json")
    fi
    "$TEST_PYTHON" "$srcdir/tests/server/smtpserver.py" "${args[@]}" >"$DIR/server.out" 2>&1 &
    SERVER_PIDS+=($!)
    wait_port "$DIR" "the test server"
    PORT=$(cat "$DIR/port")
}

# wait_port DIR WHAT: wait (10 s at most) for a server started in the
# background to write DIR/port, or bail out showing DIR/server.out
wait_port() {
    local i
    for i in $(seq 1 200); do
        [ -s "$1/port" ] && return 0
        sleep 0.05
    done
    echo "Bail out! $2 did not start"
    cat "$1/server.out" >&2
    exit 1
}

# settled: wait (up to 5 s each) until the sessions of the server started
# last have ended, so their logs are complete: outpost sends QUIT without
# waiting for the 221, and may be gone before the server has logged it.
settled() {
    local f i
    for f in "$DIR"/session-*.log; do
        [ -e "$f" ] || continue
        for i in $(seq 1 100); do
            grep -qx -- '-- session over' "$f" && break
            sleep 0.05
        done
    done
}

# start_provider NAME PKI_DIR [SCRIPT_JSON] [CERT]: the scripted OAuth 2.0
# provider (tests/server/oauthprovider.py) over HTTPS with PKI_DIR's
# certificate (CERT, default server); sets PROVIDER_PORT, PROVIDER_URL
# (https://127.0.0.1:PORT) and PDIR (its requests.log, tokens, refresh).
# PROVIDER_AT=PORT puts it on that port (the one a grant was made for).
start_provider() {
    local name=$1 pki=$2 script=${3:-} cert=${4:-server}
    PDIR="$T/$name"
    mkdir -p "$PDIR"
    [ -n "$script" ] || script='{}'
    printf '%s\n' "$script" >"$PDIR/script.json"
    "$TEST_PYTHON" "$srcdir/tests/server/oauthprovider.py" --port-file "$PDIR/port" \
        --cert "$pki/$cert.pem" --key "$pki/key.pem" --dir "$PDIR" --script "$PDIR/script.json" \
        ${PROVIDER_AT:+--port "$PROVIDER_AT"} >"$PDIR/server.out" 2>&1 &
    SERVER_PIDS+=($!)
    PROVIDER_PID=$!
    wait_port "$PDIR" "the OAuth provider"
    PROVIDER_PORT=$(cat "$PDIR/port")
    PROVIDER_URL="https://127.0.0.1:$PROVIDER_PORT"
}

# stop_server: stop the server started last (its port can be used again,
# with SERVER_PORT=PORT start_server ...).
stop_server() {
    local last=$((${#SERVER_PIDS[@]} - 1))
    kill "${SERVER_PIDS[$last]}" 2>/dev/null
    wait "${SERVER_PIDS[$last]}" 2>/dev/null
    unset "SERVER_PIDS[$last]"
}

# free_port: print a loopback port that nothing listens on right now (for a
# real server the test starts itself)
free_port() {
    "$TEST_PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# listening PORT...: every loopback PORT accepts a connection now
listening() {
    "$TEST_PYTHON" -c 'import socket, sys
for p in sys.argv[1:]:
    socket.create_connection(("127.0.0.1", int(p)), timeout=1).close()' "$@" 2>/dev/null
}

# closed_port: a loopback port where connections are refused, reserved for
# the whole script (bound, never listening), so no server started later can
# be given it.
closed_port() {
    local f="$T/closed-port.$RANDOM"
    "$TEST_PYTHON" -c 'import socket,sys,time
s = socket.socket(); s.bind(("127.0.0.1", 0))
open(sys.argv[1] + ".tmp", "w").write("%d\n" % s.getsockname()[1])
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(3600)' "$f" &
    SERVER_PIDS+=($!)
    local i
    for i in $(seq 1 100); do [ -s "$f" ] && break; sleep 0.02; done
    cat "$f"
}

# silent_port: print a loopback port where connections get no answer at
# all, as behind a firewall that drops them: a listener whose accept queue
# (backlog 0) is kept full, so the kernel drops new SYNs. Fails (prints
# nothing) on a kernel that still answers them. Don't call it inside $(...):
# the helper holding the port runs on in the background.
silent_port() {
    local f="$T/silent-port.$RANDOM"
    "$TEST_PYTHON" - "$f" <<'PY' &
import os, socket, sys, time
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(0)
held = []
for _ in range(4):
    c = socket.socket()
    c.setblocking(False)
    c.connect_ex(l.getsockname())
    held.append(c)
time.sleep(0.3)
open(sys.argv[1] + ".tmp", "w").write("%d\n" % l.getsockname()[1])
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(600)
PY
    SERVER_PIDS+=($!)
    local i
    for i in $(seq 1 100); do [ -s "$f" ] && break; sleep 0.05; done
    [ -s "$f" ] || return 1
    if "$TEST_PYTHON" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.5)' \
        "$(cat "$f")" 2>/dev/null; then
        return 1
    fi
    cat "$f"
}

# queue_ids DIR: the queue entries in DIR (not tmp/, failed/, quarantine/
# or the side files), one id per line
queue_ids() { ls "$1" 2>/dev/null | grep -E '^[0-9]{8}T[0-9]{6}-[0-9]+-[0-9a-f]{8}$'; }

# Settings for tests that check a message arrives byte for byte: outpost adds
# no From, Date or Message-ID of its own.
KEEP_HEADERS=("set_from_header off" "set_date_header off" "set_msgid_header off")

# write_config FILE LINE...: a private (0600) configuration file
write_config() {
    local f=$1
    shift
    printf '%s\n' "$@" >"$f"
    chmod 600 "$f"
}

# run_outpost ARG... (stdin as given): sets RC, and OUT/ERR files
OUT="$T/stdout"
ERR="$T/stderr"
run_outpost() {
    "$OUTPOST" "$@" >"$OUT" 2>"$ERR"
    RC=$?
}

# outpost_for_anyone: set OUTPOST_ANYONE to a copy of the binary that every
# local user can run. The build tree may sit under a private directory (CI's
# mktemp -d is 0700), and so may $T, so a test that runs outpost as another
# user must not use "$OUTPOST" itself. Also opens $T to others for
# traversal (not listing).
outpost_for_anyone() {
    chmod 711 "$T"
    ANYONE_DIR=$(mktemp -d /tmp/outpost-anyone.XXXXXX)
    chmod 755 "$ANYONE_DIR"
    at_exit remove_anyone
    cp "$OUTPOST" "$ANYONE_DIR/outpost"
    chmod 755 "$ANYONE_DIR/outpost"
    OUTPOST_ANYONE="$ANYONE_DIR/outpost"
}
remove_anyone() { rm -rf "$ANYONE_DIR"; }

# Seconds since the epoch, with fractions.
now() { echo "$EPOCHREALTIME"; }
elapsed_ms() { # elapsed_ms START END
    "$TEST_PYTHON" -c "import sys; print(int((float(sys.argv[2]) - float(sys.argv[1])) * 1000))" "$1" "$2"
}

# crlf: LF -> CRLF, the form a message takes on the wire
crlf() { "$TEST_PYTHON" -c 'import sys; d=sys.stdin.buffer.read(); sys.stdout.buffer.write(d.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))'; }

# same_bytes FILE1 FILE2: byte-for-byte equal (prints a hint when not)
same_bytes() {
    if cmp -s "$1" "$2"; then return 0; fi
    echo "#   $1 and $2 differ:"
    cmp "$1" "$2" 2>&1 | sed 's/^/#   /'
    return 1
}
