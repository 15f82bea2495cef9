#include "config.h"

#include "session.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "net.h"
#include "util.h"

static const char *const state_names[SESSION_STATES] = {
    [S_TOKEN] = "token",
    [S_POP] = "pop",           [S_CONNECT] = "connect",
    [S_TLS] = "tls",           [S_GREETING] = "greeting",
    [S_EHLO] = "ehlo",         [S_STARTTLS] = "starttls",
    [S_CAPS] = "capabilities", [S_HELO] = "helo",
    [S_AUTH] = "auth",         [S_READY] = "ready",
    [S_FAILED] = "failed",
};

const char *session_state_name(enum session_state st)
{
    return (unsigned)st < SESSION_STATES ? state_names[st] : "?";
}

/* A session and what it works with while it opens. */
struct opening {
    struct session *s;
    const struct endpoint *candidates;
    size_t n;
    const struct session_params *p;
    bool *failed;
};

/* ---- what each state does --------------------------------------------------- */

/* S_CONNECT: the candidates that connect directly are raced; a local
 * socket or a SOCKS5 proxy takes one candidate at a time. */
static int connect_endpoint(struct opening *o, struct error *err)
{
    const struct session_params *p = o->p;
    const struct endpoint *first = &o->candidates[0];
    int timeout = p->connect_timeout_ms ? p->connect_timeout_ms : p->timeout_ms;
    int fd;
    size_t winner = 0;
    if (p->connector) {
        if (p->connector(p->connector_ctx, first, &o->s->conn, err) < 0) {
            if (o->failed)
                o->failed[0] = true;
            return -1;
        }
        fd = o->s->conn.fd;
    } else if (first->socket || p->proxy_host || o->n == 1) {
        fd = first->socket      ? net_connect_unix(first->socket, err)
             : p->proxy_host ? net_connect_socks5(p->proxy_host, p->proxy_port, first->host,
                                                  first->port, p->source_ip, p->timeout_ms, err)
                             : net_connect(first->host, first->port, p->source_ip, timeout, err);
        if (fd < 0 && o->failed)
            o->failed[0] = true;
    } else {
        struct net_target *t = xcalloc(o->n, sizeof *t);
        bool *failed = xcalloc(o->n, sizeof *failed);
        for (size_t i = 0; i < o->n; i++)
            t[i] = (struct net_target){o->candidates[i].host, o->candidates[i].port};
        struct net_race race = {t, o->n, p->race_delay_ms, p->source_ip, timeout, 0, failed};
        fd = net_connect_race(&race, err);
        winner = race.winner;
        for (size_t i = 0; o->failed && i < o->n; i++)
            o->failed[i] = failed[i] && (fd < 0 || i != winner);
        free(failed);
        free(t);
    }
    if (fd < 0)
        return -1;
    o->s->connected = true;
    o->s->candidate = winner;
    o->s->ep = o->candidates[winner];
    o->s->ep.resume_data = NULL; /* the caller's, for this handshake only */
    o->s->ep.resume_len = 0;
    if (!p->connector)
        conn_init(&o->s->conn, fd, p->timeout_ms);
    smtp_init(&o->s->smtp, &o->s->conn, p->lmtp);
    return 0;
}

/* S_TLS: the handshake, resuming the session the caller offers for this
 * endpoint. Each endpoint is verified (and given SNI) under its own name
 * unless the account names another (tls_host_override): a certificate good
 * for the first host proves nothing about the second. */
static int start_tls(struct opening *o, struct error *err)
{
    struct session *s = o->s;
    struct tls_params tp = *o->p->tls;
    if (!tp.host)
        tp.host = s->ep.host;
    tp.resume_data = o->candidates[s->candidate].resume_data;
    tp.resume_len = o->candidates[s->candidate].resume_len;
    if (tls_start(&s->conn, &tp, err) < 0)
        return -1;
    s->tls = tls_get_info(&s->conn, &s->tls_info);
    return 0;
}

/* S_STARTTLS, strictly (RFC 3207; the 2021 "NO STARTTLS" findings):
 * without the offer, nothing is said; what plaintext offered is kept to be
 * shown, and forgotten for everything else. */
