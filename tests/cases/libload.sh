#!/bin/bash
# Libraries loaded when a run needs them (src/libload.h): the binary is
# linked with the C library alone; each run opens only what it uses (GnuTLS
# for TLS, GNU SASL for SCRAM); and where a library cannot be loaded (it is
# hidden here by a bind mount of /dev/null, in a private mount namespace)
# outpost says so in one line with the right exit code, and nothing is lost:
# without GnuTLS a TLS send exits 71 and the queue holds nothing half-made,
# without GNU SASL 'auth on' falls back to PLAIN and --version says why.
. "$srcdir/tests/lib.sh"
. "$srcdir/tests/interop/common.sh"
private_mount_namespace "$@"

command -v certtool >/dev/null || skip_all "certtool (gnutls-bin) is not installed"
command -v readelf >/dev/null || skip_all "readelf (binutils) is not installed"
PKI="$T/pki"
sh "$srcdir/tests/tools/mkcerts.sh" "$PKI" || skip_all "could not make test certificates"
HAVE_STRACE=0
command -v strace >/dev/null && strace -o /dev/null true 2>/dev/null && HAVE_STRACE=1

LOADED='libgnutls|libgsasl|libsecret|libcurl|libjansson|libnettle|libhogweed|libp11-kit|libidn2|libglib'
USER_NAME=joe@example.com
PASSWORD='pw-for-libload'
printf 'Subject: libload\n\nbody\n' >"$T/msg"

# ---- linked with the C library alone ------------------------------------------------------------
readelf -d "$OUTPOST" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' >"$T/needed"
check "the binary needs libc" grep -q '^libc\.so' "$T/needed"
check "and none of the libraries it loads itself" lacks -E "$LOADED" "$T/needed"
diag "$T/needed"

# server NAME MECHANISMS: STARTTLS and AUTH with MECHANISMS (a JSON list)
server() {
    start_server "$1" "{\"tls\": {\"mode\": \"starttls\", \"cert\": \"$PKI/server.pem\", \"key\": \"$PKI/key.pem\"}, \"auth\": {\"user\": \"$USER_NAME\", \"password\": \"$PASSWORD\", \"mechanisms\": $2}}"
}
# config LINE...: the default account for the last server, over TLS
config() {
    write_config "$HOME/.outpostrc" "account default" "host localhost" "port $PORT" \
        "from sender@example.com" "timeout 5" "tls on" "tls_trust_file $PKI/ca.pem" \
        "user $USER_NAME" "password $PASSWORD" "$@"
}
send() { "$OUTPOST" "$@" -oi rcpt@example.org <"$T/msg" >"$OUT" 2>"$ERR"; RC=$?; }
# traced ARG...: a run under strace, the files it opened in $T/trace
traced() {
    ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" strace -f -e trace=openat -o "$T/trace" \
        "$OUTPOST" "$@" <"$T/msg" >"$OUT" 2>"$ERR"
    RC=$?
}
last_session() { ls "$DIR"/session-*.log | sort -V | tail -1; }
authenticated_with() { grep -qx -- "-- authenticated as $USER_NAME with $1" "$(last_session)"; }

# ---- what each run opens --------------------------------------------------------------------------
server both '["PLAIN", "SCRAM-SHA-256"]'
if [ "$HAVE_STRACE" -eq 1 ]; then
    traced --help
    is "$RC" 0 "--help under strace: exit 0"
    check "--help opens none of the libraries" lacks -E "$LOADED" "$T/trace"

    config "auth plain"
    traced -oi rcpt@example.org
    is "$RC" 0 "STARTTLS + AUTH PLAIN under strace: delivered"
    check "it opened GnuTLS" grep -q 'libgnutls\.so' "$T/trace"
    check "not GNU SASL (PLAIN is outpost's own)" lacks 'libgsasl' "$T/trace"
    check "nor the keyring's, libcurl or jansson" lacks -E 'libsecret|libcurl|libjansson' "$T/trace"

    config "auth scram-sha-256"
    traced -oi rcpt@example.org
    is "$RC" 0 "STARTTLS + AUTH SCRAM-SHA-256 under strace: delivered"
    check "it opened GNU SASL" grep -q 'libgsasl\.so' "$T/trace"
else
    for i in $(seq 8); do echo "ok $((TAP_N += 1)) # SKIP strace is not available"; done
fi

