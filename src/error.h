/* The one error type. Every fallible function returns 0 on success or -1
 * after filling a struct error: a class (what kind of failure, which
 * decides the exit code and what delivery does next, from one table in
 * error.c), a reason (what exactly happened, set where it happened: the
 * advice and --check decide from it), the server's reply if any, and one
 * line of text for people. Nothing is ever decided from the text. */
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
    ERR_REAUTHORIZE, /* the OAuth 2.0 grant is gone (revoked, expired,
                        never given): only outpost --authorize brings it
                        back; a queued message waits for that    -> 77 */
};

/* What exactly went wrong, where it is known (R_NONE elsewhere). The
 * advice table (advice.c) and --check's verdicts key on these. */
enum err_reason {
    R_NONE = 0,
    /* reaching the server */
    R_NO_SUCH_HOST,      /* the name does not exist */
    R_RESOLVE_FAILED,    /* the resolver failed for now */
    R_CONNECT_REFUSED,   /* nothing listens there */
    R_CONNECT_TIMEOUT,   /* no answer to the connection attempt */
    R_CONNECT_FAILED,    /* unreachable, or another socket error */
    R_SOCKET_MISSING,    /* a local socket that is not there */
    R_PROXY_FAILED,      /* the SOCKS proxy could not, or would not */
    /* the conversation */
    R_REPLY_TIMEOUT,     /* the server stopped answering */
    R_SEND_STALLED,      /* the server stopped taking data */
    R_CONNECTION_CLOSED, /* the server closed the connection */
    R_BAD_REPLY,         /* a reply that breaks the protocol */
    R_GREETING_REFUSED,
    R_EHLO_REFUSED,
    R_SENDER_REFUSED,
    R_RECIPIENT_REFUSED,
    R_TOO_MANY_RECIPIENTS, /* 452 for every recipient of a transaction */
    R_DATA_REFUSED,
    R_MESSAGE_REFUSED,   /* the final reply to the message */
    R_TOO_LARGE,         /* larger than the server's SIZE */
    R_NO_SMTPUTF8,       /* a non-ASCII local part, and no SMTPUTF8 */
    R_NO_DSN,            /* DSN asked for and not offered */
    R_MAYBE_DELIVERED,   /* the connection broke after the whole message */
    /* TLS */
    R_STARTTLS_MISSING,  /* not offered (stripped?) */
    R_STARTTLS_REFUSED,
    R_STARTTLS_INJECTION, /* bytes after the 220 before the handshake */
    R_TLS_HANDSHAKE,
    R_TLS_VERSION,       /* no version both sides accept */
    R_TLS_NO_CERT,
    R_TLS_UNKNOWN_CA,
    R_TLS_WRONG_NAME,
    R_TLS_EXPIRED,
    R_TLS_NOT_YET_VALID,
    R_TLS_REVOKED,
    R_TLS_WEAK,          /* below the verification profile */
    R_TLS_PURPOSE,       /* the extended key usage is not serverAuth */
    R_TLS_CN_ONLY,       /* the name only in the common name */
    R_TLS_UNTRUSTED,     /* any other verification failure */
    R_TLS_PIN_MISMATCH,  /* not the pinned certificate */
    R_TLS_NO_TRUST,      /* nothing to verify against */
    R_TLS_TRUST_FILE,    /* the CA file cannot be used */
    R_TLS_SYSTEM_TRUST,  /* the system has no CAs */
    R_TLS_CRL_FILE,
    R_TLS_CLIENT_CERT,   /* the client certificate or key cannot be used */
    R_TLS_PRIORITIES,    /* the priority string is not valid */
    /* authentication */
    R_AUTH_REFUSED,      /* the server said no to the credentials */
    R_AUTH_NOT_OFFERED,  /* no AUTH in the EHLO reply */
    R_AUTH_MECH_NOT_OFFERED,
    R_AUTH_MECH_UNSUPPORTED, /* not in this build */
    R_AUTH_NO_COMMON,
    R_AUTH_WITHOUT_TLS,  /* refused by outpost: no TLS, no auth_without_tls */
    R_AUTH_NEEDS_BINDING, /* a -PLUS mechanism without channel binding */
    R_AUTH_NEEDS_USER,
    R_NO_PASSWORD,       /* no password from any source */
    R_COMMAND_FAILED,    /* passwordeval or eval failed */
    R_POP_FAILED,        /* POP-before-SMTP login refused */
    /* OAuth 2.0 */
    R_OAUTH_UNAVAILABLE, /* not built in, or libcurl/jansson missing */
    R_OAUTH_NOT_AUTHORIZED, /* no grant stored for the account */
    R_OAUTH_GRANT_REFUSED,  /* invalid_grant: revoked, expired, consent gone */
    R_OAUTH_CLIENT,      /* invalid_client, unauthorized_client */
    R_OAUTH_SCOPE,       /* invalid_scope */
    R_OAUTH_PROVIDER,    /* the provider is down or busy (5xx, 429,
                            temporarily_unavailable) */
    R_OAUTH_REFUSED,     /* any other error the provider gave */
    R_OAUTH_BAD_REPLY,   /* a reply that is not OAuth 2.0 */
    R_OAUTH_TOKEN_REFUSED, /* the SMTP server refused a fresh token */
    R_OAUTH_DENIED,      /* --authorize: the user said no, or it timed out */
    R_HTTP_FAILED,       /* no HTTP response: network, timeout */
    R_HTTPS_UNTRUSTED,   /* the HTTPS server was not verified */
    R_STATE_UNUSABLE,    /* a file that must be kept could not be */
    R_REASONS
};

