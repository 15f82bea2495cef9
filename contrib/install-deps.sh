#!/bin/sh
# Install what building and testing outpost needs on Debian 12 (as root).
#   build:  compiler, autotools, pkg-config, GnuTLS, GNU SASL, libsecret,
#           libcurl (its GnuTLS build) and jansson (OAuth 2.0)
#   tests:  the distribution's python3 (the scripted SMTP server uses only
#           its standard library), certtool (test certificates), strace
#           (start-up cost checks), gnome-keyring, secret-tool and
#           dbus-run-session (keyring tests), Postfix + Dovecot (interop),
#           mutt, git send-email (with Mail::Address, which Debian only
#           recommends) and GNU Mailutils (real clients calling
#           outpost as sendmail), zsh (checks the zsh completion), clang
#           (libFuzzer, for make fuzz), systemd (systemd-analyze verify and
#           systemd-socket-activate for the relay's units; man-db for their
#           Documentation=), passwd (useradd), dpkg-dev, debhelper,
#           dh-apparmor, fakeroot, lintian and apparmor (the Debian packages
#           and the AppArmor profile, tests/packages.sh); Exim and OpenSMTPD unpacked into
#           /opt/outpost-interop (interop tests)
set -e
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
    gcc make autoconf automake pkg-config xz-utils \
    libgnutls28-dev libgsasl-dev libsecret-1-dev libcurl4-gnutls-dev libjansson-dev \
    python3 gnutls-bin ca-certificates strace postfix dovecot-core \
    gnome-keyring libsecret-tools dbus \
    mutt git git-email libmailtools-perl mailutils zsh nftables iproute2 util-linux clang \
    systemd passwd man-db dpkg-dev debhelper dh-apparmor fakeroot lintian apparmor >/dev/null
# Exim and OpenSMTPD for the interop tests: as packages they conflict with
# Postfix (all three are the MTA), so they are unpacked, not installed;
# their libraries are installed as usual.
apt-get install -y -qq --no-install-recommends libgnutls-dane0 libidn12 libnsl2 libpcre2-8-0 \
    libdb5.3 libevent-2.1-7 libssl3 >/dev/null
if [ ! -x /opt/outpost-interop/usr/sbin/exim4 ] || [ ! -x /opt/outpost-interop/usr/sbin/smtpd ]; then
    d=$(mktemp -d)
    chown _apt "$d" 2>/dev/null # apt-get download fetches as _apt
    (cd "$d" && apt-get download -qq exim4-daemon-light opensmtpd >/dev/null &&
        for deb in *.deb; do dpkg -x "$deb" /opt/outpost-interop; done)
    rm -rf "$d"
fi
echo "install-deps: done"
