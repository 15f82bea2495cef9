#include "config.h"

#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "log.h"
#include "tlslib.h"
#include "util.h"

struct tls_state {
    gnutls_session_t session;
    gnutls_certificate_credentials_t cred;
    int last_error; /* the GnuTLS error behind the last EPROTO */
};

/* ---- the TLS transport ------------------------------------------------ */

static ssize_t tls_io_result(struct conn *c, ssize_t r, short *want)
{
    struct tls_state *t = c->tp_state;
    if (r >= 0)
        return r;
    if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
        *want = gnutls()->record_get_direction(t->session) ? POLLOUT : POLLIN;
        errno = EAGAIN;
        return -1;
    }
    /* A server that closes without close_notify: SMTP replies say
     * themselves where they end, so this is just the end of the stream. */
    if (r == GNUTLS_E_PREMATURE_TERMINATION)
        return 0;
    t->last_error = (int)r;
    errno = EPROTO;
    return -1;
}

static ssize_t tls_read(struct conn *c, void *buf, size_t n, short *want)
{
    struct tls_state *t = c->tp_state;
    return tls_io_result(c, gnutls()->record_recv(t->session, buf, n), want);
}

static ssize_t tls_write(struct conn *c, const void *buf, size_t n, short *want)
{
    struct tls_state *t = c->tp_state;
    return tls_io_result(c, gnutls()->record_send(t->session, buf, n), want);
}

static size_t tls_pending(const struct conn *c)
{
    const struct tls_state *t = c->tp_state;
    return gnutls()->record_check_pending(t->session);
}

static const char *tls_error_text(const struct conn *c)
{
    const struct tls_state *t = c->tp_state;
    return t->last_error ? gnutls()->strerror(t->last_error) : NULL;
}

static void free_state(struct tls_state *t)
{
    if (!t)
        return;
    if (t->session)
        gnutls()->deinit(t->session);
    if (t->cred)
        gnutls()->certificate_free_credentials(t->cred);
    free(t);
}

static void tls_close(struct conn *c)
{
    struct tls_state *t = c->tp_state;
    /* One non-blocking attempt at close_notify; the socket closes anyway. */
    gnutls()->bye(t->session, GNUTLS_SHUT_WR);
    free_state(t);
}

static const struct transport tls_transport = {
    .name = "tls",
    .read = tls_read,
    .write = tls_write,
    .pending = tls_pending,
    .error_text = tls_error_text,
    .close = tls_close,
};

/* ---- certificate facts -------------------------------------------------- */

void tls_format_time(time_t t, char *buf, size_t cap)
{
    struct tm tm;
    if (t == (time_t)-1 || !gmtime_r(&t, &tm) || !strftime(buf, cap, "%Y-%m-%d %H:%M:%S UTC", &tm))
        snprintf(buf, cap, "(unknown)");
}

static void fingerprint(gnutls_x509_crt_t crt, gnutls_digest_algorithm_t alg, char *out,
                        size_t cap)
{
    unsigned char digest[64];
    size_t len = sizeof digest;
    out[0] = '\0';
    if (gnutls()->x509_crt_get_fingerprint(crt, alg, digest, &len) < 0)
        return;
    size_t pos = 0;
    for (size_t i = 0; i < len && pos + 3 < cap; i++)
        pos += (size_t)snprintf(out + pos, cap - pos, "%s%02X", i ? ":" : "", digest[i]);
}

static void dn_text(int (*get)(gnutls_x509_crt_t, gnutls_datum_t *, unsigned),
                    gnutls_x509_crt_t crt, char *out, size_t cap)
{
    gnutls_datum_t d = {NULL, 0};
    if (get(crt, &d, 0) < 0) {
        snprintf(out, cap, "(unknown)");
        return;
    }
    sanitize_text(out, cap, (const char *)d.data, d.size);
    tlslib_free(d.data);
}

/* Append to a string, keeping what fits. */
static void appendf(char *out, size_t cap, const char *fmt, ...) PRINTF_LIKE(3, 4);
static void appendf(char *out, size_t cap, const char *fmt, ...)
{
    size_t n = strlen(out);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out + n, cap - n, fmt, ap);
    va_end(ap);
}

