/* HTTPS for OAuth 2.0: one request at a time through libcurl's GnuTLS
 * build, loaded with dlopen the first time a request is made (a run that
 * needs no token never loads it). Only https:// URLs, no redirects
 * followed, the server verified as for SMTP: the system's trust store, or
 * the account's tls_trust_file; TLS 1.2 at least. Bodies may hold secrets:
 * the request's form is the caller's to wipe, the response's is wiped by
 * http_response_free. Nothing of either goes to the debug output. */
#ifndef OUTPOST_HTTP_H
#define OUTPOST_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "util.h"

/* The largest response body read (a token reply is a few KB). */
#define HTTP_BODY_MAX (1024 * 1024)

struct http_request {
    const char *url;        /* https:// */
    const char *form;       /* an application/x-www-form-urlencoded body:
                               POST; NULL: GET */
    const char *trust_file; /* CA file, or NULL / "system": the system's */
    const char *proxy;      /* "socks5h://host:port", or NULL */
    long timeout_s;         /* for the whole request; 0: 60 */
};

struct http_response {
    long status;            /* HTTP status code */
    struct strbuf body;     /* NUL-terminated when not empty */
};

/* 0 once a response came (of any status: the caller judges it), -1 when
 * none did: ERR_TEMPORARY (R_HTTP_FAILED: the network, a timeout), ERR_TLS
 * (R_HTTPS_UNTRUSTED: the server was not verified), ERR_CONFIG (libcurl
 * missing, a URL that is not https), ERR_PROTOCOL (a body over
 * HTTP_BODY_MAX). */
int http_request(const struct http_request *rq, struct http_response *rs, struct error *err);
void http_response_free(struct http_response *rs);

/* The library as --version names it ("libcurl-gnutls.so.4"), and whether
 * it can be loaded here. */
const char *http_library(void);
bool http_available(void);

/* 'text' percent-encoded for a form or a query (RFC 3986 unreserved kept),
 * appended to 'sb'. */
void http_form_append(struct strbuf *sb, const char *name, const char *value);

#endif
