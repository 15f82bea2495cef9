#!/bin/bash
# Against a real OpenSMTPD on loopback: a submission port where TLS is
# required (STARTTLS) and an smtps port (implicit TLS), AUTH PLAIN and LOGIN
# checked against a credentials table, delivery by OpenSMTPD's own Maildir
# helper; every port x mechanism row arrives byte for byte. A third port
# without TLS (where OpenSMTPD cannot offer AUTH) shows that no password
# is sent there.
#
# OpenSMTPD conflicts with Postfix as a Debian package, so
# contrib/install-deps.sh unpacks it into /opt/outpost-interop ($OPENSMTPD
# names another binary). The script runs in a private mount namespace:
# there the two system users the binary insists on exist, and tmpfs covers
# its compiled-in directories (/var/spool/smtpd, /var/lib/opensmtpd/empty,
# /run, /usr/libexec/opensmtpd for the helpers); nothing on the machine
# changes. Debian 12's OpenSMTPD 6.8 cannot do TLS with OpenSSL 3 at all;
# opensmtpd-keyfix.c, preloaded, bridges that one bug (see its comment).
. "$srcdir/tests/interop/common.sh"
private_mount_namespace "$@"
. "$srcdir/tests/lib.sh"

OPENSMTPD=${OPENSMTPD:-}
for e in /usr/sbin/smtpd /opt/outpost-interop/usr/sbin/smtpd; do
    [ -z "$OPENSMTPD" ] && [ -x "$e" ] && "$e" -h 2>&1 | grep -q OpenSMTPD && OPENSMTPD=$e
done
[ -n "$OPENSMTPD" ] || skip_all "OpenSMTPD not found (contrib/install-deps.sh unpacks it into /opt/outpost-interop)"
HELPERS=$(dirname "$OPENSMTPD")/../libexec/opensmtpd
[ -x "$HELPERS/mail.maildir" ] || skip_all "OpenSMTPD's helpers are not in $HELPERS"
command -v certtool >/dev/null || skip_all "certtool (gnutls-bin) is not installed"
echo "# $("$OPENSMTPD" -h 2>&1 | grep -m1 version)"

# Built before /usr/libexec is covered (the compiler lives there too).
${HOST_CC:-cc} -shared -fPIC -o "$T/keyfix.so" "$srcdir/tests/interop/opensmtpd-keyfix.c" -ldl ||
    skip_all "no C compiler for opensmtpd-keyfix.c"

add_system_users opensmtpd:64990 opensmtpq:64991 || skip_all "cannot mount a private /etc/passwd"
mount_private() { # mount_private DIR: an empty tmpfs over DIR, in this namespace only
    mount -t tmpfs -o mode=755 tmpfs "$1" || skip_all "cannot mount a tmpfs on $1"
}
mount_private /var/spool
mount_private /var/lib
mount_private /run
mkdir -p /var/lib/opensmtpd/empty
mkdir -m 711 /var/spool/smtpd
if [ ! -x /usr/libexec/opensmtpd/mail.maildir ]; then # unpacked, not installed
    mount_private /usr/libexec
    mkdir /usr/libexec/opensmtpd
    mount --bind "$HELPERS" /usr/libexec/opensmtpd
fi

PKI="$T/pki"
sh "$srcdir/tests/tools/mkcerts.sh" "$PKI" || skip_all "could not make test certificates"
chmod 755 "$T" "$PKI"
chmod 644 "$PKI"/*.pem
chmod 600 "$PKI/key.pem"
O="$T/opensmtpd"
mkdir -p "$O/mail"
chown nobody "$O/mail"
SUBMISSION_PORT=$(free_port)
SMTPS_PORT=$(free_port)
PLAIN_PORT=$(free_port)
USER_NAME=joe@example.com
PASSWORD='opensmtpd s3cret'
# The credentials table holds a crypt(3) hash, as smtpctl encrypt makes.
"$TEST_PYTHON" -W ignore -c 'import crypt, sys; print(sys.argv[1], crypt.crypt(sys.argv[2], crypt.mksalt(crypt.METHOD_SHA512)))' \
    "$USER_NAME" "$PASSWORD" >"$O/creds"
echo "rcpt@example.test nobody" >"$O/recipients"
chmod 640 "$O/creds" "$O/recipients"
cat >"$O/smtpd.conf" <<CONF
pki localhost cert "$PKI/server.pem"
pki localhost key "$PKI/key.pem"
table creds file:$O/creds
table recipients file:$O/recipients
listen on 127.0.0.1 port $SUBMISSION_PORT tls-require pki localhost auth <creds> hostname opensmtpd.test
listen on 127.0.0.1 port $SMTPS_PORT smtps pki localhost auth <creds> hostname opensmtpd.test
listen on 127.0.0.1 port $PLAIN_PORT hostname opensmtpd.test
action "maildir" maildir "$O/mail" virtual <recipients> user nobody
match from any auth for any action "maildir"
CONF
"$OPENSMTPD" -n -f "$O/smtpd.conf" >"$O/check" 2>&1 || { diag "$O/check"; echo "Bail out! OpenSMTPD refused its configuration"; exit 1; }
LD_PRELOAD="$T/keyfix.so" "$OPENSMTPD" -d -f "$O/smtpd.conf" </dev/null >"$O/log" 2>&1 &
SMTPD_PID=$!
stop_opensmtpd() { kill "$SMTPD_PID" 2>/dev/null; wait "$SMTPD_PID" 2>/dev/null; }
at_exit stop_opensmtpd
for i in $(seq 1 100); do
    listening "$SUBMISSION_PORT" "$SMTPS_PORT" "$PLAIN_PORT" && break
    kill -0 "$SMTPD_PID" 2>/dev/null || break
    sleep 0.05
done
listening "$SUBMISSION_PORT" "$SMTPS_PORT" "$PLAIN_PORT" ||
    { tail -5 "$O/log" | diag; echo "Bail out! OpenSMTPD did not start"; exit 1; }

make_interop_message

# ---- the matrix: port x mechanism ---------------------------------------------------
# OpenSMTPD's log does not name the mechanism, so outpost's transcript (-d)
# shows it; the log shows each session's TLS and login.
count() { grep -c "$1" "$O/log"; }
opensmtpd_logged() { # PORT MECH N WHAT
    check "$4: outpost used ${2^^}" grep -q "^--> AUTH ${2^^}" "$ERR"
    cat "$ERR" >>"$T/transcripts"
    check "$4: OpenSMTPD logged TLS and the login (session $3)" \
        test "$(count ' smtp tls ciphers=TLS')" -eq "$3" -a "$(count " smtp authentication user=$USER_NAME result=ok")" -eq "$3"
}
auth_matrix OpenSMTPD "$SUBMISSION_PORT" "$SMTPS_PORT" "$O/mail" "$O/log" opensmtpd_logged -d
PASSWORD_B64=$(printf %s "$PASSWORD" | base64)
no_password_in() { lacks -F "$PASSWORD" "$1" && lacks -F "$PASSWORD_B64" "$1"; }
check "the password is in none of the four debug transcripts, plain or base64" \
    no_password_in "$T/transcripts"

# ---- refusals ---------------------------------------------------------------------------
auth_refusals OpenSMTPD "$SUBMISSION_PORT" "$PLAIN_PORT" "535 Authentication failed" "$O/mail"

done_testing
