/* outpost --authorize: getting an OAuth 2.0 grant for an account. The
 * authorization code flow with PKCE (RFC 7636) and a loopback redirect
 * (RFC 8252: a listener on 127.0.0.1 on a random port; the browser opened
 * with xdg-open where there is a display), or the address the browser was
 * sent to pasted back on the terminal (an SSH session); or, with
 * --device, the device authorization grant (RFC 8628). The grant goes
 * where grant.c keeps it, and what was done is said on stdout. */
#ifndef OUTPOST_AUTHORIZE_H
#define OUTPOST_AUTHORIZE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "oauth.h"

enum authorize_mode { AUTHORIZE_BROWSER, AUTHORIZE_DEVICE };

int oauth_authorize(const struct oauth_client *c, enum authorize_mode mode, struct error *err);

/* What a redirect carried: from an HTTP request to the listener ("GET
 * /?code=...&state=... HTTP/1.1") or a pasted address
 * ("http://127.0.0.1:PORT/?code=..."). Untrusted (any local process can
 * talk to the listener): fuzzed. Values are percent-decoded and must be
 * visible text; NULL when absent. */
struct redirect {
    char *code;
    char *state;
    char *error;
    char *error_description;
};
/* 0 when it is a request for or an address of the redirect path with a
 * query; -1 when it is something else (a favicon, garbage). */
int redirect_parse(const char *text, size_t n, struct redirect *out);
void redirect_free(struct redirect *r);

#endif
