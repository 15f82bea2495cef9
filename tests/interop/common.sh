# What the interop tests share. Source after tests/lib.sh (except
# private_mount_namespace, which runs first: see below).
#
#   private_mount_namespace ARGS   re-run this script in a mount namespace of
#                        its own (as root), or SKIP; mounts made there vanish
#                        with it, so nothing on the machine is changed
#   add_system_users NAME:ID...    in that namespace, /etc/passwd and
#                        /etc/group gain the users (and same-named groups) a
#                        server binary insists on, if they are missing
#   make_interop_message  writes $T/msg (what is sent) and $T/expected
#   delivered_as_sent F  F ends with exactly $T/expected, and what comes
#                        before it is only the server's trace headers
#   use_account PORT STARTTLS(on|off) MECH USER PASSWORD CA
#                        $HOME/.outpostrc for one port and mechanism
#   auth_matrix SERVER STARTTLS_PORT SMTPS_PORT MAILDIR LOG LOGGED [OPTION...]
#                        the rows port x {PLAIN, LOGIN}, each by deliver_row
#                        (with the options); then LOGGED PORT MECH N checks
#                        the server's own record of row N
#   auth_refusals SERVER TLS_PORT PLAIN_PORT WORDS MAILDIR
#                        a wrong password gives 77 and the server's WORDS;
#                        on PLAIN_PORT (no TLS, so no AUTH offered) no
#                        password is sent; MAILDIR got nothing more
#   deliver_row WHAT MAILDIR N LOG [OPTION...]
#                        send $T/msg with that account (and the outpost
#                        options); it must be accepted and arrive as the Nth
#                        file in MAILDIR/new, byte for byte (LOG is shown
#                        when it does not)

private_mount_namespace() {
    [ -n "${OUTPOST_TEST_MNTNS:-}" ] && return 0
    if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && unshare -m true 2>/dev/null; then
        OUTPOST_TEST_MNTNS=1 exec unshare -m bash "$0" "$@"
    fi
    echo "1..0 # SKIP needs root and unshare for a private mount namespace"
    exit 0
}

