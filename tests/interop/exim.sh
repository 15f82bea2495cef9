#!/bin/bash
# Against a real Exim 4 on loopback: a submission port (STARTTLS) and an
# smtps port (implicit TLS), AUTH PLAIN and LOGIN through Exim's plaintext
# authenticator, offered only under TLS; every server x port x mechanism
# row delivers the message byte for byte into a Maildir.
#
# Exim conflicts with Postfix as a Debian package, so contrib/install-deps.sh
# unpacks exim4-daemon-light into /opt/outpost-interop instead of installing
# it ($EXIM names another binary). The script runs in a private mount
# namespace where /etc/passwd has the Debian-exim user the binary expects
# (mapped to nobody), so nothing on the machine is changed.
. "$srcdir/tests/interop/common.sh"
private_mount_namespace "$@"
. "$srcdir/tests/lib.sh"

EXIM=${EXIM:-}
for e in /usr/sbin/exim4 /opt/outpost-interop/usr/sbin/exim4; do
    [ -z "$EXIM" ] && [ -x "$e" ] && EXIM=$e
done
[ -n "$EXIM" ] || skip_all "exim4 not found (contrib/install-deps.sh unpacks it into /opt/outpost-interop)"
command -v certtool >/dev/null || skip_all "certtool (gnutls-bin) is not installed"

# The Debian build looks up Debian-exim when it starts.
add_system_users Debian-exim:65534 || skip_all "cannot mount a private /etc/passwd"
EXIM_USER=$(id -un Debian-exim)

PKI="$T/pki"
sh "$srcdir/tests/tools/mkcerts.sh" "$PKI" || skip_all "could not make test certificates"
chmod 755 "$T" "$PKI"
chmod 644 "$PKI"/*.pem
E="$T/exim"
mkdir -p "$E/spool" "$E/log" "$E/mail"
chown -R "$EXIM_USER" "$E"
SUBMISSION_PORT=$(free_port)
SMTPS_PORT=$(free_port)
USER_NAME=joe@example.com
PASSWORD='exim s3cret'
cat >"$E/exim.conf" <<CONF
exim_path = $EXIM
exim_user = $EXIM_USER
exim_group = $(id -gn "$EXIM_USER")
never_users =
keep_environment =
spool_directory = $E/spool
log_file_path = $E/log/%slog
pid_file_path = $E/exim.pid
primary_hostname = exim.test
qualify_domain = exim.test
local_interfaces = <; 127.0.0.1
daemon_smtp_ports = $SUBMISSION_PORT : $SMTPS_PORT
tls_on_connect_ports = $SMTPS_PORT
tls_advertise_hosts = *
tls_certificate = $PKI/server.pem
tls_privatekey = $PKI/key.pem
auth_advertise_hosts = \${if eq{\$tls_in_cipher}{}{}{*}}
host_lookup =
log_selector = +incoming_interface
rfc1413_hosts =
acl_smtp_rcpt = acl_check_rcpt
begin acl
acl_check_rcpt:
  accept authenticated = *
  deny message = authentication required
begin routers
everything:
  driver = accept
  transport = maildir
begin transports
maildir:
  driver = appendfile
  directory = $E/mail
  maildir_format
  user = $EXIM_USER
  delivery_date_add = false
  envelope_to_add = false
  return_path_add = false
begin authenticators
plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = \${if and{{eq{\$auth2}{$USER_NAME}}{eq{\$auth3}{$PASSWORD}}}}
  server_set_id = \$auth2
login:
  driver = plaintext
  public_name = LOGIN
  server_prompts = Username:: : Password::
  server_condition = \${if and{{eq{\$auth1}{$USER_NAME}}{eq{\$auth2}{$PASSWORD}}}}
  server_set_id = \$auth1
CONF
"$EXIM" -C "$E/exim.conf" -bV >"$E/version" 2>&1 || { diag "$E/version"; skip_all "this exim cannot run here"; }
echo "# $(head -1 "$E/version")"
stop_exim() { [ -s "$E/exim.pid" ] && kill "$(head -1 "$E/exim.pid")" 2>/dev/null; }
at_exit stop_exim
"$EXIM" -C "$E/exim.conf" -bd </dev/null >/dev/null 2>&1
for i in $(seq 1 100); do [ -s "$E/exim.pid" ] && break; sleep 0.05; done
[ -s "$E/exim.pid" ] || { diag "$E"/log/*; echo "Bail out! exim did not start"; exit 1; }

make_interop_message

# ---- the matrix: port x mechanism ---------------------------------------------------
exim_logged() { # PORT MECH N WHAT
    check "$4: Exim logged this port, TLS and the login with ${2^^}" \
        grep -q "I=\[127.0.0.1\]:$1 P=esmtpsa X=TLS.* A=$2:$USER_NAME " "$E/log/mainlog"
}
auth_matrix Exim "$SUBMISSION_PORT" "$SMTPS_PORT" "$E/mail" "$E/log/mainlog" exim_logged
grep -c ' <= ' "$E/log/mainlog" | sed 's/^/# messages Exim accepted: /'

# ---- refusals (Exim offers AUTH on the submission port only after STARTTLS) ------------
auth_refusals Exim "$SUBMISSION_PORT" "$SUBMISSION_PORT" "535 Incorrect authentication data" "$E/mail"

done_testing
