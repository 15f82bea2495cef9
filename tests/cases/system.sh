#!/bin/bash
# The system relay as installed: contrib/systemd's units pass
# systemd-analyze verify (and the check can fail: a unit whose program is
# missing is caught), their sandbox is what the issue asks, the service
# runs under socket activation (LISTEN_FDS, systemd-socket-activate), and
# make install-system / uninstall-system create and remove the user, the
# directories with their modes and the units (into a DESTDIR).
. "$srcdir/tests/lib.sh"

command -v systemd-analyze >/dev/null || skip_all "systemd-analyze is not installed"
U="$T/units"
mkdir -p "$U" "$T/man/man1" "$T/man/man5"
cp "$srcdir/doc/outpost.1" "$T/man/man1/"
cp "$srcdir/doc/outpost.conf.5" "$T/man/man5/"
cp "$srcdir/contrib/systemd/outpost.socket" "$U/"
sed "s|@bindir@|$(dirname "$OUTPOST")|" "$srcdir/contrib/systemd/outpost.service.in" >"$U/outpost.service"
MANPATH="$T/man" systemd-analyze verify "$U/outpost.socket" "$U/outpost.service" >"$OUT" 2>&1
is "$?" 0 "systemd-analyze verify: the socket and the service (their man pages found)"
diag "$OUT"
sed "s|@bindir@|/nonexistent|" "$srcdir/contrib/systemd/outpost.service.in" >"$T/bad.service"
MANPATH="$T/man" systemd-analyze verify "$U/outpost.socket" "$T/bad.service" >"$OUT" 2>&1
check "verify can fail: a service whose program is missing is refused" test "$?" != 0
for setting in ProtectSystem=strict ProtectHome=yes PrivateTmp=yes NoNewPrivileges=yes \
    ReadWritePaths=/var/spool/outpost StateDirectory=outpost User=outpost; do
    check "the service has $setting" grep -qx "$setting" "$U/outpost.service"
done
check "the socket is /run/outpost/submit, open to every user, owned by outpost" \
    sh -c "grep -qx ListenStream=/run/outpost/submit '$U/outpost.socket' && grep -qx SocketMode=0666 '$U/outpost.socket' && grep -qx SocketUser=outpost '$U/outpost.socket'"
check "ExecStart is outpost --serve" grep -qx "ExecStart=$(dirname "$OUTPOST")/outpost --serve" "$U/outpost.service"

# ---- socket activation ---------------------------------------------------------------------------
if command -v systemd-socket-activate >/dev/null; then
    start_server upstream
    Q="$T/spool"
    mkdir -m 700 "$Q"
    mkdir -m 1733 "$Q/maildrop"
    write_config "$T/outpost.conf" "account default" "host 127.0.0.1" "port $PORT" \
        "from relay@example.org" "queue_dir $Q" "maildrop_dir $Q/maildrop" \
        "service_socket $T/submit"
    chmod 644 "$T/outpost.conf"
    systemd-socket-activate -l "$T/submit" -E OUTPOST_SYSTEM_CONFIG="$T/outpost.conf" \
        -E XDG_STATE_HOME="$T/state" "$OUTPOST" --serve 2>"$T/service.log" &
    ACT=$!
    stop_act() { kill "$ACT" 2>/dev/null; wait "$ACT" 2>/dev/null; }
    at_exit stop_act
    for i in $(seq 100); do [ -S "$T/submit" ] && break; sleep 0.05; done
    rm -f "$HOME/.outpostrc"
    OUTPOST_SYSTEM_CONFIG="$T/outpost.conf" run_outpost -oi rcpt@example.org < <(printf 'Subject: activated\n\nhi\n')
    is "$RC" 0 "through the socket systemd (systemd-socket-activate) handed the service: delivered"
    check "the server has it" grep -q "Subject: activated" "$DIR/msg-1.eml"
    check "the service said it took the socket from systemd" grep -q "listening on the socket from systemd" "$T/service.log"
fi

# ---- make install-system into a DESTDIR ----------------------------------------------------------
if [ "$(id -u)" = 0 ] && command -v useradd >/dev/null; then
    D="$T/dest"
    mkdir -p "$D/etc"
    cp /etc/passwd /etc/group "$D/etc/"
    [ -f /etc/shadow ] && cp /etc/shadow "$D/etc/"
    [ -f /etc/gshadow ] && cp /etc/gshadow "$D/etc/"
    cp /etc/login.defs "$D/etc/" 2>/dev/null
    grep -v '^outpost:' "$D/etc/passwd" >"$D/p" && cat "$D/p" >"$D/etc/passwd"
    grep -v '^outpost:' "$D/etc/group" >"$D/p" && cat "$D/p" >"$D/etc/group"
    rm -f "$D/p"
    DESTDIR="$D" sh "$srcdir/contrib/systemd/install-system.sh" install "$srcdir" /usr/bin \
        /lib/systemd/system >"$OUT" 2>&1
    is "$?" 0 "install-system: exit 0"
    diag "$OUT"
    uid=$(awk -F: '$1 == "outpost" { print $3 }' "$D/etc/passwd")
    check "the user outpost exists (a system user without a login shell)" \
        sh -c "[ -n '$uid' ] && grep -q '^outpost:.*:/var/lib/outpost:/usr/sbin/nologin\$' '$D/etc/passwd'"
    check "the group outpost exists" grep -q '^outpost:' "$D/etc/group"
    check "/var/spool/outpost: 0711, outpost's" test "$(stat -c '%a %u' "$D/var/spool/outpost")" = "711 $uid"
    check "the maildrop: 1733, outpost's" test "$(stat -c '%a %u' "$D/var/spool/outpost/maildrop")" = "1733 $uid"
    check "/var/lib/outpost: 0700, outpost's" test "$(stat -c '%a %u' "$D/var/lib/outpost")" = "700 $uid"
    check "the units are installed" sh -c "[ -f '$D/lib/systemd/system/outpost.socket' ] && grep -qx 'ExecStart=/usr/bin/outpost --serve' '$D/lib/systemd/system/outpost.service'"
    DESTDIR="$D" sh "$srcdir/contrib/systemd/install-system.sh" install "$srcdir" /usr/bin \
        /lib/systemd/system >"$OUT" 2>&1
    is "$?" 0 "install-system again: exit 0 (the user is not made twice)"
    is "$(grep -c '^outpost:' "$D/etc/passwd")" 1 "one user outpost"
    touch "$D/var/spool/outpost/20261201T000000-1-00000000"
    DESTDIR="$D" sh "$srcdir/contrib/systemd/install-system.sh" uninstall "$srcdir" /usr/bin \
        /lib/systemd/system >"$OUT" 2>&1
    check "uninstall-system with mail queued: the queue and the user are kept, and it says so" \
        sh -c "[ -f '$D/var/spool/outpost/20261201T000000-1-00000000' ] && grep -q '^outpost:' '$D/etc/passwd' && grep -q 'kept (not empty' '$OUT'"
    check "the units are gone" test ! -e "$D/lib/systemd/system/outpost.service"
    rm "$D/var/spool/outpost/20261201T000000-1-00000000"
    DESTDIR="$D" sh "$srcdir/contrib/systemd/install-system.sh" uninstall "$srcdir" /usr/bin \
        /lib/systemd/system >"$OUT" 2>&1
    check "uninstall-system: the directories and the user are gone" \
        sh -c "[ ! -e '$D/var/spool/outpost' ] && [ ! -e '$D/var/lib/outpost' ] && ! grep -q '^outpost:' '$D/etc/passwd' && ! grep -q '^outpost:' '$D/etc/group'"
fi
done_testing
