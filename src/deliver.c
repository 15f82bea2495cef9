#include "config.h"

#include "deliver.h"

#include <stdlib.h>

#include "address.h"
#include "log.h"
#include "pop.h"
#include "secret.h"
#include "util.h"

static void report_refusal(void *ctx, const char *rcpt, const struct error *e)
{
    err_print(e);
}

static enum tls_mode tls_mode(const struct account *a)
{
    if (!a->tls)
        return TLS_NONE;
    return a->tls_starttls ? TLS_STARTTLS : TLS_IMPLICIT;
}

static void tls_params_from(const struct account *a, struct tls_params *t)
{
    *t = (struct tls_params){
        .host = a->tls_host_override ? a->tls_host_override : a->host,
        .certcheck = a->tls_certcheck,
        .trust_file = a->tls_trust_file,
        .crl_file = a->tls_crl_file,
        .fingerprint = a->tls_fingerprint,
        .cert_file = a->tls_cert_file,
        .key_file = a->tls_key_file,
        .priorities = a->tls_priorities,
        .min_dh_prime_bits = a->tls_min_dh_prime_bits,
    };
}

void deliver_secret_query(const struct account *a, struct secret_query *q)
{
    *q = (struct secret_query){
        .account = a->name,
        .host = a->host,
        .user = a->user,
        .service = a->password_from,
        .password = a->password,
        .passwordeval = a->passwordeval,
    };
}

static int account_secret(void *ctx, char **out, struct error *err)
{
    struct secret_query q;
    deliver_secret_query(ctx, &q);
    return secret_get(&q, out, err);
}

int deliver_open_session(const struct account *a, struct session *s, struct error *err)
{
    char *domain = a->domain ? expand_from_pattern(a->domain) : default_ehlo_domain();
    if (!is_safe_hostname(domain)) {
        err_set(err, ERR_CONFIG, "account '%s': domain '%s' cannot be used as an EHLO name",
                a->name, domain);
        free(domain);
        return -1;
    }
    if (a->tls && !a->tls_certcheck && !a->tls_fingerprint)
        msg_warn("account '%s' has tls_certcheck off: the server's identity is not checked, so "
                 "anyone on the network path can read and change what is sent", a->name);
    struct tls_params tls;
    tls_params_from(a, &tls);
    struct endpoint ep = {
        .host = a->host ? a->host : "localhost",
        .port = a->port,
        .tls = tls_mode(a),
        .socket = a->socket,
    };
    struct auth_params auth = {
        .mechanism = a->auth,
        .user = a->user,
        .host = a->host,
        .port = a->port,
        .ntlmdomain = a->ntlmdomain,
        .client_cert = a->tls_cert_file != NULL,
        .secret = account_secret,
        .secret_ctx = (void *)a,
    };
    struct session_params params = {
        .domain = domain,
        .timeout_ms = (int)a->timeout * 1000,
        .source_ip = a->source_ip,
        .proxy_host = a->proxy_host,
        .proxy_port = a->proxy_port ? a->proxy_port : 1080,
        .lmtp = a->protocol == PROTO_LMTP,
        .tls = &tls,
        .auth = a->auth ? &auth : NULL,
    };
    int r = 0;
    if (a->pop_before_smtp) {
        struct pop_params pop = {
            .spec = a->pop_before_smtp,
            .user = a->user,
            .secret = account_secret,
            .secret_ctx = (void *)a,
            .tls = &tls,
            .timeout_ms = params.timeout_ms,
            .source_ip = a->source_ip,
        };
        r = pop_before_smtp(&pop, err);
    }
    if (r == 0)
        r = session_open(s, &ep, &params, err);
    free(domain);
    return r;
}

int deliver(const struct account *a, const struct envelope *env, const struct spool *msg,
            struct reply *final, struct error *err)
{
    struct session *s = xcalloc(1, sizeof *s);
    int r = deliver_open_session(a, s, err);
    if (r == 0) {
        r = smtp_send_message(&s->smtp, env, msg, report_refusal, NULL, err);
        if (final)
            *final = s->smtp.reply;
        session_close(s);
    }
    free(s);
    return r;
}
