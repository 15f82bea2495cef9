/* The header block of a message: where it ends, its fields, and a
 * rewritten copy. Only the header block is ever held in memory (at most
 * HEADER_BLOCK_MAX bytes); the body stays in the spool file. */
#ifndef OUTPOST_HEADERS_H
#define OUTPOST_HEADERS_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

#define HEADER_BLOCK_MAX (1024 * 1024)

/* Finds the end of the header block in canonical CRLF text fed in any
 * chunks. The block ends before an empty line, or before the first line
 * that is neither a field ("Name:") nor a continuation of one (so text
 * without headers has an empty block). */
struct header_scan {
    struct strbuf head;  /* the bytes seen so far while in the header block */
    size_t line_start;   /* offset in head of the line not classified yet */
    bool done;
    bool too_big;        /* the block is larger than HEADER_BLOCK_MAX */
    size_t end;          /* when done: length of the block (head is cut there) */
};

void header_scan_init(struct header_scan *s);
void header_scan_feed(struct header_scan *s, const char *in, size_t n);
/* End of input: a block of fields only (no body) is complete too. */
void header_scan_finish(struct header_scan *s);

/* One field of a header block. */
struct header_field {
    const char *name;
    size_t name_len;
    const char *value;   /* after the colon, up to the final CRLF, folds kept */
    size_t value_len;
    const char *raw;     /* the whole field with its final CRLF */
    size_t raw_len;
};

/* Walk the fields of a block: start with *pos = 0. Returns false at the end. */
bool header_next(const char *head, size_t len, size_t *pos, struct header_field *f);
/* The field's name is 'name' (ASCII case ignored). */
bool header_is(const struct header_field *f, const char *name);
/* The first field called 'name', if any. */
bool header_find(const char *head, size_t len, const char *name, struct header_field *f);

/* A copy of the block with 'prepend' (complete CRLF-terminated fields)
 * first, and every field named in 'drop' (NULL-terminated) left out. */
char *headers_rewrite(const char *head, size_t len, const char *prepend,
                      const char *const *drop, size_t *out_len);

#endif
