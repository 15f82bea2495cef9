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

/* A server that answers what it was sent, line by line: the reply to one
 * line (CRLF included), or NULL for none (message text). Replies exist
 * only once their command has been written, as with a real server. */
typedef const char *(*script_answer_fn)(void *ctx, const char *line, size_t len);

struct script {
    const char *const *segments; /* NULL-terminated: what the server sends */
    size_t next;
    size_t offset;               /* into the current segment */
    enum script_end end;
    struct strbuf sent;          /* everything the client wrote */
    int pipe[2];
    int reads;                   /* transport reads asked for */
    int waits;                   /* reads after something new was sent: the
                                  * round trips a real server would cost */
    size_t sent_at_wait;
    script_answer_fn answer;     /* instead of segments, when set */
    void *answer_ctx;
    size_t heard;                /* bytes of 'sent' answered so far */
    struct strbuf replies;       /* answers not yet read */
    size_t replies_read;
};

/* Set up 's' and a connection on it (timeout_ms per reply). */
void script_start(struct script *s, struct conn *c, const char *const *segments,
                  enum script_end end, int timeout_ms);
/* The same, with 'answer' making the replies instead of segments. */
void script_start_answering(struct script *s, struct conn *c, script_answer_fn answer, void *ctx,
                            enum script_end end, int timeout_ms);
/* What the client sent, NUL-terminated (CRLF as sent). */
const char *script_sent(struct script *s);
/* How many times the client sent 'line' (a whole line, without CRLF). */
int script_count(struct script *s, const char *line);
void script_free(struct script *s);

#endif