static void append_name(char *out, size_t cap, const char *name)
{
    appendf(out, cap, "%s%s", *out ? ", " : "", name);
}

/* The names a certificate is valid for: its subjectAltName DNS names and
 * IP addresses, or its common name when it has none. */
static void cert_names(gnutls_x509_crt_t crt, char *out, size_t cap)
{
    out[0] = '\0';
    for (unsigned i = 0;; i++) {
        char buf[256];
        size_t len = sizeof buf - 1;
        int type = gnutls()->x509_crt_get_subject_alt_name(crt, i, buf, &len, NULL);
        if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
            break;
        if (type == GNUTLS_SAN_DNSNAME) {
            char clean[256];
            sanitize_text(clean, sizeof clean, buf, len);
            append_name(out, cap, clean);
        } else if (type == GNUTLS_SAN_IPADDRESS && (len == 4 || len == 16)) {
            char addr[INET6_ADDRSTRLEN];
            if (inet_ntop(len == 4 ? AF_INET : AF_INET6, buf, addr, sizeof addr))
                append_name(out, cap, addr);
        }
    }
    if (!out[0]) {
        char cn[256];
        size_t len = sizeof cn - 1;
        if (gnutls()->x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &len) >=
            0) {
            char clean[256];
            sanitize_text(clean, sizeof clean, cn, len);
            append_name(out, cap, clean);
        }
    }
    if (!out[0])
        snprintf(out, cap, "(no names)");
}

/* What makes a certificate weak, in words: its signature's digest or the
 * size of its RSA key (else, a certificate of its chain). */
static void weakness(gnutls_x509_crt_t crt, char *out, size_t cap)
{
    unsigned bits = 0;
    int pk = gnutls()->x509_crt_get_pk_algorithm(crt, &bits);
    int sign = gnutls()->x509_crt_get_signature_algorithm(crt);
    gnutls_digest_algorithm_t dig =
        gnutls()->sign_get_hash_algorithm((gnutls_sign_algorithm_t)sign);
    if (dig == GNUTLS_DIG_SHA1 || dig == GNUTLS_DIG_MD5)
        snprintf(out, cap, "it is signed with %s", gnutls()->digest_get_name(dig));
    else if (pk == GNUTLS_PK_RSA && bits < 2048)
        snprintf(out, cap, "its RSA key has only %u bits", bits);
    else
        snprintf(out, cap, "a certificate of its chain is signed with an algorithm, or has a "
                           "key,");
}

static void describe_cert(gnutls_x509_crt_t crt, struct tls_cert_info *ci)
{
    weakness(crt, ci->weakness, sizeof ci->weakness);
    dn_text(gnutls()->x509_crt_get_dn3, crt, ci->subject, sizeof ci->subject);
    dn_text(gnutls()->x509_crt_get_issuer_dn3, crt, ci->issuer, sizeof ci->issuer);
    cert_names(crt, ci->names, sizeof ci->names);
    ci->not_before = gnutls()->x509_crt_get_activation_time(crt);
    ci->not_after = gnutls()->x509_crt_get_expiration_time(crt);
    fingerprint(crt, GNUTLS_DIG_SHA256, ci->sha256, sizeof ci->sha256);
    fingerprint(crt, GNUTLS_DIG_SHA1, ci->sha1, sizeof ci->sha1);
}

/* Certificate 'i' of the chain the server sent (0: its own). */
static int peer_cert(gnutls_session_t s, unsigned i, gnutls_x509_crt_t *crt)
{
    unsigned n = 0;
    const gnutls_datum_t *chain = gnutls()->certificate_get_peers(s, &n);
    if (!chain || i >= n || gnutls()->x509_crt_init(crt) < 0)
        return -1;
    if (gnutls()->x509_crt_import(*crt, &chain[i], GNUTLS_X509_FMT_DER) < 0) {
        gnutls()->x509_crt_deinit(*crt);
        return -1;
    }
    return 0;
}