static int send_starttls(struct session *s, struct error *err)
{
    s->had_plain_ehlo = true;
    s->caps_before_tls = s->smtp.caps;
    memcpy(s->ehlo_before_tls, s->smtp.ehlo_lines, sizeof s->ehlo_before_tls);
    if (!s->smtp.caps.starttls) {
        s->smtp.broken = true;
        return err_raise(err, ERR_TLS, R_STARTTLS_MISSING,
                         "the server does not offer STARTTLS, and TLS is required: nothing else "
                         "was sent");
    }
    return smtp_send(&s->smtp, err, "STARTTLS");
}

/* S_TOKEN: the access token (a second time: a new one, the server having
 * refused the cached one). */
static int fetch_token(struct opening *o, struct error *err)
{
    struct session *s = o->s;
    bool force = s->token != NULL;
    char *token = NULL;
    bool fresh = false;
    if (o->p->token(o->p->token_ctx, force, &token, &fresh, err) < 0)
        return -1;
    secure_free(s->token);
    s->token = token;
    s->token_fresh = fresh;
    return 0;
}

/* The token as AUTH's secret. */
static int token_secret(void *ctx, char **out, const char **source, struct error *err)
{
    const struct session *s = ctx;
    *out = xstrdup(s->token);
    *source = s->token_fresh ? "OAuth 2.0 (an access token refreshed now)"
                             : "OAuth 2.0 (the cached access token)";
    return 0;
}

static int run_auth(struct opening *o, struct error *err)
{
    struct auth_params ap = *o->p->auth;
    if (!ap.host) { /* GSSAPI's service name, OAUTHBEARER's host= and port= */
        ap.host = o->s->ep.host;
        ap.port = o->s->ep.port;
    }
    if (o->s->token) {
        ap.secret = token_secret;
        ap.secret_ctx = o->s;
    }
    return auth_login(&o->s->smtp, &ap, &o->s->auth, err);
}

/* Enter a state: do what it does, or send what it sends. */
static int enter(struct opening *o, enum session_state st, struct error *err)
{
    struct session *s = o->s;
    const char *hello = o->p->lmtp ? "LHLO" : "EHLO";
    switch (st) {
    case S_TOKEN:
        return fetch_token(o, err);
    case S_POP:
        if (pop_before_smtp(o->p->pop, err) < 0)
            return -1;
        *o->p->pop_done = true;
        return 0;
    case S_CONNECT:
        return connect_endpoint(o, err);
    case S_TLS:
        return start_tls(o, err);
    case S_GREETING:
        return 0; /* the server speaks first */
    case S_EHLO:
    case S_CAPS:
        return smtp_send(&s->smtp, err, "%s %s", hello, o->p->domain);
    case S_HELO:
        s->ehlo_refusal = s->smtp.reply;
        return smtp_send(&s->smtp, err, "HELO %s", o->p->domain);
    case S_STARTTLS:
        return send_starttls(s, err);
    case S_AUTH:
        return run_auth(o, err);
    case S_READY:
    case S_FAILED:
        break;
    }
    return 0;
}

/* After the greeting or an EHLO: what comes next for this endpoint. */
static enum session_state after_hello(const struct opening *o, enum session_state st)
{
    if (st != S_CAPS && o->s->ep.tls == TLS_STARTTLS)
        return st == S_GREETING ? S_EHLO : S_STARTTLS;
    if (st == S_GREETING)
        return S_CAPS;
    return o->p->auth ? S_AUTH : S_READY;
}

/* Pick the next state from what the state came to (the server's reply,
 * for those that send a command). */
