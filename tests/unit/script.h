/* A scripted transport for conn.c (struct transport): the server's side is
 * a list of segments handed out one per read, in order, whatever the
 * client sent; what the client sends is kept to be compared. When the
 * script runs out the server closes, resets, or stalls (reads then wait on
 * a pipe that never becomes readable, so the connection's timeout works as
 * with a socket). No network: smtp.c and session.c are tested on it. */
#ifndef OUTPOST_TEST_SCRIPT_H
#define OUTPOST_TEST_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>

#include "conn.h"
#include "util.h"

enum script_end { SCRIPT_CLOSE, SCRIPT_RESET, SCRIPT_STALL };

struct script {
    const char *const *segments; /* NULL-terminated: what the server sends */
    size_t next;
    size_t offset;               /* into the current segment */
    enum script_end end;
    struct strbuf sent;          /* everything the client wrote */
    int pipe[2];
    int reads;                   /* transport reads asked for */
};

/* Set up 's' and a connection on it (timeout_ms per reply). */
void script_start(struct script *s, struct conn *c, const char *const *segments,
                  enum script_end end, int timeout_ms);
/* What the client sent, NUL-terminated (CRLF as sent). */
const char *script_sent(struct script *s);
/* How many times the client sent 'line' (a whole line, without CRLF). */
int script_count(struct script *s, const char *line);
void script_free(struct script *s);

#endif