static void debug_chain(gnutls_session_t s)
{
    unsigned n = 0;
    gnutls()->certificate_get_peers(s, &n);
    char *desc = gnutls()->session_get_desc(s);
    debug_note("TLS session: %s", desc ? desc : "(unknown)");
    tlslib_free(desc);
    for (unsigned i = 0; i < n; i++) {
        gnutls_x509_crt_t crt;
        if (peer_cert(s, i, &crt) < 0)
            continue;
        struct tls_cert_info ci;
        describe_cert(crt, &ci);
        gnutls()->x509_crt_deinit(crt);
        char from[40], until[40];
        tls_format_time(ci.not_before, from, sizeof from);
        tls_format_time(ci.not_after, until, sizeof until);
        debug_note("TLS certificate %u of %u: subject %s; issuer %s; valid %s to %s; "
                   "SHA-256 %s", i + 1, n, ci.subject, ci.issuer, from, until, ci.sha256);
    }
}

/* ---- verification --------------------------------------------------------- */

/* Pinning: the server's certificate must have exactly this fingerprint.
 * Its length says the digest (msmtp accepts all three). */
static int check_fingerprint(gnutls_x509_crt_t crt, const char *want, const char *sha256,
                             struct error *err)
{
    size_t bytes = (strlen(want) + 1) / 3;
    gnutls_digest_algorithm_t alg = bytes == 32   ? GNUTLS_DIG_SHA256
                                    : bytes == 20 ? GNUTLS_DIG_SHA1
                                                  : GNUTLS_DIG_MD5;
    char have[TLS_FPR_MAX];
    fingerprint(crt, alg, have, sizeof have);
    if (strcasecmp(have, want) == 0)
        return 0;
    err_raise(err, ERR_TLS, R_TLS_PIN_MISMATCH,
              "the server's certificate is not the pinned one (it is someone else, or the "
              "certificate was replaced); its SHA-256 fingerprint is %s", sha256);
    snprintf(err->value, sizeof err->value, "%s", sha256);
    return -1;
}

/* What each GnuTLS verification flag means, most telling first: the
 * reason of the error is the first that applies. */
enum { NEED_NONE, NEED_NOT_AFTER, NEED_NOT_BEFORE, NEED_ISSUER, NEED_NAMES, NEED_WEAKNESS };
static const struct {
    unsigned flag;
    enum err_reason reason;
    const char *text; /* with at most one %s, filled as 'needs' says */
    int needs;
} status_words[] = {
    {GNUTLS_CERT_SIGNER_NOT_FOUND, R_TLS_UNKNOWN_CA, "it is issued by an unknown authority (%s)",
     NEED_ISSUER},
    {GNUTLS_CERT_UNEXPECTED_OWNER, R_TLS_WRONG_NAME, "it is for %s", NEED_NAMES},
    {GNUTLS_CERT_EXPIRED, R_TLS_EXPIRED, "it expired on %s", NEED_NOT_AFTER},
    {GNUTLS_CERT_NOT_ACTIVATED, R_TLS_NOT_YET_VALID, "it is not valid before %s", NEED_NOT_BEFORE},
    {GNUTLS_CERT_REVOKED, R_TLS_REVOKED, "it has been revoked", NEED_NONE},
    {GNUTLS_CERT_INSECURE_ALGORITHM, R_TLS_WEAK,
     "%s, weaker than the verification profile allows (RSA keys of 2048 bits or more, no "
     "SHA-1)", NEED_WEAKNESS},
    {GNUTLS_CERT_PURPOSE_MISMATCH, R_TLS_PURPOSE,
     "its extended key usage does not allow a TLS server (serverAuth)", NEED_NONE},
    {GNUTLS_CERT_SIGNER_NOT_CA, R_TLS_UNTRUSTED, "its issuer (%s) is not a certificate authority",
     NEED_ISSUER},
    {GNUTLS_CERT_SIGNATURE_FAILURE, R_TLS_UNTRUSTED, "its signature is not valid", NEED_NONE},
};

