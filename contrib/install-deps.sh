#!/bin/sh
# Install what building and testing outpost needs on Debian 12 (as root).
#   build:  compiler, autotools, pkg-config, GnuTLS, GNU SASL, libsecret
#   tests:  the distribution's python3 (the scripted SMTP server uses only
#           its standard library), certtool (test certificates), strace
#           (start-up cost checks), gnome-keyring, secret-tool and
#           dbus-run-session (keyring tests), Postfix + Dovecot (interop),
#           mutt, git send-email and GNU Mailutils (real clients calling
#           outpost as sendmail), zsh (checks the zsh completion), clang
#           (libFuzzer, for make fuzz)
set -e
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
    gcc make autoconf automake pkg-config xz-utils \
    libgnutls28-dev libgsasl-dev libsecret-1-dev \
    python3 gnutls-bin ca-certificates strace postfix dovecot-core \
    gnome-keyring libsecret-tools dbus \
    mutt git git-email mailutils zsh nftables iproute2 util-linux clang >/dev/null
echo "install-deps: done"
