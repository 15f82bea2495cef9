/* The one way to open an SMTP session to one endpoint: connect, greeting,
 * EHLO, STARTTLS, EHLO again, AUTH. Sending, queue flushing,
 * --serverinfo and --check all start here. */
#ifndef OUTPOST_SESSION_H
#define OUTPOST_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "auth.h"
#include "conn.h"
#include "error.h"
#include "smtp.h"
#include "tls.h"

enum tls_mode { TLS_NONE, TLS_STARTTLS, TLS_IMPLICIT };
/* "STARTTLS", "implicit TLS", "no TLS" */
const char *tls_mode_name(enum tls_mode m);

struct endpoint {
    const char *host;
    long port;
    enum tls_mode tls;
    const char *socket;     /* a local socket instead of host:port, or NULL */
};

/* The steps of opening a session, in the order they can happen. */
enum session_step {
    SESSION_CONNECT,
    SESSION_TLS,        /* the handshake and the check of the certificate */
    SESSION_GREETING,
    SESSION_EHLO,       /* both of them, with STARTTLS */
    SESSION_STARTTLS,   /* the command */
    SESSION_AUTH,
    SESSION_READY,
};
#define SESSION_STEPS SESSION_READY

/* How opening went, step by step, for --check (asked for with
 * session_params.report; filled on success and on failure). */
struct session_report {
    enum session_step reached;  /* the step that failed, or SESSION_READY */
    int64_t ms[SESSION_STEPS];  /* time spent in each step */
    bool tls;                   /* a handshake completed and was verified */
    struct tls_info tls_info;   /* then: what it was */
    struct auth_used auth;      /* what AUTH ran, when it got that far */
};

struct session_params {
    const char *domain;     /* EHLO argument */
    int timeout_ms;         /* 0: none */
    int connect_timeout_ms; /* for the TCP connection alone; 0: timeout_ms */
    const char *source_ip;  /* or NULL */
    const char *proxy_host; /* SOCKS5 proxy, or NULL */
    long proxy_port;
    bool lmtp;
    bool tls_resume;        /* resume TLS sessions across runs (state.c) */
    const struct tls_params *tls; /* how to verify the server, with TLS */
    const struct auth_params *auth; /* or NULL: no AUTH */
    struct session_report *report;  /* or NULL */
};

struct session {
    struct conn conn;
    struct smtp smtp;
    bool open;
    /* What the server said in plaintext before STARTTLS: kept only to be
     * shown (--serverinfo); nothing is decided from it. */
    bool had_plain_ehlo;
    struct caps caps_before_tls;
    char ehlo_before_tls[sizeof ((struct smtp *)0)->ehlo_lines];
    char *tls_resume_key;   /* where this session's TLS resumption data goes */
    int64_t step_since;     /* when the current step began (the report's) */
};

/* On success the session is ready for a transaction. On failure it holds
 * nothing that needs closing. A report asked for is zeroed first. */
int session_open(struct session *s, const struct endpoint *ep, const struct session_params *p,
                 struct error *err);
/* The same over a connection made already ('fd' is the session's; a
 * report asked for must have been zeroed by the caller). */
int session_start(struct session *s, int fd, const struct endpoint *ep,
                  const struct session_params *p, struct error *err);
/* QUIT if still possible, then close. */
void session_close(struct session *s);

#endif
