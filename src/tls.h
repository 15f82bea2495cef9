/* TLS with GnuTLS over an open connection: the handshake, the check of the
 * server's identity (trust store, fingerprint pinning), and the facts that
 * --serverinfo and --debug show. */
#ifndef OUTPOST_TLS_H
#define OUTPOST_TLS_H

#include <stdbool.h>
#include <time.h>

#include "conn.h"
#include "error.h"

struct tls_params {
    const char *host;          /* the name to verify and to send as SNI
                                  (session.c: the endpoint's, unless
                                  tls_host_override names another) */
    bool certcheck;            /* tls_certcheck */
    const char *trust_file;    /* PEM file of CAs, "system", or NULL: none */
    const char *crl_file;      /* or NULL */
    const char *fingerprint;   /* "AB:CD:..." (MD5, SHA-1 or SHA-256) or NULL */
    const char *cert_file;     /* client certificate and key, or NULL */
    const char *key_file;
    const char *priorities;    /* GnuTLS priority string, or NULL */
    long min_dh_prime_bits;    /* 0: GnuTLS's default */
    const void *resume_data;   /* from tls_session_data() of an earlier */
    size_t resume_len;         /* connection, to resume; or NULL */
};

#define TLS_FPR_MAX 97 /* SHA-256 as 32 colon-separated hex pairs, and NUL */

struct tls_cert_info {
    char subject[512];
    char issuer[512];
    char names[512];           /* DNS names and addresses it is valid for */
    time_t not_before, not_after;
    char sha256[TLS_FPR_MAX];
    char sha1[TLS_FPR_MAX];
    char weakness[128];        /* what a verification profile would object to */
};

struct tls_info {
    char protocol[32];         /* "TLS1.3" */
    char cipher[64];           /* "AES-256-GCM" */
    char description[192];     /* GnuTLS's one-line summary of the session */
    struct tls_cert_info cert; /* the server's own certificate */
    unsigned chain_length;
};

/* Handshake on the connection's socket within its timeout, verify the
 * server as 'p' says, and switch the connection to TLS. On failure the
 * connection must be closed: ERR_TLS (handshake or verification, with a
 * message saying what to do), ERR_CONFIG (a file or priority string in the
 * configuration is unusable), ERR_TEMPORARY (timeout, connection lost). */
int tls_start(struct conn *c, const struct tls_params *p, struct error *err);

/* What resumes this connection's TLS session on a later connection (a
 * secret, malloc'd; wipe it before freeing), or NULL when the server gave
 * nothing to resume with. Ask at the end of the session: under TLS 1.3 the
 * server's ticket arrives after the handshake. */
void *tls_session_data(const struct conn *c, size_t *len);

/* Is the connection's transport TLS? */
bool tls_active(const struct conn *c);

/* Facts about the connection's TLS session; false when it has none. */
bool tls_get_info(const struct conn *c, struct tls_info *info);

/* Channel binding data for SCRAM-*-PLUS, base64: "tls-exporter" (RFC 9266)
 * under TLS 1.3, "tls-unique" (RFC 5929) under TLS 1.2. NULL when the
 * connection has no TLS or GnuTLS cannot give it; *exporter says which. */
char *tls_channel_binding(const struct conn *c, bool *exporter);

/* "2026-11-22 10:00:00 UTC" */
void tls_format_time(time_t t, char *buf, size_t cap);

#endif
