#include "config.h"

#include "session.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "net.h"
#include "state.h"
#include "util.h"

/* The TLS session stored for an endpoint is only offered to the same
 * endpoint with the same verification settings. */
static char *resume_key(const struct endpoint *ep, const struct tls_params *t)
{
    return xasprintf("%s %ld %s certcheck=%d trust=%s fingerprint=%s cert=%s priorities=%s",
                     ep->host, ep->port, t->host, t->certcheck,
                     t->trust_file ? t->trust_file : "-", t->fingerprint ? t->fingerprint : "-",
                     t->cert_file ? t->cert_file : "-", t->priorities ? t->priorities : "-");
}

/* The handshake, resuming the session stored for this endpoint if any. */
static int start_tls(struct session *s, const struct endpoint *ep,
                     const struct session_params *p, struct error *err)
{
    if (!p->tls_resume || ep->socket)
        return tls_start(&s->conn, p->tls, err);
    struct tls_params tp = *p->tls;
    s->tls_resume_key = resume_key(ep, p->tls);
    void *data = state_load_tls_session(s->tls_resume_key, &tp.resume_len);
    tp.resume_data = data;
    int r = tls_start(&s->conn, &tp, err);
    if (data) {
        secure_wipe(data, tp.resume_len);
        free(data);
    }
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
    if (!s->smtp.caps.starttls) {
        s->smtp.broken = true;
        return err_set(err, ERR_TLS, "the server does not offer STARTTLS, and the account "
                                     "requires TLS (tls on): nothing else was sent (someone "
                                     "on the network may be removing the offer)");
    }
    if (smtp_starttls(&s->smtp, err) < 0)
        return -1;
    size_t early = conn_buffered(&s->conn);
    if (early > 0) {
        s->smtp.broken = true;
        return err_set(err, ERR_TLS, "the server sent %zu more byte%s after its reply to "
                                     "STARTTLS, before the TLS handshake: possible command "
                                     "injection, so the session was abandoned",
                       early, early == 1 ? "" : "s");
    }
    if (start_tls(s, ep, p, err) < 0) {
        s->smtp.broken = true;
        return -1;
    }
    return smtp_hello(&s->smtp, p->domain, err);
}

int session_open(struct session *s, const struct endpoint *ep, const struct session_params *p,
                 struct error *err)
{
    int fd = ep->socket       ? net_connect_unix(ep->socket, err)
             : p->proxy_host ? net_connect_socks5(p->proxy_host, p->proxy_port, ep->host,
                                                  ep->port, p->source_ip, p->timeout_ms, err)
                             : net_connect(ep->host, ep->port, p->source_ip, p->timeout_ms, err);
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
    int r = 0;
    if (ep->tls == TLS_IMPLICIT && start_tls(s, ep, p, err) < 0) {
        s->smtp.broken = true;
        r = -1;
    }
    if (r == 0)
        r = smtp_greeting(&s->smtp, err) < 0 || smtp_hello(&s->smtp, p->domain, err) < 0 ? -1 : 0;
    if (r == 0 && ep->tls == TLS_STARTTLS)
        r = upgrade_to_tls(s, ep, p, err);
    if (r == 0 && p->auth)
        r = auth_login(&s->smtp, p->auth, err);
    if (r < 0) {
        smtp_quit(&s->smtp);
        conn_close(&s->conn);
        free(s->tls_resume_key);
        s->tls_resume_key = NULL;
        if (ep->socket)
            err_prefix(err, "%s: ", ep->socket);
        else
            err_prefix(err, "%s port %ld: ", ep->host, ep->port);
        return -1;
    }
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
