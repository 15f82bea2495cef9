#include "config.h"

#include "session.h"

#include <string.h>

#include "log.h"
#include "net.h"

int session_open(struct session *s, const struct endpoint *ep, const struct session_params *p,
                 struct error *err)
{
    memset(&s->smtp, 0, sizeof s->smtp);
    s->open = false;
    if (ep->tls != TLS_NONE)
        return err_set(err, ERR_CONFIG, "TLS is not supported by this version of outpost");
    int fd = net_connect(ep->host, ep->port, p->source_ip, p->timeout_ms, err);
    if (fd < 0)
        return -1;
    conn_init(&s->conn, fd, p->timeout_ms);
    smtp_init(&s->smtp, &s->conn, p->lmtp);
    if (smtp_greeting(&s->smtp, err) < 0 || smtp_hello(&s->smtp, p->domain, err) < 0) {
        smtp_quit(&s->smtp);
        conn_close(&s->conn);
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
    conn_close(&s->conn);
    s->open = false;
}