/* The verification status in words, and its reason. */
static enum err_reason explain_status(unsigned status, const struct tls_cert_info *ci,
                                      const char *host, char *out, size_t cap)
{
    enum err_reason reason = R_NONE;
    out[0] = '\0';
    for (size_t i = 0; i < ARRAY_LEN(status_words); i++) {
        if (!(status & status_words[i].flag))
            continue;
        if (reason == R_NONE)
            reason = status_words[i].reason;
        char fill[600] = "", when[40];
        switch (status_words[i].needs) {
        case NEED_NOT_AFTER:
            tls_format_time(ci->not_after, when, sizeof when);
            snprintf(fill, sizeof fill, "%s", when);
            break;
        case NEED_NOT_BEFORE:
            tls_format_time(ci->not_before, when, sizeof when);
            snprintf(fill, sizeof fill, "%s", when);
            break;
        case NEED_ISSUER:
            snprintf(fill, sizeof fill, "%s", ci->issuer);
            break;
        case NEED_NAMES:
            snprintf(fill, sizeof fill, "%s, not for %s", ci->names, host);
            break;
        case NEED_WEAKNESS:
            snprintf(fill, sizeof fill, "%s", ci->weakness);
            break;
        default:
            break;
        }
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        /* The formats are the table's own, above. */
        appendf(out, cap, status_words[i].text, fill);
#pragma GCC diagnostic pop
        appendf(out, cap, "; ");
    }
    if (!out[0]) {
        gnutls_datum_t d = {NULL, 0};
        if (gnutls()->certificate_verification_status_print(status, GNUTLS_CRT_X509, &d, 0) >= 0) {
            sanitize_text(out, cap, (const char *)d.data, d.size);
            tlslib_free(d.data);
            appendf(out, cap, "; ");
        }
    }
    size_t n = strlen(out);
    if (n >= 2)
        out[n - 2] = '\0'; /* the last "; " */
    return reason == R_NONE ? R_TLS_UNTRUSTED : reason;
}

static bool is_ip_literal(const char *host);

/* RFC 9525: the server's name must be in subjectAltName (a DNS name, or
 * an address for an address); a certificate that names it only in its
 * common name is refused, as browsers have refused them for years. With a
 * subjectAltName of the right kind, GnuTLS never looks at the CN. */
static bool has_alt_name_for(gnutls_x509_crt_t crt, const char *host)
{
    int want = is_ip_literal(host) ? GNUTLS_SAN_IPADDRESS : GNUTLS_SAN_DNSNAME;
    for (unsigned i = 0;; i++) {
        char buf[256];
        size_t len = sizeof buf;
        int type = gnutls()->x509_crt_get_subject_alt_name(crt, i, buf, &len, NULL);
        if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
            return false;
        if (type == want)
            return true;
    }
}

/* Was the certificate of this session issued for p->host by a CA the
 * account trusts, for a TLS server, now, strongly enough? */
static int verify_peer(gnutls_session_t s, gnutls_x509_crt_t crt, const struct tls_params *p,
                       const struct tls_cert_info *ci, struct error *err)
{
    unsigned status = 0;
    /* The name, and the purpose: a certificate with an extended key usage
     * must allow serverAuth (one without any may be used). */
    gnutls_typed_vdata_st want[] = {
        {GNUTLS_DT_DNS_HOSTNAME, (unsigned char *)p->host, 0},
        {GNUTLS_DT_KEY_PURPOSE_OID, (unsigned char *)GNUTLS_KP_TLS_WWW_SERVER, 0},
    };
    int rc = gnutls()->certificate_verify_peers(s, want, ARRAY_LEN(want), &status);
    if (rc < 0)
        return err_raise(err, ERR_TLS, R_TLS_UNTRUSTED,
                         "cannot verify the server's certificate: %s", gnutls()->strerror(rc));
    if (status != 0) {
        char why[ERR_TEXT_MAX / 2];
        enum err_reason reason = explain_status(status, ci, p->host, why, sizeof why);
        return err_raise(err, ERR_TLS, reason, "the server's certificate is not trusted: %s",
                         why);
    }
    if (!has_alt_name_for(crt, p->host))
        return err_raise(err, ERR_TLS, R_TLS_CN_ONLY,
                         "the server's certificate is not trusted: it names %s only in its "
                         "common name, not in a subjectAltName (RFC 9525)", p->host);
    return 0;
}

