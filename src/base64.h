/* Base64 (RFC 4648) for SASL exchanges. Results are NUL-terminated and
 * allocated; they may hold secrets, so callers release them with
 * secure_free(). */
#ifndef OUTPOST_BASE64_H
#define OUTPOST_BASE64_H

#include <stddef.h>

char *base64_encode(const void *data, size_t n);
/* NULL when 'text' is not valid base64; *n gets the decoded length. The
 * result may contain NUL bytes: wipe it with secure_wipe(p, *n). */
char *base64_decode(const char *text, size_t *n);

#endif
