#include "config.h"

#include "deliver.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "address.h"
#include "log.h"
#include "maillog.h"
#include "net.h"
#include "pop.h"
#include "progress.h"
#include "queue.h"
#include "secret.h"
#include "state.h"
#include "util.h"

static void show_sent(void *ctx, uint64_t sent)
{
    progress_update(ctx, sent);
}

static void report_refusal(void *ctx, const char *rcpt, const struct error *e)
{
    err_print(e);
}

/* ---- the plan -------------------------------------------------------------- */

static void add_endpoint(struct plan *p, const struct account *a, const char *host, long port)
{
    p->v = xrealloc(p->v, (p->n + 1) * sizeof *p->v);
    p->v[p->n++] = (struct plan_endpoint){a, host, port, (enum tls_mode)account_tls_mode(a, port)};
}

void deliver_build_plan(const struct account_chain *chain, struct plan *plan)
{
    memset(plan, 0, sizeof *plan);
    for (size_t k = 0; k < chain->n; k++) {
        const struct account *a = chain->v[k];
        if (a->socket) {
            add_endpoint(plan, a, a->host, a->port);
            continue;
        }
        for (size_t h = 0; h < a->nhosts; h++)
            for (size_t i = 0; i < a->nports; i++)
                add_endpoint(plan, a, a->hosts[h], a->ports[i]);
    }
    /* The endpoint that worked last time goes first. */
    char *host = NULL;
    long port = 0;
    if (plan->n > 1 && state_last_endpoint(chain->v[0]->name, &host, &port) == 0) {
        for (size_t i = 1; i < plan->n; i++) {
            if (plan->v[i].account == chain->v[0] && strcmp(plan->v[i].host, host) == 0 &&
                plan->v[i].port == port) {
                struct plan_endpoint e = plan->v[i];
                memmove(plan->v + 1, plan->v, i * sizeof *plan->v);
                plan->v[0] = e;
                debug_note("trying %s port %ld first: it worked last time", host, port);
                break;
            }
        }
    }
    free(host);
}

void deliver_free_plan(struct plan *plan)
{
    free(plan->v);
    memset(plan, 0, sizeof *plan);
}

void deliver_print_plan(const struct plan *plan, FILE *out)
{
    fprintf(out, "delivery plan (tried in this order):\n");
    for (size_t i = 0; i < plan->n; i++) {
        const struct plan_endpoint *e = &plan->v[i];
        if (e->account->socket)
            fprintf(out, "  %zu. %s (socket), account %s\n", i + 1, e->account->socket,
                    e->account->name);
        else
            fprintf(out, "  %zu. %s port %ld, %s, account %s\n", i + 1, e->host, e->port,
                    tls_mode_name(e->tls), e->account->name);
    }
    if (plan->n && plan->v[0].account->queue)
        fprintf(out, "then, if every endpoint fails temporarily: the queue\n");
}

/* ---- one account's session parameters ------------------------------------ */

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

static int account_secret(void *ctx, char **out, const char **source, struct error *err)
{
    struct secret_query q;
    deliver_secret_query(ctx, &q);
    return secret_get(&q, out, source, err);
}