static int verify_server(gnutls_session_t s, const struct tls_params *p, struct error *err)
{
    gnutls_x509_crt_t crt;
    if (peer_cert(s, 0, &crt) < 0)
        return err_raise(err, ERR_TLS, R_TLS_NO_CERT, "the server sent no usable certificate");
    struct tls_cert_info ci;
    describe_cert(crt, &ci);
    int r = 0;
    if (p->fingerprint)
        r = check_fingerprint(crt, p->fingerprint, ci.sha256, err);
    else if (p->certcheck)
        r = verify_peer(s, crt, p, &ci, err);
    /* What pinning it would take, for the advice. */
    if (r < 0)
        snprintf(err->value, sizeof err->value, "%s", ci.sha256);
    gnutls()->x509_crt_deinit(crt);
    return r;
}

/* ---- setting up -------------------------------------------------------- */

static int gnutls_failed(struct error *err, enum err_class cls, int rc, const char *what)
{
    return err_set(err, cls, "%s: %s", what, gnutls()->strerror(rc));
}

/* A configuration file that cannot be used: its path for the advice. */
static int file_failed(struct error *err, enum err_reason reason, const char *path,
                       const char *what, const char *why)
{
    err_raise(err, ERR_CONFIG, reason, "cannot use %s %s: %s", what, path, why);
    snprintf(err->value, sizeof err->value, "%s", path);
    return -1;
}

/* Only what verification needs is loaded: the system store costs time at
 * every start, so it is read only when nothing more specific is given. */
static int load_credentials(struct tls_state *t, const struct tls_params *p, struct error *err)
{
    int rc = gnutls()->certificate_allocate_credentials(&t->cred);
    if (rc < 0)
        return gnutls_failed(err, ERR_SOFTWARE, rc, "GnuTLS");
    bool need_trust = p->certcheck && !p->fingerprint;
    if (need_trust && !p->trust_file)
        return err_raise(err, ERR_CONFIG, R_TLS_NO_TRUST,
                         "nothing to verify the server against: no trusted CAs, and no pinned "
                         "certificate");
    if (need_trust && strcmp(p->trust_file, "system") == 0) {
        rc = gnutls()->certificate_set_x509_system_trust(t->cred);
        if (rc <= 0)
            return err_raise(err, ERR_CONFIG, R_TLS_SYSTEM_TRUST,
                             "the system has no trusted CA certificates%s%s", rc < 0 ? ": " : "",
                             rc < 0 ? gnutls()->strerror(rc) : "");
        debug_note("TLS trust: the system store (%d certificates)", rc);
    } else if (need_trust) {
        rc = gnutls()->certificate_set_x509_trust_file(t->cred, p->trust_file, GNUTLS_X509_FMT_PEM);
        if (rc <= 0)
            return file_failed(err, R_TLS_TRUST_FILE, p->trust_file,
                               "the trusted CA certificates in",
                               rc < 0 ? gnutls()->strerror(rc) : "no certificates in it");
        debug_note("TLS trust: %s (%d certificates)", p->trust_file, rc);
    } else {
        debug_note("TLS trust: %s", p->fingerprint ? "the pinned certificate only"
                                                   : "none (the certificate is not checked)");
    }
    if (need_trust && p->crl_file) {
        rc = gnutls()->certificate_set_x509_crl_file(t->cred, p->crl_file, GNUTLS_X509_FMT_PEM);
        if (rc < 0)
            return file_failed(err, R_TLS_CRL_FILE, p->crl_file, "the revocation list",
                               gnutls()->strerror(rc));
    }
    if (p->cert_file && p->key_file) {
        rc = gnutls()->certificate_set_x509_key_file(t->cred, p->cert_file, p->key_file,
                                                     GNUTLS_X509_FMT_PEM);
        if (rc < 0)
            return file_failed(err, R_TLS_CLIENT_CERT, p->cert_file,
                               "the client certificate (or its key)", gnutls()->strerror(rc));
    }
    return 0;
}

static bool is_ip_literal(const char *host)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* What outpost adds to GnuTLS's default priorities, unless tls_priorities
 * says otherwise: no TLS 1.0 or 1.1 (RFC 8996), and the MEDIUM
 * verification profile (RSA and Diffie-Hellman of 2048 bits or more, no
 * SHA-1 signatures). */
#define DEFAULT_PRIORITY_CHANGES "-VERS-TLS1.1:-VERS-TLS1.0:%PROFILE_MEDIUM"

