/* An OAuth 2.0 grant as outpost keeps it: the refresh token, the access
 * token it last got with its expiry, the scopes, and when it was
 * authorized and refreshed. It lives where passwords live: the keyring
 * (secret.c), else a 0600 file in the state directory (statedir.c), one
 * per token endpoint, client and user. Refreshing happens under
 * grant_lock, so two outposts never both spend a rotating refresh token. */
#ifndef OUTPOST_GRANT_H
#define OUTPOST_GRANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "secret.h"

/* Where a grant is kept: 'oauth2_token_store'. */
enum grant_store { STORE_AUTO, STORE_KEYRING, STORE_FILE };

struct grant {
    char *token_url, *client_id, *user; /* its key, kept inside too */
    char *refresh_token;  /* or NULL: it cannot be refreshed */
    char *access_token;   /* or NULL */
    int64_t expires;      /* the access token's end, Unix time; 0: unknown */
    char *scope;          /* as granted, or NULL */
    int64_t authorized;   /* when --authorize made it */
    int64_t refreshed;    /* the last refresh, or 0 */
    char *refused;        /* the provider's error at the last refusal, or NULL */
    int64_t refused_at;
    enum grant_store where; /* STORE_KEYRING or STORE_FILE, once loaded or saved */
};

/* The record as text, and back: grant_parse reads what grant_format
 * wrote (the file's or the keyring's contents: untrusted, fuzzed); 0, or
 * -1 with *why. */
char *grant_format(const struct grant *g);
int grant_parse(const char *text, size_t n, struct grant *g, const char **why);
void grant_free(struct grant *g);

/* The grant for 'k': 1 when found (in the keyring, then the file, for
 * STORE_AUTO), 0 when there is none. A record that is not one is
 * ignored (said in --debug). */
int grant_load(const struct grant_key *k, enum grant_store store, struct grant *g);
/* Keep it where it was found; a new one (where 0 and STORE_AUTO) in the
 * keyring when there is one, else the file. */
int grant_save(struct grant *g, enum grant_store store, struct error *err);
/* Remove it from both places: 0 when something was removed, 1 when there
 * was nothing. */
int grant_forget(const struct grant_key *k, struct error *err);
/* Lock the grant's refresh (up to 60 s): a descriptor to close, or -1
 * when it cannot be had (no state directory: said, and the caller goes
 * on without). */
int grant_lock(const struct grant_key *k, struct error *err);

/* "the keyring" or "the file F", for messages. */
const char *grant_place(const struct grant *g, char *buf, size_t cap);

#endif
