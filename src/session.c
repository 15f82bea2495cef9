#include "config.h"

#include "session.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "net.h"
#include "state.h"
#include "util.h"

const char *tls_mode_name(enum tls_mode m)
{
    return m == TLS_IMPLICIT ? "implicit TLS" : m == TLS_STARTTLS ? "STARTTLS" : "no TLS";
}

/* The TLS session stored for an endpoint is only offered to the same
 * endpoint with the same verification settings. */
static char *resume_key(const struct endpoint *ep, const struct tls_params *t)
{
    return xasprintf("%s %ld %s certcheck=%d trust=%s fingerprint=%s cert=%s priorities=%s",
                     ep->host, ep->port, t->host, t->certcheck,
                     t->trust_file ? t->trust_file : "-", t->fingerprint ? t->fingerprint : "-",
                     t->cert_file ? t->cert_file : "-", t->priorities ? t->priorities : "-");
}

/* Step bookkeeping for session_params.report: 'step' begins now, and the
 * time since the last call goes to the step before it. */
static void enter_step(struct session *s, const struct session_params *p,
                       enum session_step step)
{
    if (!p->report)
        return;
    int64_t now = now_ms();
    struct session_report *r = p->report;
    if (r->reached < SESSION_STEPS)
        r->ms[r->reached] += now - s->step_since;
    r->reached = step;
    s->step_since = now;
}

/* The handshake, resuming the session stored for this endpoint if any;
 * what it came to goes into the report, when one is asked for. Each
 * endpoint is verified (and given SNI) under its own name, unless the
 * account names another (tls_host_override): a certificate good for the
 * first host proves nothing about the second. */
static int start_tls(struct session *s, const struct endpoint *ep,
                     const struct session_params *p, struct error *err)
{
    int r;
    struct tls_params tp = *p->tls;
    if (!tp.host)
        tp.host = ep->host;
    if (!p->tls_resume || ep->socket) {
        r = tls_start(&s->conn, &tp, err);
    } else {
        s->tls_resume_key = resume_key(ep, &tp);
        void *data = state_load_tls_session(s->tls_resume_key, &tp.resume_len);
        tp.resume_data = data;
        r = tls_start(&s->conn, &tp, err);
        if (data) {
            secure_wipe(data, tp.resume_len);
            free(data);
        }
    }
    if (r == 0 && p->report)
        p->report->tls = tls_get_info(&s->conn, &p->report->tls_info);
    return r;
}

/* Keep what resumes this session next time (a new ticket each session:
 * RFC 8446 asks clients to use a ticket once). */
static void save_tls_session(struct session *s)
{
    if (!s->tls_resume_key)
        return;
    size_t len;
    void *data = tls_session_data(&s->conn, &len);
    if (data) {
        state_save_tls_session(s->tls_resume_key, data, len);
        secure_wipe(data, len);
        free(data);
    }
    free(s->tls_resume_key);
    s->tls_resume_key = NULL;
}

/* STARTTLS, strictly (RFC 3207; the 2021 "NO STARTTLS" findings): without
 * the offer or the 220, or with bytes after the 220 that came before the
 * handshake, nothing more is said. Then EHLO again, forgetting everything
 * learned in plaintext. */
static int upgrade_to_tls(struct session *s, const struct endpoint *ep,
                          const struct session_params *p, struct error *err)
{
    s->had_plain_ehlo = true;
    s->caps_before_tls = s->smtp.caps;
    memcpy(s->ehlo_before_tls, s->smtp.ehlo_lines, sizeof s->ehlo_before_tls);
    enter_step(s, p, SESSION_STARTTLS);
    if (!s->smtp.caps.starttls) {
        s->smtp.broken = true;
        return err_raise(err, ERR_TLS, R_STARTTLS_MISSING,
                         "the server does not offer STARTTLS, and TLS is required: nothing else "
                         "was sent");
    }
    if (smtp_starttls(&s->smtp, err) < 0)
        return -1;
    size_t early = conn_buffered(&s->conn);
    if (early > 0) {
        s->smtp.broken = true;
        return err_raise(err, ERR_TLS, R_STARTTLS_INJECTION,
                         "the server sent %zu more byte%s after its reply to STARTTLS, before "
                         "the TLS handshake: possible command injection, so the session was "
                         "abandoned", early, early == 1 ? "" : "s");
    }
    enter_step(s, p, SESSION_TLS);
    if (start_tls(s, ep, p, err) < 0) {
        s->smtp.broken = true;
        return -1;
    }
    enter_step(s, p, SESSION_EHLO);
    return smtp_hello(&s->smtp, p->domain, err);
}

int session_open(struct session *s, const struct endpoint *ep, const struct session_params *p,
                 struct error *err)
{
    if (p->report)
        memset(p->report, 0, sizeof *p->report);
    int64_t start = now_ms();
    int fd = ep->socket       ? net_connect_unix(ep->socket, err)
             : p->proxy_host ? net_connect_socks5(p->proxy_host, p->proxy_port, ep->host,
                                                  ep->port, p->source_ip, p->timeout_ms, err)
                             : net_connect(ep->host, ep->port, p->source_ip,
                                               p->connect_timeout_ms ? p->connect_timeout_ms
                                                                     : p->timeout_ms,
                                               err);
    if (p->report)
        p->report->ms[SESSION_CONNECT] = now_ms() - start;
    if (fd < 0) {
        memset(s, 0, sizeof *s);
        return -1;
    }
    return session_start(s, fd, ep, p, err);
}

int session_start(struct session *s, int fd, const struct endpoint *ep,
                  const struct session_params *p, struct error *err)
{
    memset(s, 0, sizeof *s);
    conn_init(&s->conn, fd, p->timeout_ms);
    smtp_init(&s->smtp, &s->conn, p->lmtp);
    s->step_since = now_ms();
    int r = 0;
    if (ep->tls == TLS_IMPLICIT) {
        enter_step(s, p, SESSION_TLS);
        if (start_tls(s, ep, p, err) < 0) {
            s->smtp.broken = true;
            r = -1;
        }
    }
    if (r == 0) {
        enter_step(s, p, SESSION_GREETING);
        r = smtp_greeting(&s->smtp, err);
    }
    if (r == 0) {
        enter_step(s, p, SESSION_EHLO);
        r = smtp_hello(&s->smtp, p->domain, err);
    }
    if (r == 0 && ep->tls == TLS_STARTTLS)
        r = upgrade_to_tls(s, ep, p, err);
    if (r == 0 && p->auth) {
        enter_step(s, p, SESSION_AUTH);
        struct auth_params ap = *p->auth;
        if (!ap.host) { /* GSSAPI's service name, OAUTHBEARER's host= and port= */
            ap.host = ep->host;
            ap.port = ep->port;
        }
        r = auth_login(&s->smtp, &ap, p->report ? &p->report->auth : NULL, err);
    }
    if (r < 0) {
        smtp_quit(&s->smtp);
        conn_close(&s->conn);
        free(s->tls_resume_key);
        s->tls_resume_key = NULL;
        if (ep->socket)
            err_where(err, "%s", ep->socket);
        else
            err_where(err, "%s port %ld", ep->host, ep->port);
        return -1;
    }
    enter_step(s, p, SESSION_READY);
    s->open = true;
    return 0;
}

void session_close(struct session *s)
{
    if (!s->open)
        return;
    smtp_quit(&s->smtp);
    save_tls_session(s);
    conn_close(&s->conn);
    s->open = false;
}
