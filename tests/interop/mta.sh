# A private Postfix + Dovecot SASL instance on loopback, for interop tests.
# Source after tests/lib.sh. Everything lives under $T; nothing in /etc is
# touched; both daemons are stopped by PID when the script exits.
#
#   need_mta             SKIP the whole script unless Postfix, Dovecot, root
#   start_mta PKI_DIR    start both; sets SUBMISSION_PORT (STARTTLS and
#                        AUTH required), SMTPS_PORT (implicit TLS, AUTH
#                        required), MAILBOX (the
#                        Maildir that receives everything for @example.test)
#                        and MTA_USER / MTA_PASSWORD (a Dovecot account)
#   wait_for_mail N      wait until MAILBOX holds N messages (20 s at most)
#
# MTA_MAIN_CF_EXTRA, if set, is appended to main.cf (later settings win:
# the benchmark uses it to lift the size limit and discard what arrives).
# MTA_DOVECOT_EXTRA is added to dovecot.conf (another passdb: oauth2), and
# MTA_AUTH_MECHANISMS replaces Dovecot's list of mechanisms.

need_mta() {
    [ "$(id -u)" -eq 0 ] || skip_all "Postfix needs root to start"
    [ -x /usr/sbin/postfix ] || skip_all "postfix is not installed"
    [ -x /usr/sbin/dovecot ] || skip_all "dovecot-core is not installed"
    command -v certtool >/dev/null || skip_all "certtool (gnutls-bin) is not installed"
    id postfix >/dev/null 2>&1 && id dovecot >/dev/null 2>&1 && id dovenull >/dev/null 2>&1 ||
        skip_all "the postfix/dovecot system users are missing"
}

MTA_PIDFILES=()
stop_mta() {
    local f pid
    for f in "${MTA_PIDFILES[@]}"; do
        [ -s "$f" ] || continue
        pid=$(tr -dc 0-9 <"$f")
        [ -n "$pid" ] && kill "$pid" 2>/dev/null
    done
    # give the masters a moment to take their children down
    for f in "${MTA_PIDFILES[@]}"; do
        [ -s "$f" ] || continue
        pid=$(tr -dc 0-9 <"$f")
        for _ in $(seq 1 50); do
            [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
    done
}
at_exit stop_mta

start_mta() {
    local pki=$1 pf="$T/postfix" dc="$T/dovecot"
    SUBMISSION_PORT=$(free_port)
    SMTPS_PORT=$(free_port)
    MTA_USER=outpost
    MTA_PASSWORD=test-$$-$RANDOM
    # The delivery agents and daemons run as other users: let them in.
    chmod 755 "$T"
    mkdir -p "$pf/conf" "$pf/queue" "$pf/data" "$pf/mail" "$dc/run" "$dc/state"
    chown postfix "$pf/data"
    chown nobody:nogroup "$pf/mail"
    MAILBOX="$pf/mail/inbox"

    printf '%s:{PLAIN}%s\n' "$MTA_USER" "$MTA_PASSWORD" >"$dc/passwd"
    chmod 644 "$dc/passwd"
    cat >"$dc/dovecot.conf" <<CONF
base_dir = $dc/run
state_dir = $dc/state
log_path = $dc/log
instance_name = outpost-test-$$
protocols =
ssl = no
auth_mechanisms = ${MTA_AUTH_MECHANISMS:-plain login cram-md5 digest-md5 scram-sha-1 scram-sha-256}
disable_plaintext_auth = no
${MTA_DOVECOT_EXTRA:-}
passdb {
  driver = passwd-file
  args = $dc/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}
service auth {
  unix_listener $pf/queue/private/auth {
    mode = 0660
    user = postfix
    group = postfix
  }
}
CONF

    cat >"$pf/conf/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $pf/queue
data_directory = $pf/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mta.example.test
mydomain = example.test
myorigin = example.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtp_dns_support_level = disabled
maillog_file = $pf/maillog
maillog_file_prefixes = $pf
virtual_mailbox_domains = example.test
virtual_mailbox_base = $pf/mail
virtual_mailbox_maps = static:inbox/
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
virtual_minimum_uid = 100
smtpd_tls_chain_files = $pki/key.pem, $pki/server.pem
smtpd_tls_loglevel = 1
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
smtpd_sasl_auth_enable = yes
smtpd_tls_auth_only = yes
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
message_size_limit = 60000000
virtual_mailbox_limit = 0
alias_maps =
alias_database =
${MTA_MAIN_CF_EXTRA:-}
CONF
    cat >"$pf/conf/master.cf" <<CONF
127.0.0.1:$SUBMISSION_PORT inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject
127.0.0.1:$SMTPS_PORT inet n - n - - smtpd
  -o syslog_name=postfix/smtps
  -o smtpd_tls_wrappermode=yes
  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n -  0 cleanup
qmgr      unix  n - n 300 1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
local     unix  - n n - - local
virtual   unix  - n n - - virtual
lmtp      unix  - - n - - lmtp
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
CONF
    MTA_PIDFILES+=("$pf/queue/pid/master.pid" "$dc/run/master.pid")
    if ! /usr/sbin/postfix -c "$pf/conf" start >"$pf/start.log" 2>&1; then
        echo "Bail out! Postfix did not start"
        sed 's/^/# /' "$pf/start.log" "$pf/maillog" 2>/dev/null
        exit 1
    fi
    if ! /usr/sbin/dovecot -c "$dc/dovecot.conf" </dev/null >"$dc/start.log" 2>&1; then
        echo "Bail out! Dovecot did not start"
        sed 's/^/# /' "$dc/start.log"
        exit 1
    fi
    local i
    for i in $(seq 1 100); do
        listening "$SUBMISSION_PORT" "$SMTPS_PORT" && [ -S "$pf/queue/private/auth" ] && return 0
        sleep 0.1
    done
    echo "Bail out! Postfix or Dovecot is not listening"
    sed 's/^/# /' "$pf/maillog" "$dc/log" 2>/dev/null | tail -20
    exit 1
}

# The messages delivered so far, oldest first.
mailbox_files() { ls -tr "$MAILBOX"/new/* 2>/dev/null; }

wait_for_mail() {
    local n=$1 i
    for i in $(seq 1 200); do
        [ "$(mailbox_files | wc -l)" -ge "$n" ] && return 0
        sleep 0.1
    done
    echo "#   no message $n in $MAILBOX; Postfix's log:"
    tail -15 "$T/postfix/maillog" 2>/dev/null | sed 's/^/#   /'
    return 1
}