static enum session_state next(struct opening *o, enum session_state st, struct error *err)
{
    struct session *s = o->s;
    struct smtp *sm = &s->smtp;
    switch (st) {
    case S_TOKEN:
        if (s->connected) /* a refreshed token, on the same connection */
            return S_AUTH;
        return o->p->pop && !*o->p->pop_done ? S_POP : S_CONNECT;
    case S_POP:
        return S_CONNECT;
    case S_CONNECT:
        return s->ep.tls == TLS_IMPLICIT ? S_TLS : S_GREETING;
    case S_TLS:
        return s->ep.tls == TLS_IMPLICIT ? S_GREETING : S_CAPS;
    case S_GREETING:
        if (smtp_expect(sm, SMTP_GREETING, err) < 0)
            return S_FAILED;
        snprintf(sm->greeting, sizeof sm->greeting, "%s", sm->reply.text);
        if (sm->reply.code != 220) {
            smtp_refused(sm, SMTP_GREETING, err, "the server refused the connection");
            return S_FAILED;
        }
        return after_hello(o, st);
    case S_EHLO:
    case S_CAPS:
        if (smtp_expect(sm, SMTP_EHLO, err) < 0)
            return S_FAILED;
        if (sm->reply.code == 250)
            return after_hello(o, st);
        /* An old server that does not know EHLO gets HELO (never LMTP). */
        if (o->p->lmtp || sm->reply.code < 500) {
            smtp_refused(sm, SMTP_EHLO, err, "the server refused %s", o->p->lmtp ? "LHLO" : "EHLO");
            return S_FAILED;
        }
        return S_HELO;
    case S_HELO:
        if (smtp_expect(sm, SMTP_HELO, err) < 0) {
            /* No reply at all: the server meant its refusal of EHLO. */
            if (err->cls != ERR_TEMPORARY)
                return S_FAILED;
            sm->reply = s->ehlo_refusal;
            smtp_refused(sm, SMTP_EHLO, err, "the server refused EHLO, then did not answer HELO");
            return S_FAILED;
        }
        if (sm->reply.code != 250) {
            smtp_refused(sm, SMTP_HELO, err, "the server refused HELO");
            return S_FAILED;
        }
        /* (Without EHLO there is no STARTTLS offer: a TLS account stops
         * in S_STARTTLS.) */
        if (s->ep.tls == TLS_STARTTLS && !s->tls)
            return S_STARTTLS;
        return o->p->auth ? S_AUTH : S_READY;
    case S_STARTTLS:
        if (smtp_expect(sm, SMTP_STARTTLS, err) < 0)
            return S_FAILED;
        if (sm->reply.code != 220) {
            /* Nothing more may be said in plaintext, not even QUIT. */
            sm->broken = true;
            smtp_refused(sm, SMTP_STARTTLS, err, "the server refused STARTTLS, and TLS is "
                                                 "required: nothing else was sent");
            if (err->cls == ERR_PERMANENT || err->cls == ERR_PROTOCOL)
                err->cls = ERR_TLS;
            return S_FAILED;
        }
        if (conn_buffered(&s->conn) > 0) {
            /* Bytes that came before the handshake were injected. */
            size_t early = conn_buffered(&s->conn);
            sm->broken = true;
            err_raise(err, ERR_TLS, R_STARTTLS_INJECTION,
                      "the server sent %zu more byte%s after its reply to STARTTLS, before the "
                      "TLS handshake: possible command injection, so the session was abandoned",
                      early, early == 1 ? "" : "s");
            return S_FAILED;
        }
        return S_TLS;
    case S_AUTH:
        return S_READY;
    case S_READY:
    case S_FAILED:
        break;
    }
    return S_FAILED;
}

/* Where a state that failed leads: nowhere, but for a cached OAuth token
 * the server refused, which is refreshed and tried once more (it may have
 * been revoked, or the clocks disagree). A fresh token refused is its own
 * reason: the token is good, the mailbox or the scope is not. */
static enum session_state on_failure(struct opening *o, enum session_state st,
                                     struct error *err)
{
    struct session *s = o->s;
    if (st != S_AUTH || !s->token || err->reason != R_AUTH_REFUSED || err->cls != ERR_AUTH ||
        s->smtp.broken)
        return S_FAILED;
    if (!s->token_fresh && !s->token_retried) {
        debug_note("the server refused the cached OAuth 2.0 token: refreshing it once");
        s->token_retried = true;
        return S_TOKEN;
    }
    err->reason = R_OAUTH_TOKEN_REFUSED;
    return S_FAILED;
}

