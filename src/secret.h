/* Where a password comes from, in msmtp's order: the configuration,
 * passwordeval, the desktop keyring (libsecret, with msmtp's attributes),
 * ~/.netrc, and a prompt on the terminal. Every result is the caller's to
 * secure_free(). */
#ifndef OUTPOST_SECRET_H
#define OUTPOST_SECRET_H

#include <stdbool.h>

#include "error.h"

struct secret_query {
    const char *account;      /* for messages */
    const char *host;
    const char *user;
    const char *service;      /* the keyring's "service": "smtp", or imap/pop3 */
    const char *password;     /* 'password' from the configuration, or NULL */
    const char *password_file; /* 'password_file', or NULL */
    const char *passwordeval; /* 'passwordeval', or NULL */
};

/* *source says where the password was found, for messages: "the
 * configuration ('password')", "password_file", "passwordeval", "the
 * keyring", "~/.netrc" or "the terminal". */
int secret_get(const struct secret_query *q, char **out, const char **source,
               struct error *err);

/* The keyring alone (--store-password, --forget-password). */
int secret_keyring_store(const struct secret_query *q, const char *password, struct error *err);
int secret_keyring_forget(const struct secret_query *q, struct error *err);

/* Is there a keyring to talk to (a session bus, and libsecret)? */
bool secret_keyring_reachable(void);

/* OAuth 2.0 grants in the keyring (oauth2store.c keeps them there, or in
 * a file): get gives 1 with *out (secure_free it), 0 when there is none or
 * no keyring; forget gives 0 when removed, 1 when there was none. */
struct grant_key {
    const char *token_url;
    const char *client_id;
    const char *user;
};
int secret_grant_get(const struct grant_key *k, char **out);
int secret_grant_put(const struct grant_key *k, const char *value, struct error *err);
int secret_grant_forget(const struct grant_key *k, struct error *err);

/* Read a line from the terminal without echo (or from stdin when
 * 'from_stdin'), for --store-password. */
int secret_read_new(const char *prompt, bool from_stdin, char **out, struct error *err);

/* --store-password: ask for a new password (on the terminal, or standard
 * input) and keep it in the keyring; --forget-password: remove it. Both
 * say on stdout what they did. The account must have a user: the entry
 * is looked up by host, service and user. */
int secret_store(const struct secret_query *q, bool from_stdin, struct error *err);
int secret_forget(const struct secret_query *q, struct error *err);

#endif
