/* What an OAuth 2.0 provider answers, read with jansson (loaded with
 * dlopen when the first answer is read): the token endpoint's reply (RFC
 * 6749 5.1 and 5.2) and the device authorization endpoint's (RFC 8628
 * 3.2). It is untrusted input, so every field is checked here: tokens are
 * 1 to TOKEN_MAX visible ASCII characters (RFC 6749's VSCHAR), numbers are
 * in range, and nothing else of the reply is kept. The strings are
 * allocated; token_reply_free wipes them. */
#ifndef OUTPOST_TOKENREPLY_H
#define OUTPOST_TOKENREPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* Longer than any provider issues (Microsoft's are ~2-3 KB), short enough
 * that a hostile reply cannot make outpost store megabytes. */
#define TOKEN_MAX 65536

struct token_reply {
    /* success (5.1) */
    char *access_token;
    char *refresh_token;     /* or NULL: the old one stays good */
    char *scope;             /* or NULL: as asked */
    long expires_in;         /* seconds, or -1 when not said */
    /* failure (5.2): the error code and the provider's words */
    char *error;
    char *error_description;
    /* the device authorization endpoint (RFC 8628 3.2) */
    char *device_code;
    char *user_code;
    char *verification_uri;  /* Google says verification_url */
    char *verification_uri_complete;
    char *message;           /* Microsoft's instruction for people */
    long interval;           /* seconds, or -1 */
};

enum token_reply_kind { REPLY_TOKEN, REPLY_DEVICE };

/* Read 'n' bytes of a reply. Returns 0 with *out filled: a success (the
 * fields its kind needs are there) or an OAuth error (out->error set);
 * -1 when the reply is neither (not JSON, not an object, a field of the
 * wrong type or out of range), with ERR_PROTOCOL and R_OAUTH_BAD_REPLY.
 * ERR_CONFIG with R_OAUTH_UNAVAILABLE when jansson cannot be loaded. */
int token_reply_parse(const char *body, size_t n, enum token_reply_kind kind,
                      struct token_reply *out, struct error *err);
void token_reply_free(struct token_reply *r);

/* "libjansson.so.4", and whether it can be loaded here (--version). */
const char *token_reply_library(void);
bool token_reply_available(void);

#endif
