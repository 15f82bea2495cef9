#include "config.h"

#include "pop.h"

#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "log.h"
#include "net.h"
#include "util.h"

#define POP_LINE_MAX 1024

/* One status line; "+OK" is success, anything else carries the words. */
static int pop_reply(struct conn *c, const char *what, struct error *err)
{
    char line[POP_LINE_MAX];
    size_t len;
    conn_arm_deadline(c);
    if (conn_read_line(c, line, sizeof line, &len, err) < 0) {
        err_prefix(err, "POP3 server, waiting for the reply to %s: ", what);
        return -1;
    }
    debug_received(line, len);
    if (strncmp(line, "+OK", 3) == 0)
        return 0;
    char clean[POP_LINE_MAX];
    sanitize_text(clean, sizeof clean, line, len);
    err_raise(err, strncmp(line, "-ERR", 4) == 0 ? ERR_AUTH : ERR_PROTOCOL, R_POP_FAILED,
              "POP-before-SMTP: the POP3 server refused %s", what);
    err_server(err, 0, "", clean);
    return -1;
}

static int pop_command(struct conn *c, const char *verb, const char *arg, bool secret,
                       struct error *err)
{
    char *line = xasprintf("%s%s%s", verb, arg ? " " : "", arg ? arg : "");
    if (strpbrk(line, "\r\n")) {
        secure_free(line);
        return err_set(err, ERR_CONFIG, "POP-before-SMTP: a line break in the user name or "
                                        "password");
    }
    debug_sent(line, strlen(line), secret ? strlen(verb) + 1 : NO_REDACT);
    int r = conn_send_secret_line(c, line, strlen(line), err);
    secure_free(line);
    return r < 0 ? -1 : pop_reply(c, verb, err);
}

static int split_spec(const char *spec, char **host, long *port, struct error *err)
{
    const char *colon = strrchr(spec, ':');
    *port = 995;
    if (colon && !strchr(colon, ']') && colon != spec) {
        if (!parse_int_range(colon + 1, 1, 65535, port))
            return err_set(err, ERR_CONFIG, "pop_before_smtp %s: bad port", spec);
        *host = xstrndup(spec, (size_t)(colon - spec));
    } else {
        *host = xstrdup(spec);
    }
    return 0;
}

int pop_before_smtp(const struct pop_params *p, struct error *err)
{
    char *host = NULL;
    long port = 0;
    if (split_spec(p->spec, &host, &port, err) < 0)
        return -1;
    struct tls_params tls = *p->tls;
    tls.host = host;
    struct conn *c = xcalloc(1, sizeof *c);
    c->fd = -1;
    char *password = NULL;
    int r = -1;
    debug_note("POP-before-SMTP: logging in to %s port %ld", host, port);
    int fd = net_connect(host, port, p->source_ip, p->timeout_ms, err);
    if (fd < 0)
        goto out;
    conn_init(c, fd, p->timeout_ms);
    if (port == 995) {
        if (tls_start(c, &tls, err) < 0 || pop_reply(c, "the connection", err) < 0)
            goto out;
    } else {
        if (pop_reply(c, "the connection", err) < 0 || pop_command(c, "STLS", NULL, false, err) < 0)
            goto out;
        if (conn_buffered(c) > 0) { /* the same injection STARTTLS guards against */
            err_raise(err, ERR_TLS, R_STARTTLS_INJECTION, "the POP3 server sent more data after its reply to STLS, "
                                  "before the TLS handshake: possible command injection");
            goto out;
        }
        if (tls_start(c, &tls, err) < 0)
            goto out;
    }
    if (!p->user) {
        err_set(err, ERR_CONFIG, "pop_before_smtp needs 'user'");
        goto out;
    }
    const char *source;
    if (p->secret(p->secret_ctx, &password, &source, err) < 0 ||
        pop_command(c, "USER", p->user, false, err) < 0 ||
        pop_command(c, "PASS", password, true, err) < 0)
        goto out;
    pop_command(c, "QUIT", NULL, false, err);
    r = 0;
out:
    if (r < 0)
        err_where(err, "%s port %ld", host, port);
    secure_free(password);
    conn_close(c);
    free(c);
    free(host);
    return r;
}
