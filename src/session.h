/* An SMTP session to one endpoint, opened by one explicit state machine:
 * (an OAuth 2.0 token) -> (POP-before-SMTP) -> connect -> (implicit TLS) ->
 * greeting -> EHLO -> STARTTLS -> TLS -> EHLO again -> AUTH -> ready; a
 * cached token the server refuses is refreshed once (AUTH -> token ->
 * AUTH). Sending, queue
 * flushing, --serverinfo and --check all open sessions here, and every
 * pre-step is a state of the same machine. Each state entered goes into
 * the session's trace, which --check prints and --debug narrates. */
#ifndef OUTPOST_SESSION_H
#define OUTPOST_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "auth.h"
#include "conn.h"
#include "envelope.h"
#include "error.h"
#include "pop.h"
#include "reply.h"
#include "smtp.h"
#include "spool.h"
#include "tls.h"
#include "tlsmode.h"

/* The states, in the order a session can pass them (those before
 * S_CONNECT are the account's, not an endpoint's). */
enum session_state {
    S_TOKEN,    /* an OAuth 2.0 access token for AUTH, when the account has one */
    S_POP,      /* POP-before-SMTP, when the account asks for it */
    S_CONNECT,  /* TCP (racing the candidates), a local socket, or SOCKS5 */
    S_TLS,      /* the handshake and the check of the certificate */
    S_GREETING,
    S_EHLO,     /* before STARTTLS: what plaintext offers (shown, never used) */
    S_STARTTLS,
    S_CAPS,     /* the EHLO whose answer counts (after TLS, or the only one) */
    S_HELO,     /* for a server that does not know EHLO */
    S_AUTH,
    S_READY,
    S_FAILED,
};
#define SESSION_STATES (S_FAILED + 1)

/* "token", "pop", "connect", "tls", "greeting", "ehlo", "starttls",
 * "capabilities", "helo", "auth", "ready", "failed". */
const char *session_state_name(enum session_state st);

/* Where a session may go. The caller may offer what resumes an earlier TLS
 * session there (its own to keep: see session_close). */
struct endpoint {
    const char *host;
    long port;
    enum tls_mode tls;
    const char *socket;     /* a local socket instead of host:port, or NULL */
    const void *resume_data; /* or NULL */
    size_t resume_len;
};

struct session_params {
    const char *domain;     /* EHLO argument */
    int timeout_ms;         /* 0: none */
    int connect_timeout_ms; /* for the TCP connection alone; 0: timeout_ms */
    int race_delay_ms;      /* between starting candidates; 0: one at a time */
    const char *source_ip;  /* or NULL */
    const char *proxy_host; /* SOCKS5 proxy, or NULL */
    long proxy_port;
    bool lmtp;
    const struct tls_params *tls; /* how to verify the server, with TLS */
    const struct auth_params *auth; /* or NULL: no AUTH */
    const struct pop_params *pop;   /* or NULL: no POP-before-SMTP */
    bool *pop_done;         /* set once the POP login worked (kept by the
                               caller across sessions of the account) */
    /* The OAuth 2.0 access token for AUTH (XOAUTH2, OAUTHBEARER), or NULL:
     * the auth secret is asked instead. 'force': the server refused the
     * cached one; *fresh: it was fetched now. */
    int (*token)(void *ctx, bool force, char **out, bool *fresh, struct error *err);
    void *token_ctx;
    /* Make the connection to ep instead of the network (a scripted
     * transport, for the unit tests), or NULL. */
    int (*connector)(void *ctx, const struct endpoint *ep, struct conn *c, struct error *err);
    void *connector_ctx;
};

/* One state the session went through. */
struct session_step {
    enum session_state state;
    int64_t ms;
    bool ok;
};
#define SESSION_TRACE_MAX 16

struct session {
    struct conn conn;
    struct smtp smtp;
    bool open;
    bool connected;            /* it got past S_CONNECT */
    size_t candidate;          /* then: which of the candidates it is */
    struct endpoint ep;        /* and the endpoint (its resume data not kept) */
    /* The trace, and what the states learned: readable after a failure
     * too, for --check. */
    struct session_step trace[SESSION_TRACE_MAX];
    size_t ntrace;
    bool tls;                  /* a handshake completed and was verified */
    struct tls_info tls_info;  /* then: what it was */
    struct auth_used auth;     /* what AUTH ran, when it got that far */
    char *token;               /* S_TOKEN's access token (secure_free'd) */
    bool token_fresh;          /* fetched in this session, not the cached one */
    bool token_retried;        /* a refused cached token was refreshed once */
    /* What the server said in plaintext before STARTTLS: kept only to be
     * shown (--serverinfo, --check); nothing is decided from it. */
    bool had_plain_ehlo;
    struct caps caps_before_tls;
    char ehlo_before_tls[sizeof ((struct smtp *)0)->ehlo_lines];
    struct reply ehlo_refusal; /* while trying HELO */
    int64_t state_since;
};

/* Open a session to the first of the 'n' candidate endpoints that answers
 * (they are raced when there are several: see net_connect_race). On
 * success it is ready for transactions and s->candidate says which
 * endpoint it is; failed[i] (or NULL) tells which candidates failed to
 * connect. On failure the session holds nothing that needs closing, but
 * its trace and what it learned stay readable. */
int session_open(struct session *s, const struct endpoint *candidates, size_t n,
                 const struct session_params *p, bool *failed, struct error *err);

/* The state it failed in (S_READY when it did not). */
enum session_state session_failed_at(const struct session *s);

/* One message (smtp_send_message; 'delivered' as there). */
int session_send(struct session *s, const struct envelope *env, const struct spool *msg,
                 smtp_refusal_fn on_refusal, void *ctx, bool *delivered, struct error *err);
/* Told how far a message's text has gone (a progress line), or NULL. */
void session_on_sent(struct session *s, void (*fn)(void *ctx, uint64_t sent), void *ctx);
/* RSET: end a transaction, or see that the session still answers. */
int session_rset(struct session *s, struct error *err);
/* The connection can no longer be used (the next message reconnects). */
bool session_broken(const struct session *s);
/* The server's last reply. */
const struct reply *session_reply(const struct session *s);
/* Its greeting, and its capabilities ('\n' apart) and their meaning. */
const char *session_greeting(const struct session *s);
const char *session_ehlo_lines(const struct session *s);
const struct caps *session_caps(const struct session *s);

/* What resumes the TLS session on a later connection to the same
 * endpoint (a secret: wipe it), taken at the close. */
struct session_ticket {
    void *data;
    size_t len;
};
/* QUIT if still possible, then close; 'ticket' (or NULL) receives the
 * server's new ticket, if it gave one. */
void session_close(struct session *s, struct session_ticket *ticket);

#endif