#define ERR_TEXT_MAX 1024

struct error {
    enum err_class cls;
    enum err_reason reason;
    int smtp_code;              /* 0 when the server did not say anything */
    char enhanced[16];          /* RFC 3463 code such as "5.1.1", or "" */
    char msg[ERR_TEXT_MAX];     /* what went wrong, one line */
    char reply[ERR_TEXT_MAX];   /* the server's words, one line, or "" */
    char where[320];            /* the endpoint it happened at ("host port
                                   587"), or "": printed before msg */
    char value[128];            /* a value the advice quotes (a
                                   certificate's SHA-256), or "" */
    bool maybe_delivered;       /* the connection broke after the whole
                                   message went out: never resend at once */
};

void err_clear(struct error *e);
int err_set(struct error *e, enum err_class cls, const char *fmt, ...) PRINTF_LIKE(3, 4);
/* err_set with a reason. */
int err_raise(struct error *e, enum err_class cls, enum err_reason reason, const char *fmt, ...)
    PRINTF_LIKE(4, 5);
/* Like err_set, with the errno text appended ("...: Connection refused"). */
int err_errno(struct error *e, enum err_class cls, int errnum, const char *fmt, ...)
    PRINTF_LIKE(4, 5);
/* Put context in front of the message: "reading X: " + "what failed". */
void err_prefix(struct error *e, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* Say where it happened (once: an inner where is kept). */
void err_where(struct error *e, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* Attach what the server said (already one sanitized line). */
void err_server(struct error *e, int code, const char *enhanced, const char *text);

/* What the class decides, from the one table. */
int err_exit_code(enum err_class cls);
/* Another endpoint may succeed where this one failed: try the next. */
bool err_next_endpoint(const struct error *e);
/* Delivery failed for now: with 'queue on' the message is queued. */
bool err_queues(const struct error *e);
/* A queued message fails for good: give it up (failed/). */
bool err_gives_up(const struct error *e);

/* The reason as a word for --json ("connect_refused"), "" for none. */
const char *err_reason_name(enum err_reason r);

/* One line on stderr: "outpost: <where>: <msg> (server said: <reply>)". */
void err_print(const struct error *e);
/* The same text, without "outpost: ", into 'out'. */
void err_format(const struct error *e, char *out, size_t cap);
/* "<where>: <msg>", what a log line or a queue entry keeps. */
void err_text(const struct error *e, char *out, size_t cap);

#endif
