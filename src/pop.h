/* POP-before-SMTP (Outlook's "Log on to incoming mail server before
 * sending mail"): log in to the POP3 server and quit, so that the SMTP
 * server, which trusts recent POP logins from the same address, relays. */
#ifndef OUTPOST_POP_H
#define OUTPOST_POP_H

#include "auth.h"
#include "error.h"
#include "tls.h"

struct pop_params {
    const char *spec;               /* "HOST[:PORT]"; port 995 (TLS) unless given */
    const char *user;
    auth_secret_fn secret;
    void *secret_ctx;
    const struct tls_params *tls;   /* verification as for SMTP; host replaced */
    int timeout_ms;
    const char *source_ip;
};

/* Implicit TLS on 995; on any other port STLS (RFC 2595), required: the
 * password never crosses the wire in plaintext. Failures: ERR_AUTH (-ERR
 * to USER/PASS, with the server's words), ERR_TLS, ERR_TEMPORARY, ERR_CONFIG. */
int pop_before_smtp(const struct pop_params *p, struct error *err);

#endif
