/* outpost's small private state: the endpoint that last worked for each
 * account, under $XDG_STATE_HOME/outpost (default ~/.local/state/outpost),
 * files 0600 in a 0700 directory, replaced atomically. Losing it only
 * costs a slower first attempt, so every failure here is silent. */
#ifndef OUTPOST_STATE_H
#define OUTPOST_STATE_H

#include <stdbool.h>
#include <stddef.h>

/* The state directory, created if needed (NULL when it cannot be). */
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

#endif