add_system_users() {
    local spec name id added=0
    cp /etc/passwd "$T/passwd"
    cp /etc/group "$T/group"
    for spec in "$@"; do
        name=${spec%%:*} id=${spec#*:}
        getent passwd "$name" >/dev/null && continue
        echo "$name:x:$id:$id::/nonexistent:/usr/sbin/nologin" >>"$T/passwd"
        getent group "$name" >/dev/null || echo "$name:x:$id:" >>"$T/group"
        added=1
    done
    [ "$added" = 1 ] || return 0
    [ -n "${OUTPOST_TEST_MNTNS:-}" ] || return 1
    mount --bind "$T/passwd" /etc/passwd && mount --bind "$T/group" /etc/group
}

# The message has what usually goes wrong: leading dots, a lone dot, 8-bit
# text, a long line, and no newline at the end.
make_interop_message() {
    {
        printf 'From: Sender <sender@example.com>\nTo: rcpt@example.test\n'
        printf 'Subject: interop\nDate: Sun, 22 Nov 2026 10:00:00 +0000\n'
        printf 'Message-ID: <interop-%s@example.com>\nMIME-Version: 1.0\n' "$$"
        printf 'Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n'
        printf '.leading dot\n..two dots\n.\nafter a lone dot\ncaf\303\251\n'
        head -c 900 /dev/zero | tr '\0' x
        printf '\nlast line without newline'
    } >"$T/msg"
    # What a Maildir holds: the message with LF line ends, and a newline
    # added at the end (SMTP cannot carry a message that does not end in one).
    { cat "$T/msg"; echo; } >"$T/expected"
}

delivered_as_sent() {
    local size
    size=$(stat -c %s "$T/expected")
    if ! tail -c "$size" "$1" | cmp -s - "$T/expected"; then
        echo "#   the delivered message differs from what was sent:"
        diff <(tail -c "$size" "$1") "$T/expected" | head -10 | sed 's/^/#   /'
        return 1
    fi
    head -c "-$size" "$1" | grep -vE '^(Return-Path|Delivered-To|X-Original-To|Received):|^[[:space:]]' |
        sed 's/^/#   unexpected: /' | grep . && return 1
    return 0
}

use_account() {
    write_config "$HOME/.outpostrc" "account default" "host localhost" "port $1" \
        "from sender@example.com" "timeout 20" "tls on" "tls_starttls $2" \
        "tls_trust_file $6" "auth $3" "user $4" "password $5"
}

# Oldest first (Maildir names begin with the delivery time).
maildir_files() { find "$1/new" -type f 2>/dev/null | sort; }

deliver_row() {
    local what=$1 maildir=$2 n=$3 log=$4 i
    shift 4
    run_outpost "$@" -oi rcpt@example.test <"$T/msg"
    is "$RC" 0 "$what: accepted"
    [ "$RC" -eq 0 ] || diag "$ERR"
    for i in $(seq 1 100); do
        [ "$(maildir_files "$maildir" | wc -l)" -ge "$n" ] && break
        sleep 0.1
    done
    if [ "$(maildir_files "$maildir" | wc -l)" -ge "$n" ]; then
        check "$what: delivered byte for byte" delivered_as_sent "$(maildir_files "$maildir" | sed -n "${n}p")"
    else
        ok 1 "$what: delivered byte for byte (nothing arrived)"
        tail -5 "$log" | diag
    fi
}

# These two use the script's USER_NAME, PASSWORD and PKI (its ca.pem).
auth_matrix() {
    local server=$1 starttls=$2 smtps=$3 maildir=$4 log=$5 logged=$6 row what n=0
    shift 6
    for row in "$starttls on plain" "$starttls on login" "$smtps off plain" "$smtps off login"; do
        set -- $row "$@"
        what="$server, port $1 ($([ "$2" = on ] && echo STARTTLS || echo implicit TLS)), AUTH ${3^^}"
        use_account "$1" "$2" "$3" "$USER_NAME" "$PASSWORD" "$PKI/ca.pem"
        n=$((n + 1))
        local port=$1 mech=$3
        shift 3
        deliver_row "$what" "$maildir" "$n" "$log" "$@"
        "$logged" "$port" "$mech" "$n" "$what"
    done
}

auth_refusals() {
    local server=$1 tls_port=$2 plain_port=$3 words=$4 maildir=$5 before
    before=$(maildir_files "$maildir" | wc -l)
    use_account "$tls_port" on plain "$USER_NAME" "wrong password" "$PKI/ca.pem"
    run_outpost -oi rcpt@example.test <"$T/msg"
    is "$RC" 77 "$server, wrong password: exit 77"
    check "$server, wrong password: $server's words" said "$words"
    write_config "$HOME/.outpostrc" "account default" "host localhost" "port $plain_port" \
        "from sender@example.com" "timeout 20" "tls off" "auth plain" "user $USER_NAME" "password $PASSWORD"
    run_outpost -oi rcpt@example.test <"$T/msg"
    is "$RC" 78 "$server without TLS: outpost sends no AUTH without TLS (exit 78)"
    check "$server without TLS: says so" said "refusing to authenticate over a connection without TLS"
    write_config "$HOME/.outpostrc" "account default" "host localhost" "port $plain_port" \
        "from sender@example.com" "timeout 20" "tls off" "auth plain" "user $USER_NAME" "password $PASSWORD" \
        "auth_without_tls on"
    run_outpost -oi rcpt@example.test <"$T/msg"
    check "$server without TLS, auth_without_tls on: AUTH is not offered, so no password is sent (exit $RC)" test "$RC" -ne 0
    check "$server without TLS, auth_without_tls on: says the server offers no authentication" said "does not offer authentication"
    is "$(maildir_files "$maildir" | wc -l)" "$before" "$server: nothing more was delivered"
}