static int new_session(struct tls_state *t, int fd, const struct tls_params *p,
                       struct error *err)
{
    int rc = gnutls()->init(&t->session, GNUTLS_CLIENT | GNUTLS_NONBLOCK);
    if (rc < 0)
        return gnutls_failed(err, ERR_SOFTWARE, rc, "GnuTLS");
    const char *where = NULL;
    if (p->priorities) {
        rc = gnutls()->priority_set_direct(t->session, p->priorities, &where);
        if (rc < 0) {
            err_raise(err, ERR_CONFIG, R_TLS_PRIORITIES,
                      "the GnuTLS priority string '%s' is not valid: %s%s%s", p->priorities,
                      gnutls()->strerror(rc), where ? " at " : "", where ? where : "");
            snprintf(err->value, sizeof err->value, "%s", p->priorities);
            return -1;
        }
    } else if ((rc = gnutls()->set_default_priority_append(t->session, DEFAULT_PRIORITY_CHANGES,
                                                           &where, 0)) < 0) {
        return gnutls_failed(err, ERR_SOFTWARE, rc, "GnuTLS");
    }
    rc = gnutls()->credentials_set(t->session, GNUTLS_CRD_CERTIFICATE, t->cred);
    if (rc < 0)
        return gnutls_failed(err, ERR_SOFTWARE, rc, "GnuTLS");
    /* RFC 6066: server names only, never address literals. */
    if (!is_ip_literal(p->host)) {
        rc = gnutls()->server_name_set(t->session, GNUTLS_NAME_DNS, p->host, strlen(p->host));
        if (rc < 0)
            return gnutls_failed(err, ERR_SOFTWARE, rc, "GnuTLS (server name)");
    }
    if (p->min_dh_prime_bits > 0)
        gnutls()->dh_set_prime_bits(t->session, (unsigned)p->min_dh_prime_bits);
    gnutls()->transport_set_int2(t->session, fd, fd);
    /* Resuming skips the key exchange and the certificate: the server
     * proves it holds the secret of a session verified before, and
     * verify_server() checks that session's certificate again. */
    if (p->resume_data && p->resume_len <= UINT_MAX) {
        gnutls_datum_t d = {(unsigned char *)p->resume_data, (unsigned)p->resume_len};
        if (gnutls()->session_set_data(t->session, d.data, d.size) < 0)
            debug_note("TLS: the stored session could not be used");
    }
    return 0;
}

/* 'priorities': tls_priorities was set (so its versions are the user's). */
static int handshake(struct conn *c, gnutls_session_t s, bool priorities, struct error *err)
{
    conn_arm_deadline(c);
    for (;;) {
        int rc = gnutls()->handshake(s);
        if (rc == GNUTLS_E_SUCCESS)
            return 0;
        if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
            short want = gnutls()->record_get_direction(s) ? POLLOUT : POLLIN;
            if (conn_wait(c, want, err) < 0) {
                err_prefix(err, "TLS handshake: ");
                return -1;
            }
            continue;
        }
        if (!gnutls()->error_is_fatal(rc))
            continue;
        if (rc == GNUTLS_E_PREMATURE_TERMINATION || rc == GNUTLS_E_PUSH_ERROR ||
            rc == GNUTLS_E_PULL_ERROR)
            return err_raise(err, ERR_TEMPORARY, R_CONNECTION_CLOSED,
                             "TLS handshake: the connection was closed (%s)",
                             gnutls()->strerror(rc));
        const char *alert = NULL;
        bool version = rc == GNUTLS_E_UNSUPPORTED_VERSION_PACKET;
        if (rc == GNUTLS_E_FATAL_ALERT_RECEIVED || rc == GNUTLS_E_WARNING_ALERT_RECEIVED) {
            alert = gnutls()->alert_get_name(gnutls()->alert_get(s));
            version |= gnutls()->alert_get(s) == GNUTLS_A_PROTOCOL_VERSION;
        }
        if (version && !priorities)
            return err_raise(err, ERR_TLS, R_TLS_VERSION,
                             "TLS handshake failed: the server offers no TLS version outpost "
                             "accepts (1.2 or newer; RFC 8996 retired 1.0 and 1.1)");
        return err_raise(err, ERR_TLS, R_TLS_HANDSHAKE, "TLS handshake failed: %s%s%s",
                         gnutls()->strerror(rc), alert ? ": " : "", alert ? alert : "");
    }
}

