#!/bin/sh
# make install-system / uninstall-system: the system relay's user, its
# directories with their modes, and its systemd units (installed, not
# enabled). Run as root. With DESTDIR, everything (the user too, through
# useradd --prefix) goes under it.
#   install-system.sh install|uninstall SRCDIR BINDIR UNITDIR
set -eu
action=$1 srcdir=$2 bindir=$3 unitdir=$4
D=${DESTDIR:-}
spool=$D/var/spool/outpost
state=$D/var/lib/outpost
prefix=
[ -n "$D" ] && prefix="--prefix $D"

id_of() { # id_of passwd|group NAME: the numeric id (from $D/etc when DESTDIR)
    if [ -n "$D" ]; then
        awk -F: -v n="$2" '$1 == n { print $3 }' "$D/etc/$1"
    else
        getent "$1" "$2" | cut -d: -f3
    fi
}

case $action in
install)
    if [ -z "$(id_of group outpost)" ]; then
        groupadd $prefix --system outpost
    fi
    if [ -z "$(id_of passwd outpost)" ]; then
        useradd $prefix --system --gid outpost --home-dir /var/lib/outpost --no-create-home \
            --shell /usr/sbin/nologin --comment "outpost system relay" outpost
    fi
    uid=$(id_of passwd outpost) gid=$(id_of group outpost)
    # the queue (users pass through it to the maildrop, nothing more)
    install -d -m 0711 -o "$uid" -g "$gid" "$spool"
    # the maildrop: anyone may add a file, only outpost may list or remove
    install -d -m 1733 -o "$uid" -g "$gid" "$spool/maildrop"
    install -d -m 0700 -o "$uid" -g "$gid" "$state"
    install -d -m 0755 "$D$unitdir"
    install -m 0644 "$srcdir/contrib/systemd/outpost.socket" "$D$unitdir/outpost.socket"
    sed "s|@bindir@|$bindir|g" "$srcdir/contrib/systemd/outpost.service.in" >"$D$unitdir/outpost.service"
    chmod 0644 "$D$unitdir/outpost.service"
    if [ -z "$D" ] && [ -d /run/systemd/system ]; then
        systemctl daemon-reload || true
    fi
    echo "installed: the user outpost, $spool (0711), $spool/maildrop (1733), $state (0700),"
    echo "  $D$unitdir/outpost.socket and outpost.service (not enabled: systemctl enable --now outpost.socket)"
    ;;
uninstall)
    rm -f "$D$unitdir/outpost.socket" "$D$unitdir/outpost.service"
    rmdir "$D$unitdir" 2>/dev/null || true
    # Mail still waiting is never removed: the directories go only when empty.
    kept=
    for d in "$spool/maildrop" "$spool/tmp" "$spool" "$state"; do
        [ -d "$d" ] || continue
        rmdir "$d" 2>/dev/null || kept="$kept $d"
    done
    if [ -n "$kept" ]; then
        echo "kept (not empty: queued mail or state):$kept; the user outpost is kept too"
    elif [ -n "$(id_of passwd outpost)" ]; then
        userdel $prefix outpost 2>/dev/null || true
        [ -z "$(id_of group outpost)" ] || groupdel $prefix outpost 2>/dev/null || true
    fi
    ;;
*)
    echo "usage: $0 install|uninstall SRCDIR BINDIR UNITDIR" >&2
    exit 64
    ;;
esac
