/* The password for a host (and user) in the text of a ~/.netrc file, as
 * ftp(1) and curl read it. Split from secret.c so it can be fuzzed. */
#ifndef OUTPOST_NETRC_H
#define OUTPOST_NETRC_H

#include <stddef.h>

/* 'text' is the file's bytes (NUL bytes end it early). An entry for
 * "machine HOST" wins over "default"; a "login" that names another user
 * than 'user' (when 'user' is not NULL) does not match. Returns a copy of
 * the password for secure_free(), or NULL. */
char *netrc_password(const char *text, size_t len, const char *host, const char *user);

#endif
