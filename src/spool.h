/* The message, copied from the caller before the first byte goes out: a
 * private, already-unlinked temporary file holding canonical CRLF text.
 * Failover, retries and queueing all read it again from the start. */
#ifndef OUTPOST_SPOOL_H
#define OUTPOST_SPOOL_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

struct spool {
    int fd;
    uint64_t size;     /* bytes stored: the RFC 1870 SIZE of the message */
    bool has_8bit;
};

struct spool_options {
    bool dot_ends;     /* without -i: a line of one "." ends the message */
    bool remove_bcc;   /* drop Bcc header fields */
};

/* Read the message from 'in' until end of input (or the "." line). A NUL
 * byte is ERR_MESSAGE; local I/O problems are ERR_IO. */
int spool_read(struct spool *sp, int in, const struct spool_options *opt, struct error *err);
void spool_close(struct spool *sp);

#endif
