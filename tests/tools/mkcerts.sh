#!/bin/sh
# mkcerts.sh DIR: make the test PKI with GnuTLS's certtool, fresh for every
# run (no private key is checked in, nothing expires in the repository).
#   ca.pem            the test CA that clients are told to trust
#   server.pem        localhost, 127.0.0.1, ::1, signed by ca (valid now)
#   wronghost.pem     wrong.example and mail.wrong.example, signed by ca
#   expired.pem       localhost, valid 2020-01-01 .. 2021-01-01, signed by ca
#   future.pem        localhost, valid from 2099-01-01, signed by ca
#   expiring.pem      localhost, valid for 5 more days, signed by ca
#   untrusted.pem     localhost, signed by other-ca (not trusted)
#   revoked.pem       localhost, signed by ca, and listed in crl.pem
#   client-ca.pem, client.pem, client.key   a client certificate and its CA
#   first.pem, second.pem   first.example / second.example only (failover)
#   cnonly.pem        localhost in the common name only, no subjectAltName
#   clientonly.pem    localhost, but its extended key usage is clientAuth only
#   sha1.pem          localhost, signed with SHA-1
#   rsa1024.pem       localhost, a 1024-bit RSA key (rsa1024.key)
#   key.pem           the private key of every other server certificate
set -e
d=$1
mkdir -p "$d"
cd "$d"

key() { certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 --outfile "$1" 2>/dev/null; }
tmpl() { printf '%s\n' "$@" >tmpl.cfg; }

key ca.key
tmpl 'cn = "outpost test CA"' ca cert_signing_key 'activation_date = "2019-01-01 00:00:00"' \
    'expiration_days = 3650' 'serial = 1'
certtool --generate-self-signed --load-privkey ca.key --template tmpl.cfg --outfile ca.pem 2>/dev/null

key other-ca.key
tmpl 'cn = "some other CA"' ca cert_signing_key 'expiration_days = 3650' 'serial = 2'
certtool --generate-self-signed --load-privkey other-ca.key --template tmpl.cfg \
    --outfile other-ca.pem 2>/dev/null

key key.pem
server() { # server OUT ISSUER NAME... -- EXTRA TEMPLATE LINES...
    out=$1 issuer=$2
    shift 2
    lines='signing_key
encryption_key
tls_www_server'
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        case $1 in
        *[a-z]*) lines="$lines
dns_name = \"$1\"" ;;
        *) lines="$lines
ip_address = \"$1\"" ;;
        esac
        shift
    done
    [ "${1:-}" = -- ] && shift
    printf 'cn = "%s"\nserial = %s\n%s\n' "$out" "$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')" \
        "$lines" >tmpl.cfg
    for l in "$@"; do printf '%s\n' "$l" >>tmpl.cfg; done
    grep -q expiration tmpl.cfg || echo 'expiration_days = 365' >>tmpl.cfg
    certtool --generate-certificate --load-privkey "${KEY:-key.pem}" --load-ca-certificate "$issuer.pem" \
        --load-ca-privkey "$issuer.key" --template tmpl.cfg --outfile "$out.pem" ${HASH:+--hash=$HASH} 2>/dev/null
}
server server ca localhost 127.0.0.1 ::1
server wronghost ca wrong.example mail.wrong.example
server expired ca localhost 127.0.0.1 -- 'activation_date = "2020-01-01 00:00:00"' \
    'expiration_date = "2021-01-01 00:00:00"'
server future ca localhost 127.0.0.1 -- 'activation_date = "2099-01-01 00:00:00"' \
    'expiration_date = "2100-01-01 00:00:00"'
server expiring ca localhost 127.0.0.1 -- 'expiration_days = 5'
server untrusted other-ca localhost 127.0.0.1
server revoked ca localhost 127.0.0.1
server first ca first.example
server second ca second.example
# No dns_name at all: certtool puts the CN alone.
printf 'cn = "localhost"\nserial = 11\nsigning_key\nencryption_key\ntls_www_server\nexpiration_days = 365\n' >tmpl.cfg
certtool --generate-certificate --load-privkey key.pem --load-ca-certificate ca.pem \
    --load-ca-privkey ca.key --template tmpl.cfg --outfile cnonly.pem 2>/dev/null
printf 'cn = "clientonly"\nserial = 12\ndns_name = "localhost"\nsigning_key\ntls_www_client\nexpiration_days = 365\n' >tmpl.cfg
certtool --generate-certificate --load-privkey key.pem --load-ca-certificate ca.pem \
    --load-ca-privkey ca.key --template tmpl.cfg --outfile clientonly.pem 2>/dev/null
HASH=SHA1 server sha1 ca localhost 127.0.0.1
certtool --generate-privkey --key-type=rsa --bits=1024 --outfile rsa1024.key 2>/dev/null
KEY=rsa1024.key server rsa1024 ca localhost 127.0.0.1
tmpl 'crl_next_update = 365' 'crl_number = 1'
certtool --generate-crl --load-ca-privkey ca.key --load-ca-certificate ca.pem \
    --load-certificate revoked.pem --template tmpl.cfg --outfile crl.pem 2>/dev/null

key client-ca.key
tmpl 'cn = "outpost test client CA"' ca cert_signing_key 'expiration_days = 3650' 'serial = 3'
certtool --generate-self-signed --load-privkey client-ca.key --template tmpl.cfg \
    --outfile client-ca.pem 2>/dev/null
key client.key
tmpl 'cn = "outpost test client"' signing_key tls_www_client 'expiration_days = 365' 'serial = 4'
certtool --generate-certificate --load-privkey client.key --load-ca-certificate client-ca.pem \
    --load-ca-privkey client-ca.key --template tmpl.cfg --outfile client.pem 2>/dev/null
rm -f tmpl.cfg
