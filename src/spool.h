/* The message, copied from the caller before the first byte goes out: a
 * private file holding canonical CRLF text, in memory (memfd) while it is
 * up to SPOOL_MEMORY_MAX, else already unlinked in $TMPDIR.
 * Failover, retries and queueing all read it again from the start. */
#ifndef OUTPOST_SPOOL_H
#define OUTPOST_SPOOL_H

#include <stdbool.h>
#include <stdint.h>

#include "canon.h"
#include "error.h"
#include "headers.h"

/* What goes on the wire is 'head' followed by the file from 'body_offset'
 * on: the header block lives in memory so it can be rewritten (Bcc
 * removed, From/Date/Message-ID added) without copying the body. */
struct spool {
    int fd;
    char *head;        /* the header block, CRLF-terminated fields */
    size_t head_len;
    uint64_t body_offset; /* where the rest (empty line, body) starts in fd */
    uint64_t file_size;
    uint64_t size;     /* head_len + file_size - body_offset: the RFC 1870 SIZE */
    bool has_8bit;
};

struct spool_options {
    bool dot_ends;     /* without -i: a line of one "." ends the message */
    bool smtp_data;    /* the input is an SMTP DATA stream: undo dot-stuffing */
};

/* Read the message from 'in' until end of input (or the "." line). A NUL
 * byte or a header block over HEADER_BLOCK_MAX is ERR_MESSAGE; local I/O
 * problems are ERR_IO. */
int spool_read(struct spool *sp, int in, const struct spool_options *opt, struct error *err);

/* The same for a message that arrives in pieces (the relay's LMTP data, a
 * notice): spool_begin, spool_feed for each piece (pieces after the "."
 * line are ignored), then spool_end, or spool_abandon to drop it. The
 * file is in memory up to SPOOL_MEMORY_MAX bytes and in $TMPDIR beyond. */
#define SPOOL_MEMORY_MAX (1024 * 1024)
struct spool_writer {
    int fd;
    bool in_memory;
    bool smtp_data;
    uint64_t written;
    struct canon canon;
    struct header_scan hs;
    char *out; /* canon's output (2 * piece + 4 bytes) */
    size_t out_cap;
};
int spool_begin(struct spool_writer *w, const struct spool_options *opt, struct error *err);
int spool_feed(struct spool_writer *w, const char *p, size_t n, struct error *err);
bool spool_feed_done(const struct spool_writer *w); /* the "." line was seen */
int spool_end(struct spool_writer *w, struct spool *sp, struct error *err);
void spool_abandon(struct spool_writer *w);
/* Replace the header block (takes ownership of 'head'). */
void spool_set_head(struct spool *sp, char *head, size_t len);
/* Hand the whole message to 'fn' in pieces of at most SPOOL_CHUNK bytes:
 * the header block, then the file from body_offset up to file_size (never
 * what may follow in the file). A short file is ERR_IO. Stops at the
 * first piece 'fn' fails. */
#define SPOOL_CHUNK (64 * 1024)
typedef int (*spool_piece_fn)(void *ctx, const char *p, size_t n, struct error *err);
int spool_each_piece(const struct spool *sp, spool_piece_fn fn, void *ctx, struct error *err);
/* Copy the whole message (head and body) to 'fd'; 'what' names it in errors. */
int spool_copy_to(const struct spool *sp, int fd, const char *what, struct error *err);
/* The SHA-256 (hex, SHA256_HEX_LEN + 1 bytes) of the whole message. */
int spool_digest(const struct spool *sp, char *hex, struct error *err);
void spool_close(struct spool *sp);

#endif
