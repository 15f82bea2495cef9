/* outpost's small private state: the endpoint that last worked for each
 * account, and TLS session resumption data, under $XDG_STATE_HOME/outpost
 * (default ~/.local/state/outpost), files 0600 in a 0700 directory,
 * replaced atomically, each with a checksum that is checked before its
 * contents are used. Losing it only costs a slower first attempt, so every
 * failure here is silent (said in --debug), and where there is no home
 * directory of the user's own nothing is created: outpost runs without
 * state (root uses /var/lib/outpost when it exists). */
#ifndef OUTPOST_STATEDIR_H
#define OUTPOST_STATEDIR_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* The state directory, created if needed where that is allowed (see
 * above); NULL when there is none. */
char *state_dir(void);

/* The endpoint that last delivered for 'account': 0, or -1 if none. */
int state_last_endpoint(const char *account, char **host, long *port);
/* Remember it (host NULL: forget whatever was remembered). */
void state_remember_endpoint(const char *account, const char *host, long port);

/* TLS session resumption data (a secret: it resumes the session's keys) for
 * the endpoint and TLS settings that 'key' describes, one file each.
 * Returns NULL (and *len 0) when there is none or it is unusable. */
void *state_load_tls_session(const char *key, size_t *len);
void state_save_tls_session(const char *key, const void *data, size_t len);

/* Files that must not be lost silently (an OAuth grant), in the same
 * format: state_write replaces 'name' atomically and durably, or says why
 * not (ERR_IO, R_STATE_UNUSABLE); state_read gives the checked payload,
 * NULL when there is none (a damaged one is removed, said in --debug). */
int state_write(const char *name, const void *payload, size_t len, struct error *err);
char *state_read(const char *name, size_t max, size_t *len);
void state_remove(const char *name);
/* An exclusive lock on the file 'name' (made if needed), waiting up to
 * 'timeout_ms' for another process to let go: the descriptor (close it to
 * unlock), or -1. */
int state_lock(const char *name, int timeout_ms, struct error *err);

/* The parsers, on their own for the fuzzer: the checked payload of a
 * state file's text (NULL, and *why, when it is not one or was damaged);
 * the endpoint remembered for 'account' in an endpoints payload (which is
 * cut into lines in place). */
char *state_check(const char *data, size_t n, size_t *len, const char **why);
int state_find_endpoint(char *text, const char *account, char **host, long *port);

#endif