# hide NAME: the library dlopen finds under NAME (libgnutls.so.30) becomes
# an empty file in this mount namespace; unhide puts it back
HIDDEN=
hide() {
    local path
    path=$(ldconfig -p | awk -v n="$1" '$1 == n { print $NF; exit }')
    [ -n "$path" ] && path=$(readlink -f "$path") && mount --bind /dev/null "$path" && HIDDEN=$path
}
unhide() { [ -z "$HIDDEN" ] || umount "$HIDDEN"; HIDDEN=; }
at_exit unhide
soname() { grep -o "#define $1_SONAME \"[^\"]*\"" "$builddir/config.h" | cut -d'"' -f2; }
GNUTLS_LIB=$(soname GNUTLS)
GSASL_LIB=$(soname GSASL)

# ---- without GnuTLS ---------------------------------------------------------------------------------
if hide "$GNUTLS_LIB"; then
    "$OUTPOST" --help >"$OUT" 2>"$ERR"
    is "$?" 0 "$GNUTLS_LIB unloadable: --help still works"
    "$OUTPOST" --version >"$OUT" 2>"$ERR"
    is "$?" 0 "--version still works"
    check "--version says GnuTLS cannot be loaded, and why" \
        grep -q "^TLS/SSL library: none (cannot load $GNUTLS_LIB: " "$OUT"

    config "auth plain"
    before=$(ls "$DIR"/msg-*.eml 2>/dev/null | wc -l)
    send
    is "$RC" 71 "a TLS send: exit 71 (EX_OSERR), the message is still the caller's"
    check "one line, naming the library and what needed it" \
        grep -qx "outpost: cannot load $GNUTLS_LIB, which outpost needs for TLS and checksums: .*" "$ERR"
    is "$(wc -l <"$ERR")" 1 "and only that line"
    is "$(ls "$DIR"/msg-*.eml 2>/dev/null | wc -l)" "$before" "nothing was delivered"

    # Queueing needs GnuTLS too (a queue entry's SHA-256): no entry may be
    # left half-made, and no false success.
    Q="$T/queue"
    closed_port >"$T/away.port"
    write_config "$HOME/.outpostrc" "account default" "host localhost" "port $(cat "$T/away.port")" \
        "from sender@example.com" "timeout 2" "tls off" "queue on" "queue_dir $Q"
    send
    is "$RC" 71 "queue on, the server away: exit 71, not 0 (it cannot be queued safely)"
    check "the queue holds no entry" test -z "$(queue_ids "$Q")"
    check "and no file left behind" sh -c "! find '$Q' -type f 2>/dev/null | grep -q ."
    unhide
else
    for i in $(seq 10); do echo "ok $((TAP_N += 1)) # SKIP cannot hide $GNUTLS_LIB (ldconfig, mount)"; done
fi

# ---- without GNU SASL ------------------------------------------------------------------------------
if [ -z "$GSASL_LIB" ]; then
    for i in $(seq 8); do echo "ok $((TAP_N += 1)) # SKIP built without libgsasl"; done
elif hide "$GSASL_LIB"; then
    "$OUTPOST" --version >"$OUT" 2>"$ERR"
    is "$?" 0 "$GSASL_LIB unloadable: --version works"
    check "--version says GNU SASL cannot be loaded" \
        grep -q "^Authentication library: none (cannot load $GSASL_LIB: " "$OUT"
    check "and lists no mechanism of GNU SASL's" \
        sh -c "! grep -A1 '^Supported authentication methods' '$OUT' | grep -qE 'SCRAM|CRAM-MD5|NTLM|GSSAPI'"

    config "auth on"
    send
    is "$RC" 0 "auth on, PLAIN and SCRAM-SHA-256 offered: delivered"
    check "with PLAIN, the strongest left" authenticated_with PLAIN

    config "auth scram-sha-256"
    send
    is "$RC" 78 "auth scram-sha-256 forced: exit 78 (configuration)"
    check "says it needs GNU SASL, which cannot be loaded" \
        said "authentication mechanism SCRAM-SHA-256 needs GNU SASL, which cannot be loaded: "
    check "and the advice for a mechanism this outpost lacks (advice.c's row, for real)" \
        said "outpost --version lists the mechanisms this build has; 'auth on' chooses among them"
    unhide
else
    for i in $(seq 8); do echo "ok $((TAP_N += 1)) # SKIP cannot hide $GSASL_LIB (ldconfig, mount)"; done
fi

done_testing