int deliver_setup_account(const struct account *a, struct account_setup *su, struct error *err)
{
    memset(su, 0, sizeof *su);
    su->account = a;
    char *domain = a->domain ? expand_from_pattern(a->domain) : default_ehlo_domain();
    /* EHLO comes before any SMTPUTF8: its argument is always ASCII. */
    if (is_hostname_text(domain))
        su->domain = domain_to_ascii(domain, "domain", ERR_CONFIG, err);
    else
        err_set(err, ERR_CONFIG, "domain '%s' cannot be used as an EHLO name", domain);
    free(domain);
    if (!su->domain) {
        err_prefix(err, "account '%s': ", a->name);
        return -1;
    }
    if (a->tls && !a->tls_certcheck && !a->tls_fingerprint)
        msg_warn("account '%s' has tls_certcheck off: the server's identity is not checked, so "
                 "anyone on the network path can read and change what is sent", a->name);
    su->tls = (struct tls_params){
        /* NULL: each endpoint is verified under its own name. */
        .host = a->tls_host_override,
        .certcheck = a->tls_certcheck,
        .trust_file = a->tls_trust_file,
        .crl_file = a->tls_crl_file,
        .fingerprint = a->tls_fingerprint,
        .cert_file = a->tls_cert_file,
        .key_file = a->tls_key_file,
        .priorities = a->tls_priorities,
        .min_dh_prime_bits = a->tls_min_dh_prime_bits,
    };
    su->auth = (struct auth_params){
        .mechanism = a->auth,
        .user = a->user,
        /* host and port: the endpoint's (session.c) */
        .ntlmdomain = a->ntlmdomain,
        .client_cert = a->tls_cert_file != NULL,
        .without_tls = a->auth_without_tls,
        .secret = account_secret,
        .secret_ctx = (void *)a,
    };
    su->params = (struct session_params){
        .domain = su->domain,
        .timeout_ms = (int)a->timeout * 1000,
        .source_ip = a->source_ip,
        .proxy_host = a->proxy_host,
        .proxy_port = a->proxy_port ? a->proxy_port : 1080,
        .lmtp = a->protocol == PROTO_LMTP,
        .tls_resume = a->tls_resume,
        .tls = &su->tls,
        .auth = a->auth ? &su->auth : NULL,
    };
    return 0;
}

void deliver_free_setup(struct account_setup *su)
{
    free(su->domain);
    su->domain = NULL;
}

int deliver_pop_first(struct account_setup *su, struct error *err)
{
    const struct account *a = su->account;
    if (!a->pop_before_smtp || su->pop_done)
        return 0;
    struct pop_params pop = {
        .spec = a->pop_before_smtp,
        .user = a->user,
        .secret = account_secret,
        .secret_ctx = (void *)a,
        .tls = &su->tls,
        .timeout_ms = su->params.timeout_ms,
        .source_ip = a->source_ip,
    };
    if (pop_before_smtp(&pop, err) < 0)
        return -1;
    su->pop_done = true;
    return 0;
}

/* ---- trying endpoints ------------------------------------------------------ */

struct attempt {
    const struct plan *plan;
    bool *done;                 /* per endpoint: tried and failed */
    struct account_setup *setups; /* per account of the chain */
    const struct account_chain *chain;
    struct error security;      /* the first TLS failure, reported at the end */
    bool had_security_error;
    size_t used;                /* the endpoint of the open session */
};

static struct account_setup *setup_for(struct attempt *at, const struct account *a)
{
    for (size_t k = 0; k < at->chain->n; k++)
        if (at->chain->v[k] == a)
            return &at->setups[k];
    return NULL;
}

static bool any_left(const struct attempt *at);

/* Endpoint i is out; 'announce' says so on stderr when another is left. */
static void endpoint_failed(struct attempt *at, size_t i, const struct error *e, bool announce)
{
    const struct plan_endpoint *ep = &at->plan->v[i];
    at->done[i] = true;
    if (e->cls == ERR_TLS && !at->had_security_error) {
        at->security = *e;
        at->had_security_error = true;
    }
    if (i == 0 && ep->account == at->chain->v[0] && at->plan->n > 1)
        state_remember_endpoint(ep->account->name, NULL, 0); /* forget it */
    if (announce && any_left(at)) {
        char line[3 * ERR_TEXT_MAX];
        err_format(e, line, sizeof line);
        msg_warn("%s; trying the next endpoint", line);
    }
}

static bool any_left(const struct attempt *at)
{
    for (size_t i = 0; i < at->plan->n; i++)
        if (!at->done[i])
            return true;
    return false;
}

/* Connect to the first endpoint left that answers (racing those of the
 * same kind), then open the session on it. */