int tls_start(struct conn *c, const struct tls_params *p, struct error *err)
{
    struct tls_state *t = xcalloc(1, sizeof *t);
    debug_note("TLS handshake: server name %s%s, priorities %s%s", p->host,
               is_ip_literal(p->host) ? " (an address: no SNI)" : " (sent as SNI)",
               p->priorities ? p->priorities : "(GnuTLS defaults " DEFAULT_PRIORITY_CHANGES ")",
               p->cert_file ? ", with a client certificate" : "");
    if (load_credentials(t, p, err) < 0 || new_session(t, c->fd, p, err) < 0 ||
        handshake(c, t->session, p->priorities != NULL, err) < 0) {
        free_state(t);
        return -1;
    }
    if (p->resume_data)
        debug_note(gnutls()->session_is_resumed(t->session)
                       ? "TLS session resumed (abbreviated handshake)"
                       : "TLS: the server did not resume the stored session: full handshake");
    if (debug_enabled)
        debug_chain(t->session);
    if (verify_server(t->session, p, err) < 0) {
        free_state(t);
        return -1;
    }
    conn_set_transport(c, &tls_transport, t);
    return 0;
}

void *tls_session_data(const struct conn *c, size_t *len)
{
    *len = 0;
    if (c->tp != &tls_transport)
        return NULL;
    const struct tls_state *t = c->tp_state;
    /* Under TLS 1.3 without a ticket, GnuTLS would wait for one: don't. */
    if (gnutls()->protocol_get_version(t->session) == GNUTLS_TLS1_3 &&
        !(gnutls()->session_get_flags(t->session) & GNUTLS_SFLAGS_SESSION_TICKET))
        return NULL;
    gnutls_datum_t d = {NULL, 0};
    if (gnutls()->session_get_data2(t->session, &d) < 0 || d.size == 0) {
        tlslib_free(d.data);
        return NULL;
    }
    void *copy = xmalloc(d.size);
    memcpy(copy, d.data, d.size);
    *len = d.size;
    secure_wipe(d.data, d.size);
    tlslib_free(d.data);
    return copy;
}

char *tls_channel_binding(const struct conn *c, bool *exporter)
{
    if (c->tp != &tls_transport)
        return NULL;
    const struct tls_state *t = c->tp_state;
    *exporter = gnutls()->protocol_get_version(t->session) == GNUTLS_TLS1_3;
    gnutls_datum_t cb = {NULL, 0};
    if (gnutls()->session_channel_binding(
            t->session, *exporter ? GNUTLS_CB_TLS_EXPORTER : GNUTLS_CB_TLS_UNIQUE, &cb) < 0)
        return NULL;
    char *b64 = base64_encode(cb.data, cb.size);
    tlslib_free(cb.data);
    return b64;
}

bool tls_active(const struct conn *c)
{
    return c->tp == &tls_transport;
}

bool tls_get_info(const struct conn *c, struct tls_info *info)
{
    if (c->tp != &tls_transport)
        return false;
    const struct tls_state *t = c->tp_state;
    memset(info, 0, sizeof *info);
    const char *proto = gnutls()->protocol_get_name(gnutls()->protocol_get_version(t->session));
    const char *cipher = gnutls()->cipher_get_name(gnutls()->cipher_get(t->session));
    snprintf(info->protocol, sizeof info->protocol, "%s", proto ? proto : "(unknown)");
    snprintf(info->cipher, sizeof info->cipher, "%s", cipher ? cipher : "(unknown)");
    char *desc = gnutls()->session_get_desc(t->session);
    snprintf(info->description, sizeof info->description, "%s", desc ? desc : "");
    tlslib_free(desc);
    gnutls()->certificate_get_peers(t->session, &info->chain_length);
    gnutls_x509_crt_t crt;
    if (peer_cert(t->session, 0, &crt) == 0) {
        describe_cert(crt, &info->cert);
        gnutls()->x509_crt_deinit(crt);
    }
    return true;
}
