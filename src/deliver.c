#include "config.h"

#include "deliver.h"

#include <stdlib.h>

#include "address.h"
#include "log.h"
#include "session.h"
#include "util.h"

static void report_refusal(void *ctx, const char *rcpt, const struct error *e)
{
    err_print(e);
}

int deliver(const struct account *a, const struct envelope *env, const struct spool *msg,
            struct error *err)
{
    if (account_check_supported(a, err) < 0)
        return -1;
    char *domain = a->domain ? expand_from_pattern(a->domain) : default_ehlo_domain();
    if (!is_safe_hostname(domain)) {
        err_set(err, ERR_CONFIG, "account '%s': domain '%s' cannot be used as an EHLO name",
                a->name, domain);
        free(domain);
        return -1;
    }
    struct endpoint ep = {.host = a->host, .port = a->port, .tls = TLS_NONE};
    struct session_params params = {
        .domain = domain,
        .timeout_ms = (int)a->timeout * 1000,
        .source_ip = a->source_ip,
        .lmtp = a->protocol == PROTO_LMTP,
    };
    struct session *s = xcalloc(1, sizeof *s);
    int r = session_open(s, &ep, &params, err);
    if (r == 0) {
        r = smtp_send_message(&s->smtp, env, msg, report_refusal, NULL, err);
        session_close(s);
    }
    free(s);
    free(domain);
    return r;
}