static int open_next(struct attempt *at, struct session *s, struct error *err)
{
    while (any_left(at)) {
        size_t first = 0;
        while (at->done[first])
            first++;
        const struct account *a = at->plan->v[first].account;
        struct account_setup *su = setup_for(at, a);
        if (deliver_pop_first(su, err) < 0) {
            if (!err_next_endpoint(err))
                return -1;
            for (size_t i = 0; i < at->plan->n; i++)
                if (at->plan->v[i].account == a && !at->done[i])
                    endpoint_failed(at, i, err, false);
            continue;
        }
        struct endpoint ep;
        size_t chosen = first;
        int fd = -1;
        if (a->socket || a->proxy_host) {
            /* no racing through a proxy or to a local socket */
            ep = (struct endpoint){at->plan->v[first].host, at->plan->v[first].port,
                                   at->plan->v[first].tls, a->socket};
            if (session_open(s, &ep, &su->params, err) == 0) {
                at->used = chosen;
                return 0;
            }
        } else {
            /* Race the endpoints left that connect directly; the account
             * of the winner decides the session's settings. */
            size_t n = 0;
            size_t *index = xcalloc(at->plan->n, sizeof *index);
            struct net_target *t = xcalloc(at->plan->n, sizeof *t);
            for (size_t i = 0; i < at->plan->n; i++) {
                const struct account *b = at->plan->v[i].account;
                if (at->done[i] || b->socket || b->proxy_host)
                    continue;
                index[n] = i;
                t[n++] = (struct net_target){at->plan->v[i].host, at->plan->v[i].port};
            }
            bool *failed = xcalloc(n, sizeof *failed);
            size_t w = 0;
            fd = net_connect_race(t, n, (int)a->connect_race_delay, a->source_ip,
                                  (int)a->timeout * 1000, &w, failed, err);
            for (size_t j = 0; j < n; j++)
                if (failed[j] && (fd < 0 || j != w))
                    endpoint_failed(at, index[j], err, false);
            chosen = index[w];
            free(failed);
            free(t);
            free(index);
            if (fd < 0) {
                if (!err_next_endpoint(err))
                    return -1;
                if (any_left(at))
                    err_print(err);
                continue;
            }
            const struct plan_endpoint *pe = &at->plan->v[chosen];
            a = pe->account;
            su = setup_for(at, a);
            ep = (struct endpoint){pe->host, pe->port, pe->tls, NULL};
            if (session_start(s, fd, &ep, &su->params, err) == 0) {
                at->used = chosen;
                return 0;
            }
        }
        if (!err_next_endpoint(err))
            return -1;
        endpoint_failed(at, chosen, err, true);
    }
    if (at->had_security_error)
        *err = at->security; /* the reason that needs a person's attention */
    return -1;
}

static void attempt_init(struct attempt *at, const struct account_chain *chain,
                         const struct plan *plan)
{
    memset(at, 0, sizeof *at);
    at->plan = plan;
    at->chain = chain;
    at->done = xcalloc(plan->n ? plan->n : 1, sizeof *at->done);
    at->setups = xcalloc(chain->n, sizeof *at->setups);
}

static int attempt_setup(struct attempt *at, struct error *err)
{
    for (size_t k = 0; k < at->chain->n; k++)
        if (deliver_setup_account(at->chain->v[k], &at->setups[k], err) < 0)
            return -1;
    return 0;
}

static void attempt_free(struct attempt *at)
{
    for (size_t k = 0; k < at->chain->n; k++)
        deliver_free_setup(&at->setups[k]);
    free(at->setups);
    free(at->done);
}

static void remember_success(struct attempt *at)
{
    const struct plan_endpoint *ep = &at->plan->v[at->used];
    if (ep->account == at->chain->v[0] && at->plan->n > 1)
        state_remember_endpoint(ep->account->name, ep->host, ep->port);
}

int deliver_open_session(const struct account *a, struct session *s, struct error *err)
{
    struct account *one[1] = {(struct account *)a};
    struct account_chain chain = {one, 1};
    struct plan plan;
    deliver_build_plan(&chain, &plan);
    struct attempt at;
    attempt_init(&at, &chain, &plan);
    int r = attempt_setup(&at, err) < 0 ? -1 : open_next(&at, s, err);
    attempt_free(&at);
    deliver_free_plan(&plan);
    return r;
}

/* ---- sending --------------------------------------------------------------- */

