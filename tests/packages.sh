#!/bin/bash
# The Debian packages, end to end (run by .ci/run as root, last: it
# replaces the machine's MTA for a while). Builds outpost and outpost-mta
# from a copy of the tree with dpkg-buildpackage, checks them with lintian
# and the AppArmor profile with apparmor_parser, installs them with apt
# (outpost-mta replaces Postfix: Conflicts/Provides mail-transport-agent),
# sends a mail as an unprivileged user through /usr/sbin/sendmail and the
# system relay to a scripted server, purges them, checks that nothing is
# left, and puts Postfix back. Prints TAP.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
export srcdir=$top OUTPOST=/usr/bin/outpost
. "$top/tests/lib.sh"
export DEBIAN_FRONTEND=noninteractive
[ "$(id -u)" = 0 ] || skip_all "needs root"
command -v dpkg-buildpackage >/dev/null || skip_all "dpkg-dev is not installed"

B=$(mktemp -d /tmp/outpost-pkg.XXXXXX)
clean_b() { rm -rf "$B"; }
at_exit clean_b
mkdir "$B/outpost-0.1.0"
(cd "$top" && git ls-files -co --exclude-standard | tar -cf - -T -) | tar -xf - -C "$B/outpost-0.1.0"
(cd "$B/outpost-0.1.0" && ./autogen.sh && dpkg-buildpackage -us -uc -b) >"$B/build.log" 2>&1
ok $? "dpkg-buildpackage -us -uc -b builds from the tree"
tail -5 "$B/build.log" | diag
check "two packages: outpost and outpost-mta" test -f "$B/outpost_0.1.0_amd64.deb" -a -f "$B/outpost-mta_0.1.0_all.deb"
lintian --pedantic "$B/outpost_0.1.0_amd64.changes" >"$B/lintian.out" 2>&1
check "lintian: no error or warning (the overrides say why)" sh -c "! grep -q '^[EW]:' '$B/lintian.out'"
diag "$B/lintian.out"
# outpost is linked with libc alone (src/libload.h): the package must still
# depend on the packages of the libraries it loads.
lib_package() { dpkg -S "$(readlink -f "$(gcc -print-file-name="$1")")" 2>/dev/null | sed 's/:.*//'; }
depends=$(dpkg-deb -f "$B/outpost_0.1.0_amd64.deb" Depends)
for lib in libgnutls.so libgsasl.so; do
    pkg=$(lib_package "$lib")
    check "outpost depends on ${pkg:-the package of $lib}, whose library it loads" \
        sh -c "[ -n '$pkg' ] && printf '%s\n' '$depends' | tr ',' '\n' | grep -q '^ *$pkg\( \|$\)'"
done
echo "Depends: $depends" | diag
check "outpost-mta provides, conflicts with and replaces mail-transport-agent" sh -c \
    "dpkg-deb -f '$B/outpost-mta_0.1.0_all.deb' Provides Conflicts Replaces | grep -c mail-transport-agent | grep -qx 3"
if command -v apparmor_parser >/dev/null; then
    apparmor_parser -Q -K "$top/contrib/apparmor/usr.bin.outpost" >"$B/aa.out" 2>&1
    ok $? "the AppArmor profile parses (apparmor_parser -Q)"
    check "it is in complain mode" grep -q 'flags=(complain)' "$top/contrib/apparmor/usr.bin.outpost"
    sed 's/network inet stream,/network inet strem,/' "$top/contrib/apparmor/usr.bin.outpost" >"$B/bad.aa"
    check "the parser check can fail (a broken copy is refused)" sh -c "! apparmor_parser -Q -K '$B/bad.aa' 2>/dev/null"
fi

