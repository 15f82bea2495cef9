/* SMTP replies (RFC 5321 4.2): reading them from the connection and
 * checking their form. */
#ifndef OUTPOST_REPLY_H
#define OUTPOST_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "conn.h"
#include "error.h"

#define REPLY_LINE_MAX 4096   /* longest line accepted (RFC 5321 says 512) */
#define REPLY_LINES_MAX 1000  /* most lines in one reply */

struct reply {
    int code;
    char enhanced[16];        /* RFC 3463 status from the first line, or "" */
    char text[ERR_TEXT_MAX];  /* the reply as one sanitized line, for people */
    unsigned lines;
};

/* Check one reply line. On success sets the code, whether it is the last
 * line (a space or nothing after the code, not '-') and where its text
 * starts, and returns 0. Returns -1 for anything else: codes outside
 * 200-599, a fourth character other than ' ' or '-', too short. */
int reply_parse_line(const char *line, size_t len, int *code, bool *last, size_t *text_at);

/* The RFC 3463 enhanced status code at the start of 'text' whose class
 * matches 'code' ("5.1.1" for 550), copied to 'out'; "" when absent. */
void reply_enhanced_code(int code, const char *text, size_t len, char *out, size_t cap);

/* Called for each line's text (after "NNN-" / "NNN "); may be NULL. */
typedef void (*reply_line_fn)(void *ctx, unsigned index, const char *text, size_t len);

/* Read one complete reply within the connection's timeout. Malformed or
 * oversized replies are ERR_PROTOCOL; a timeout or a closed connection is
 * ERR_TEMPORARY. */
int reply_read(struct conn *c, struct reply *r, reply_line_fn fn, void *ctx, struct error *err);

#endif