char *deliver_queue_dir(const struct account *a)
{
    return a->queue_dir ? xstrdup(a->queue_dir) : queue_default_dir();
}

/* Recipients whose delivery the server confirmed leave 'env' (whose
 * rcpts array is the caller's copy), so no later attempt sends to them
 * again. */
static void drop_delivered(struct envelope *env, bool *delivered)
{
    size_t out = 0;
    for (size_t i = 0; i < env->nrcpts; i++) {
        if (!delivered[i])
            env->rcpts[out++] = env->rcpts[i];
        delivered[i] = false;
    }
    env->nrcpts = out;
}

int deliver(const struct account_chain *chain, const struct envelope *env,
            const struct spool *msg, struct delivery_outcome *out, struct error *err)
{
    memset(out, 0, sizeof *out);
    out->used = chain->v[0];
    struct plan plan;
    deliver_build_plan(chain, &plan);
    struct attempt at;
    attempt_init(&at, chain, &plan);
    struct session *s = xcalloc(1, sizeof *s);
    struct envelope left = *env; /* the recipients that do not have it yet */
    left.rcpts = xcalloc(env->nrcpts ? env->nrcpts : 1, sizeof *left.rcpts);
    memcpy(left.rcpts, env->rcpts, env->nrcpts * sizeof *left.rcpts);
    bool *delivered = xcalloc(env->nrcpts ? env->nrcpts : 1, sizeof *delivered);
    int r = attempt_setup(&at, err);
    while (r == 0) {
        if ((r = open_next(&at, s, err)) < 0)
            break;
        out->used = plan.v[at.used].account;
        struct progress shown = {0};
        if (msg->size >= PROGRESS_MIN_BYTES)
            progress_begin(&shown, "sending", true, msg->size);
        if (shown.active) {
            s->smtp.on_sent = show_sent;
            s->smtp.on_sent_ctx = &shown;
        }
        r = smtp_send_message(&s->smtp, &left, msg, report_refusal, NULL, delivered, err);
        progress_end(&shown);
        out->final = s->smtp.reply;
        session_close(s);
        if (r == 0) {
            remember_success(&at);
            break;
        }
        drop_delivered(&left, delivered);
        if (!err_next_endpoint(err))
            break;
        endpoint_failed(&at, at.used, err, true);
        if (!any_left(&at))
            break;
        r = 0;
    }
    free(s);
    const struct account *a = chain->v[0];
    if (r < 0 && a->queue && err_queues(err)) {
        char *dir = deliver_queue_dir(a);
        struct error qerr;
        char why[2 * ERR_TEXT_MAX];
        if (!dir)
            err_prefix(err, "could not queue the message (there is no state directory, so "
                            "queue_dir must say where the queue is): ");
        else if (err_text(err, why, sizeof why),
                 queue_store(dir, a->name, &left, msg, a->queue_lifetime, why, out->queue_id,
                             &qerr) == 0) {
            out->queued = true;
            out->queued_because = *err;
            msg_warn("queued as %s in %s (%s); outpost -q delivers it", out->queue_id, dir, why);
            r = 0;
        } else {
            err_prefix(err, "could not queue the message (%s): ", qerr.msg);
        }
        free(dir);
    }
    free(delivered);
    free(left.rcpts);
    attempt_free(&at);
    deliver_free_plan(&plan);
    return r;
}

/* ---- flushing the queue ---------------------------------------------------- */

void deliver_free_chain(struct account_chain *chain)
{
    for (size_t i = 0; i < chain->n; i++)
        account_free(chain->v[i]);
    free(chain->v);
    chain->v = NULL;
    chain->n = 0;
}

struct flush_counts {
    size_t sent, kept, failed, damaged;
    size_t done;               /* entries looked at */
    struct progress progress;  /* over the entries, on a terminal */
};

/* How long an entry may wait: its account's queue_lifetime; for an account
 * that is gone from the configuration, the one it was queued with. */
static int64_t lifetime_of(const struct queue_entry *e, const struct account *a)
{
    if (a)
        return a->queue_lifetime;
    return e->lifetime > 0 ? e->lifetime : ACCOUNT_DEFAULT_QUEUE_LIFETIME;
}