# ---- installed in place of the machine's MTA ----------------------------------------------------
had_postfix=0
dpkg -s postfix >/dev/null 2>&1 && had_postfix=1
apt-get install -y -qq "$B/outpost_0.1.0_amd64.deb" "$B/outpost-mta_0.1.0_all.deb" >"$B/install.log" 2>&1
ok $? "apt installs both (removing the MTA it replaces)"
tail -5 "$B/install.log" | diag
check "/usr/sbin/sendmail is outpost" test "$(readlink -f /usr/sbin/sendmail)" = /usr/bin/outpost
check "mailq and newaliases too" sh -c "[ \$(readlink -f /usr/bin/mailq) = /usr/bin/outpost ] && [ \$(readlink -f /usr/sbin/newaliases) = /usr/bin/outpost ]"
check "the user outpost exists" sh -c "getent passwd outpost >/dev/null"
check "/var/spool/outpost 0711, the maildrop 1733, /var/lib/outpost 0700, all outpost's" sh -c \
    "[ \"\$(stat -c '%a %U' /var/spool/outpost /var/spool/outpost/maildrop /var/lib/outpost | tr '\n' ' ')\" = '711 outpost 1733 outpost 700 outpost ' ]"
check "the units are installed" test -f /lib/systemd/system/outpost.socket -a -f /lib/systemd/system/outpost.service
check "and not enabled" sh -c "! ls /etc/systemd/system/*.wants/outpost.* 2>/dev/null | grep -q ."
check "sendmail(8) is a page" test -e /usr/share/man/man8/sendmail.8.gz
runuser -u nobody -- /usr/bin/outpost --version >"$B/version.out" 2>&1
check "the installed outpost loads GnuTLS and GNU SASL (--version names their versions)" sh -c \
    "grep -q '^TLS/SSL library: GnuTLS [0-9]' '$B/version.out' && grep -q '^Authentication library: GNU SASL [0-9]' '$B/version.out'"
diag "$B/version.out"

start_server pkg
printf '%s\n' "account default" "host 127.0.0.1" "port $PORT" "tls off" "from %U@example.org" \
    >/etc/outpost.conf
chmod 644 /etc/outpost.conf
restore_conf() { rm -f /etc/outpost.conf; }
at_exit restore_conf
install -d -m 0755 -o outpost -g outpost /run/outpost
runuser -u outpost -- env -i PATH=/usr/bin:/bin XDG_STATE_HOME=/var/lib /usr/bin/outpost --serve --socket /run/outpost/submit \
    2>"$B/service.log" &
SVC=$!
stop_svc() { kill "$SVC" 2>/dev/null; wait "$SVC" 2>/dev/null; }
at_exit stop_svc
for i in $(seq 100); do grep -q "listening on" "$B/service.log" && break; sleep 0.05; done
printf 'Subject: through the package\n\nhello\n' |
    runuser -u nobody -- env -i PATH=/usr/bin:/bin HOME=/nonexistent /usr/sbin/sendmail -oi rcpt@example.org
ok $? "nobody's /usr/sbin/sendmail: delivered through the relay"
check "the server has it, from nobody@example.org" sh -c "grep -q 'through the package' '$DIR/msg-1.eml' && grep -q '\"mail_from\": \"nobody@example.org\"' '$DIR/msg-1.json'"
check "the relay's log names nobody" grep -q "uid $(id -u nobody) (nobody).*delivered" "$B/service.log"
stop_svc
rm -rf /run/outpost

# ---- purged: nothing left -------------------------------------------------------------------------
apt-get purge -y -qq outpost outpost-mta >"$B/purge.log" 2>&1
ok $? "apt purges both"
check "dpkg knows neither any more" sh -c "! dpkg -L outpost >/dev/null 2>&1 && ! dpkg -L outpost-mta >/dev/null 2>&1"
check "no file of theirs is left" sh -c "for f in /usr/bin/outpost /usr/sbin/sendmail /usr/bin/mailq /etc/apparmor.d/usr.bin.outpost /lib/systemd/system/outpost.socket /lib/systemd/system/outpost.service /var/spool/outpost /var/lib/outpost /usr/share/doc/outpost /usr/share/bash-completion/completions/outpost; do [ -e \"\$f\" ] && { echo \"left: \$f\"; exit 1; }; done; exit 0"
check "the user outpost is gone" sh -c "! getent passwd outpost >/dev/null"
if [ "$had_postfix" = 1 ]; then
    apt-get install -y -qq postfix >"$B/restore.log" 2>&1
    ok $? "Postfix is put back"
    check "/usr/sbin/sendmail is Postfix's again" sh -c "dpkg -S /usr/sbin/sendmail | grep -q postfix"
fi
done_testing
