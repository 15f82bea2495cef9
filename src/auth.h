/* SMTP AUTH (RFC 4954): choosing a mechanism, and running it over an open
 * session. Mechanisms that only format the credentials (PLAIN, LOGIN,
 * EXTERNAL, XOAUTH2, OAUTHBEARER) are built in; the ones with real
 * cryptography (SCRAM and its -PLUS forms, CRAM-MD5, DIGEST-MD5, GSSAPI,
 * NTLM) come from libgsasl. */
#ifndef OUTPOST_AUTH_H
#define OUTPOST_AUTH_H

#include <stdbool.h>
#include <stdio.h>

#include "error.h"
#include "smtp.h"

/* Fetch the password (or, for XOAUTH2/OAUTHBEARER, the token) when the
 * chosen mechanism needs one. *out is the caller's to secure_free(). */
/* The password, and where it came from ("the keyring", ...: see secret.h). */
typedef int (*auth_secret_fn)(void *ctx, char **out, const char **source, struct error *err);

struct auth_params {
    const char *mechanism;   /* "on": the strongest both sides have; else one */
    const char *user;
    const char *host;        /* the server, for GSSAPI, DIGEST-MD5, OAUTHBEARER */
    long port;               /* (both NULL/0: the endpoint's, session.c) */
    const char *ntlmdomain;
    bool client_cert;        /* a TLS client certificate was given: EXTERNAL */
    bool without_tls;        /* auth_without_tls: AUTH may go over a connection
                                without TLS (else it never does) */
    auth_secret_fn secret;
    void *secret_ctx;
};

/* What auth_login ran, for --check: both static strings, or NULL. */
struct auth_used {
    const char *mechanism;
    const char *source;      /* where the password came from (secret.h) */
};

/* Authenticate on 's' (after the last EHLO); 'used' (or NULL) is told the
 * mechanism as soon as it is chosen. Failures: ERR_AUTH (the
 * server said no; a hint is in the message), ERR_TEMPORARY (4xx),
 * ERR_CONFIG (nothing usable: no common mechanism, no TLS and no
 * auth_without_tls, mechanism not compiled in), ERR_PROTOCOL (a challenge that makes no
 * sense). */
int auth_login(struct smtp *s, const struct auth_params *p, struct auth_used *used,
               struct error *err);

/* Is 'name' (upper case) a mechanism outpost knows? */
bool auth_is_mechanism(const char *name);
/* Does the mechanism need a password or token? */
bool auth_needs_secret(const char *name);
/* The mechanisms this build can run, space-separated, for --version. */
void auth_print_mechanisms(FILE *out);
/* GNU SASL's version; NULL when this build has none or it cannot be
 * loaded ('why' says which). */
const char *auth_library_version(char *why, size_t cap);

#endif
