/* SMTP DATA transparency (RFC 5321 4.5.2): a line that starts with "."
 * gets a second one. Input is canonical CRLF text, fed in any chunks. */
#ifndef OUTPOST_DOTSTUFF_H
#define OUTPOST_DOTSTUFF_H

#include <stdbool.h>
#include <stddef.h>

struct dotstuff {
    bool bol; /* the next byte starts a line */
};

void dotstuff_init(struct dotstuff *d);
/* Copy n bytes to 'out' (room for 2 * n), doubling line-initial dots.
 * Returns the bytes written. */
size_t dotstuff_feed(struct dotstuff *d, const char *in, size_t n, char *out);

#endif