/* ---- the machine -------------------------------------------------------------- */

static void trace_begin(struct session *s, enum session_state st)
{
    s->state_since = now_ms();
    if (s->ntrace < SESSION_TRACE_MAX)
        s->trace[s->ntrace++] = (struct session_step){st, 0, false};
    debug_note("session: %s", session_state_name(st));
}

static void trace_end(struct session *s, bool ok)
{
    if (s->ntrace == 0)
        return;
    struct session_step *step = &s->trace[s->ntrace - 1];
    step->ms = now_ms() - s->state_since;
    step->ok = ok;
}

int session_open(struct session *s, const struct endpoint *candidates, size_t n,
                 const struct session_params *p, bool *failed, struct error *err)
{
    memset(s, 0, sizeof *s);
    s->conn.fd = -1;
    for (size_t i = 0; failed && i < n; i++)
        failed[i] = false;
    struct opening o = {s, candidates, n, p, failed};
    enum session_state st = p->token ? S_TOKEN : p->pop && !*p->pop_done ? S_POP : S_CONNECT;
    while (st != S_READY && st != S_FAILED) {
        trace_begin(s, st);
        enum session_state to = enter(&o, st, err) < 0 ? on_failure(&o, st, err)
                                                       : next(&o, st, err);
        trace_end(s, to != S_FAILED);
        if (to == S_FAILED && (st == S_TLS || st == S_STARTTLS))
            s->smtp.broken = true; /* no QUIT in plaintext after TLS failed */
        st = to;
    }
    /* AUTH is over: the token is not kept a moment longer */
    secure_free(s->token);
    s->token = NULL;
    if (st == S_FAILED) {
        if (s->conn.fd >= 0) {
            smtp_quit(&s->smtp);
            conn_close(&s->conn);
        }
        /* After the connection, the error says which endpoint it was
         * (connecting and POP name their own). */
        if (s->connected && s->trace[s->ntrace - 1].state > S_CONNECT) {
            if (s->ep.socket)
                err_where(err, "%s", s->ep.socket);
            else
                err_where(err, "%s port %ld", s->ep.host, s->ep.port);
        }
        return -1;
    }
    s->open = true;
    return 0;
}

/* ---- an open session ------------------------------------------------------------ */

int session_send(struct session *s, const struct envelope *env, const struct spool *msg,
                 smtp_refusal_fn on_refusal, void *ctx, bool *delivered, struct error *err)
{
    return smtp_send_message(&s->smtp, env, msg, on_refusal, ctx, delivered, err);
}

void session_on_sent(struct session *s, void (*fn)(void *ctx, uint64_t sent), void *ctx)
{
    s->smtp.on_sent = fn;
    s->smtp.on_sent_ctx = ctx;
}

int session_rset(struct session *s, struct error *err)
{
    return smtp_rset(&s->smtp, err);
}

enum session_state session_failed_at(const struct session *s)
{
    if (s->open || s->ntrace == 0)
        return S_READY;
    return s->trace[s->ntrace - 1].state;
}

bool session_broken(const struct session *s)
{
    return !s->open || s->smtp.broken;
}

const struct reply *session_reply(const struct session *s)
{
    return &s->smtp.reply;
}

const char *session_greeting(const struct session *s)
{
    return s->smtp.greeting;
}

const char *session_ehlo_lines(const struct session *s)
{
    return s->smtp.ehlo_lines;
}

const struct caps *session_caps(const struct session *s)
{
    return &s->smtp.caps;
}

void session_close(struct session *s, struct session_ticket *ticket)
{
    if (ticket) {
        ticket->data = NULL;
        ticket->len = 0;
    }
    if (!s->open)
        return;
    smtp_quit(&s->smtp);
    /* RFC 8446 asks clients to use a ticket once: each session brings a
     * new one, asked for after QUIT (under TLS 1.3 it comes late). */
    if (ticket)
        ticket->data = tls_session_data(&s->conn, &ticket->len);
    conn_close(&s->conn);
    s->open = false;
}
