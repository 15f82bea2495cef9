/* The header block of a message, edited while it streams into the spool:
 * fields are recognised line by line (the body is passed through
 * untouched and never held in memory). Today it removes Bcc fields. */
#ifndef OUTPOST_HEADERS_H
#define OUTPOST_HEADERS_H

#include <stdbool.h>
#include <stddef.h>

#define HEADER_NAME_MAX 128

struct header_filter {
    bool remove_bcc;
    bool in_headers;   /* still inside the header block */
    bool bol;          /* at the beginning of a line */
    bool deciding;     /* collecting the start of a line to classify it */
    bool dropping;     /* the current field is being removed */
    size_t held;       /* bytes of the current line collected so far */
    char line_start[HEADER_NAME_MAX + 2];
};

void header_filter_init(struct header_filter *h, bool remove_bcc);
/* Input is canonical CRLF text. 'out' needs room for n + HEADER_NAME_MAX + 2
 * bytes. Returns the bytes written. */
size_t header_filter_feed(struct header_filter *h, const char *in, size_t n, char *out);
/* End of message: release anything still held. Same room as above. */
size_t header_filter_finish(struct header_filter *h, char *out);

#endif