/* A message that could not go this time: keep it, or give up on it when
 * the failure is permanent or it is older than its lifetime. */
static void entry_failed(const char *dir, struct queue_entry *e, const struct account *a,
                         const struct error *why, struct flush_counts *c)
{
    int64_t age = (int64_t)time(NULL) - e->queued;
    int64_t lifetime = lifetime_of(e, a);
    bool expired = age > lifetime;
    struct error moved;
    char text[2 * ERR_TEXT_MAX];
    err_text(why, text, sizeof text);
    if (err_gives_up(why) || expired) {
        char *reason = expired ? xasprintf("in the queue longer than queue_lifetime (%llds); "
                                           "last error: %s", (long long)lifetime, text)
                               : xstrdup(text);
        if (queue_move_to_failed(dir, e, reason, &moved) == 0) {
            msg_error("message %s could not be delivered and was moved to %s/failed: %s", e->id,
                      dir, reason);
            c->failed++;
        }
        free(reason);
    } else {
        queue_note_failure(dir, e, text);
        c->kept++;
    }
    if (a) {
        struct maillog_entry log = {.account = a, .env = &e->env, .err = why,
                                    .note = "queued message kept or failed"};
        maillog_write(&log);
    }
}

/* An entry that is not what was stored goes to quarantine/: said on
 * stderr and in the log of 'a' (its account, or the flusher's). */
static void entry_damaged(const char *dir, const char *id, const struct account *a,
                          const struct error *why, struct flush_counts *c)
{
    struct error qerr;
    if (queue_quarantine(dir, id, why->msg, &qerr) < 0) {
        err_print(&qerr);
        return;
    }
    msg_error("%s; it was moved to %s/" QUEUE_QUARANTINE, why->msg, dir);
    c->damaged++;
    if (a) {
        struct maillog_entry log = {.account = a, .err = why, .note = "moved to quarantine"};
        maillog_write(&log);
    }
}

/* One entry through an open session. The session may break on the way
 * (then s->smtp.broken). */
static void send_entry(const char *dir, struct queue_entry *e, struct session *s,
                       struct attempt *at, const struct account_chain *chain,
                       struct flush_counts *c, struct error *serr)
{
    struct spool sp;
    queue_message(e, &sp);
    bool *delivered = xcalloc(e->env.nrcpts ? e->env.nrcpts : 1, sizeof *delivered);
    const struct account *used = at->plan->v[at->used].account;
    if (smtp_send_message(&s->smtp, &e->env, &sp, report_refusal, NULL, delivered, serr) == 0) {
        struct error rerr;
        if (queue_remove(dir, e, &rerr) < 0)
            err_print(&rerr);
        struct maillog_entry log = {.account = used, .env = &e->env, .size = sp.size,
                                    .smtp_code = s->smtp.reply.code,
                                    .smtp_text = s->smtp.reply.text, .note = "from the queue"};
        maillog_write(&log);
        remember_success(at);
        c->sent++;
    } else {
        /* Those that have it now are not sent it again. */
        bool any = false;
        for (size_t i = 0; i < e->env.nrcpts; i++) {
            any |= delivered[i];
            delivered[i] = !delivered[i];
        }
        struct error kerr;
        if (any && queue_keep_recipients(dir, e, delivered, &kerr) < 0)
            err_print(&kerr);
        entry_failed(dir, e, chain->v[0], serr, c);
    }
    free(delivered);
}

