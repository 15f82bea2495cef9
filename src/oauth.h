/* OAuth 2.0 for SMTP AUTH (XOAUTH2, OAUTHBEARER): an account's client (the
 * provider's endpoints, from a preset or the configuration, and its client
 * id), the access token handed to auth.c as a password source hands a
 * password (refreshed under a lock when it ends within 5 minutes, a
 * rotated refresh token kept), and the classes of what can go wrong. The
 * grant itself is grant.c's; getting one (--authorize) is authorize.c's. */
#ifndef OUTPOST_OAUTH_H
#define OUTPOST_OAUTH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "account.h"
#include "error.h"
#include "grant.h"

/* A token ending within this many seconds is refreshed before AUTH. */
#define OAUTH_REFRESH_MARGIN 300

struct oauth_client {
    const char *account;    /* for messages */
    const char *provider;   /* "microsoft", "google", "custom" */
    char *auth_url;         /* authorization endpoint, or NULL */
    char *token_url;
    char *device_url;       /* device authorization endpoint, or NULL */
    char *scope;            /* space-separated, or NULL */
    const char *auth_params; /* extra query parameters for the authorization
                                request ("access_type=offline&prompt=consent"),
                                or NULL */
    const char *client_id;
    const char *client_secret; /* or NULL: a public client */
    const char *user;
    const char *trust_file; /* for HTTPS: tls_trust_file, or NULL (the system's) */
    char *proxy;            /* "socks5h://host:port", or NULL */
    long timeout_s;
    enum grant_store store;
};

/* Is 'name' one of the providers oauth2_provider takes? */
bool oauth_is_provider(const char *name);

/* The client an account describes: presets filled in, the settings
 * checked (ERR_CONFIG naming the account). */
int oauth_client_init(const struct account *a, struct oauth_client *c, struct error *err);
void oauth_client_free(struct oauth_client *c);
/* The key its grant is kept under. */
struct grant_key oauth_grant_key(const struct oauth_client *c);

/* How a token came. */
struct oauth_token_note {
    bool refreshed;         /* fetched now, not the cached one */
    int64_t expires;        /* Unix time, 0: unknown */
};

/* An access token good for OAUTH_REFRESH_MARGIN seconds at least: the
 * cached one, or a new one got with the refresh token ('force': a new one
 * whatever the cache says, because the server refused it). *token is
 * the caller's to secure_free. Failures: ERR_TEMPORARY (network, the
 * provider down or busy: the grant is kept), ERR_REAUTHORIZE (no grant,
 * or the provider refused it: only --authorize helps; the stored grant is
 * kept all the same), ERR_CONFIG (the client: invalid_client,
 * invalid_scope), ERR_TLS (the provider's certificate). A failure is
 * given again without asking the provider for 30 s in the same run. */
int oauth_access_token(const struct oauth_client *c, bool force, char **token,
                       struct oauth_token_note *note, struct error *err);

/* Ask the token endpoint (the form is the grant type's fields, without
 * the client's, which are added): the reply, or the error classed as for
 * oauth_access_token. For authorize.c. */
struct token_reply;
int oauth_token_request(const struct oauth_client *c, const char *form, struct token_reply *out,
                        struct error *err);
/* The device authorization request (RFC 8628 3.1): the reply, or the
 * error classed as above. */
int oauth_device_request(const struct oauth_client *c, struct token_reply *out, struct error *err);
/* Store what a successful reply gave (on top of 'g', NULL for a new grant). */
int oauth_store_reply(const struct oauth_client *c, struct grant *g,
                      const struct token_reply *reply, int64_t now, bool authorized,
                      struct error *err);

/* --forget-password: the grant, wherever it is; says what it did. */
int oauth_forget(const struct oauth_client *c, struct error *err);

/* --check: what is stored, one line: where, the scopes, when authorized
 * and refreshed, how long the access token is good for. */
void oauth_summary(const struct oauth_client *c, char *out, size_t cap);

#endif
