/* The one error type. Every fallible function returns 0 on success or -1
 * after filling a struct error. Decisions (exit code, failover, queueing)
 * are made from the class, never from the text. */
#ifndef OUTPOST_ERROR_H
#define OUTPOST_ERROR_H

#include <stdbool.h>

#include "util.h"

enum err_class {
    ERR_NONE = 0,
    ERR_USAGE,       /* bad command line                         -> 64 */
    ERR_MESSAGE,     /* the message itself is unusable           -> 65 */
    ERR_NOINPUT,     /* there is no input to read (stdin closed) -> 66 */
    ERR_NOUSER,      /* a recipient is unknown to the server     -> 67 */
    ERR_NOHOST,      /* the server's name does not resolve       -> 68 */
    ERR_PERMANENT,   /* the server refused for good (5xx)        -> 69 */
    ERR_SOFTWARE,    /* a bug or an impossible state             -> 70 */
    ERR_OS,          /* the operating system failed us           -> 71 */
    ERR_IO,          /* local file I/O failed                    -> 74 */
    ERR_TEMPORARY,   /* network, timeout, 4xx: try again later   -> 75 */
    ERR_PROTOCOL,    /* the server broke the protocol            -> 76 */
    ERR_PERMISSION,  /* not allowed                              -> 77 */
    ERR_CONFIG,      /* the configuration is wrong or unusable   -> 78 */
    ERR_AUTH,        /* the server refused our credentials: no
                        retry elsewhere (it could lock the account) -> 77 */
    ERR_TLS,         /* TLS failed, or the server's identity was
                        not verified (never retried without it) -> 69 */
};

#define ERR_TEXT_MAX 1024

struct error {
    enum err_class cls;
    int smtp_code;              /* 0 when the server did not say anything */
    char enhanced[16];          /* RFC 3463 code such as "5.1.1", or "" */
    char msg[ERR_TEXT_MAX];     /* what went wrong, one line */
    char reply[ERR_TEXT_MAX];   /* the server's words, one line, or "" */
    bool maybe_delivered;       /* the connection broke after the whole
                                   message went out: never resend at once */
};

void err_clear(struct error *e);
int err_set(struct error *e, enum err_class cls, const char *fmt, ...) PRINTF_LIKE(3, 4);
/* Like err_set, with the errno text appended ("...: Connection refused"). */
int err_errno(struct error *e, enum err_class cls, int errnum, const char *fmt, ...)
    PRINTF_LIKE(4, 5);
/* Put context in front of the message: "reading X: " + "what failed". */
void err_prefix(struct error *e, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* Attach what the server said (already one sanitized line). */
void err_server(struct error *e, int code, const char *enhanced, const char *text);

int err_exit_code(enum err_class cls);
/* A temporary failure may succeed later or elsewhere (retry, failover). */
bool err_is_temporary(const struct error *e);
/* One line on stderr: "outpost: <msg> (server said: <reply>)". */
void err_print(const struct error *e);

#endif