/* Every entry of one account, through as few sessions as possible. */
static void flush_account(const char *dir, const char *name, char **ids, size_t n,
                          account_loader load, void *ctx, struct flush_counts *c)
{
    struct account_chain chain = {0};
    struct error err;
    bool loaded = load(name, ctx, &chain, &err) == 0;
    struct plan plan = {0};
    struct attempt at;
    struct session *s = xcalloc(1, sizeof *s);
    if (loaded) {
        deliver_build_plan(&chain, &plan);
        attempt_init(&at, &chain, &plan);
        if (attempt_setup(&at, &err) < 0)
            loaded = false;
    }
    const struct account *a = loaded ? chain.v[0] : NULL;
    bool open = false;
    /* (the progress is counted in the loop's step: every path ends an entry) */
    for (size_t i = 0; i < n; i++, progress_update(&c->progress, ++c->done)) {
        struct queue_entry e;
        struct error oerr;
        int r = queue_open(dir, ids[i], &e, &oerr);
        if (r == 1)
            continue; /* another flusher has it, or it is gone */
        if (r == 0)
            r = queue_verify(&e, &oerr);
        if (r < 0 && oerr.cls == ERR_MESSAGE)
            entry_damaged(dir, ids[i], a, &oerr, c);
        else if (r < 0)
            entry_failed(dir, &e, a, &oerr, c);
        else if (!loaded)
            entry_failed(dir, &e, NULL, &err, c);
        else if (!open && open_next(&at, s, &err) < 0)
            entry_failed(dir, &e, a, &err, c);
        else {
            open = true;
            struct error serr;
            send_entry(dir, &e, s, &at, &chain, c, &serr);
            if (s->smtp.broken) { /* the session is gone: the next entry reconnects */
                session_close(s);
                open = false;
                endpoint_failed(&at, at.used, &serr, false);
                err = serr;
            }
        }
        queue_close(&e);
    }
    if (open)
        session_close(s);
    free(s);
    if (plan.v) {
        attempt_free(&at);
        deliver_free_plan(&plan);
    }
    deliver_free_chain(&chain);
}

/* Which account each entry belongs to. An entry whose envelope cannot be
 * read is quarantined here, before any session is opened. */
static char *entry_account(const char *dir, const char *id, const struct account *flusher,
                           struct flush_counts *c)
{
    struct queue_entry e;
    struct error err;
    int r = queue_open(dir, id, &e, &err);
    char *name = r == 0 ? xstrdup(e.account) : NULL;
    if (r < 0 && err.cls == ERR_MESSAGE)
        entry_damaged(dir, id, flusher, &err, c);
    if (r != 1)
        queue_close(&e);
    return name;
}

int deliver_flush(const char *dir, account_loader load, void *ctx, struct error *err)
{
    queue_clean_tmp(dir);
    char **ids;
    size_t n;
    if (queue_list_ids(dir, &ids, &n, err) < 0)
        return -1;
    struct flush_counts c = {0};
    /* The flusher's own account logs what belongs to no account. */
    struct account_chain own = {0};
    struct error ignored;
    const struct account *flusher = n && load(NULL, ctx, &own, &ignored) == 0 ? own.v[0] : NULL;
    char **names = xcalloc(n ? n : 1, sizeof *names);
    for (size_t i = 0; i < n; i++)
        names[i] = entry_account(dir, ids[i], flusher, &c);
    if (n > 0)
        progress_begin(&c.progress, "flushing the queue", false, n);
    char **group = xcalloc(n ? n : 1, sizeof *group);
    for (size_t i = 0; i < n; i++) {
        if (!names[i])
            continue;
        size_t g = 0;
        char *name = names[i];
        for (size_t j = i; j < n; j++) {
            if (names[j] && strcmp(names[j], name) == 0) {
                group[g++] = ids[j];
                if (j != i) {
                    free(names[j]);
                    names[j] = NULL;
                }
            }
        }
        flush_account(dir, name, group, g, load, ctx, &c);
        free(names[i]);
        names[i] = NULL;
    }
    progress_end(&c.progress);
    free(group);
    free(names);
    queue_free_ids(ids, n);
    deliver_free_chain(&own);
    if (c.sent + c.kept + c.failed + c.damaged > 0)
        fprintf(stderr, "outpost: queue %s: %zu delivered, %zu kept for later, %zu failed",
                dir, c.sent, c.kept, c.failed);
    if (c.damaged)
        fprintf(stderr, ", %zu damaged (moved to %s/" QUEUE_QUARANTINE ")", c.damaged, dir);
    if (c.sent + c.kept + c.failed + c.damaged > 0)
        fputc('\n', stderr);
    return 0;
}
