#include "config.h"

#include "plan.h"

#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "conf.h"
#include "log.h"
#include "statedir.h"
#include "util.h"

/* ---- the chain ---------------------------------------------------------------- */

/* An account of the loaded configuration, as a private, finished copy,
 * with the command-line settings (or none) on top. */
static struct account *finish_account(const struct account *found,
                                      const struct account_setting *settings, size_t n,
                                      struct error *err)
{
    struct account *a = account_clone(found, NULL);
    if (account_apply_settings(a, settings, n, err) < 0 || account_finish(a, err) < 0) {
        account_free(a);
        return NULL;
    }
    return a;
}

static void chain_add(struct account_chain *chain, struct account *a)
{
    chain->v = xrealloc(chain->v, (chain->n + 1) * sizeof *chain->v);
    chain->v[chain->n++] = a;
}

/* Would failing over from 'first' to 'fb' lower security? */
static const char *lowers_security(const struct account *first, const struct account *fb)
{
    if (first->tls && !fb->tls)
        return "does not use TLS";
    if (first->tls && first->tls_certcheck && !fb->tls_certcheck && !fb->tls_fingerprint)
        return "does not verify the server";
    return NULL;
}

/* The fallback accounts of chain->v[0], in order. Fallbacks of fallbacks
 * are not followed. */
static int add_fallbacks(const struct config *cfg, struct account_chain *chain,
                         struct error *err)
{
    const struct account *first = chain->v[0];
    if (!first->fallback_accounts)
        return 0;
    char *list = xstrdup(first->fallback_accounts);
    int r = 0;
    for (char *save = NULL, *name = strtok_r(list, " \t", &save); name && r == 0;
         name = strtok_r(NULL, " \t", &save)) {
        bool seen = false;
        for (size_t i = 0; i < chain->n; i++)
            seen |= strcmp(chain->v[i]->name, name) == 0;
        if (seen)
            continue;
        const struct account *found = conf_find(cfg, name);
        struct account *fb = NULL;
        const char *lower = NULL;
        if (!found)
            r = err_set(err, ERR_CONFIG, "account '%s': fallback_account '%s' does not exist",
                        first->name, name);
        else if (!(fb = finish_account(found, NULL, 0, err)))
            r = -1;
        else if ((lower = lowers_security(first, fb)))
            r = err_set(err, ERR_CONFIG, "account '%s': fallback_account '%s' %s, so failing over "
                                         "to it would lower security", first->name, name, lower);
        if (r == 0)
            chain_add(chain, fb);
        else
            account_free(fb);
    }
    free(list);
    return r;
}

/* The account a message uses from a loaded configuration. */
static const struct account *find_account(const struct config *cfg, const struct chain_request *req,
                                          struct error *err)
{
    const struct account *found = NULL;
    const char *files = cfg->user_file ? cfg->user_file : cfg->system_file;
    if (!files) {
        char *looked = conf_looked_for();
        err_set(err, ERR_CONFIG, "no configuration file found: looked for %s (create the first, "
                                 "mode 0600; see outpost.conf(5))", looked);
        free(looked);
    } else if (req->name) {
        if (!(found = conf_find(cfg, req->name)))
            err_set(err, ERR_CONFIG, "account '%s' not found in %s", req->name, files);
    } else if (req->from && (found = conf_find_by_from(cfg, req->from))) {
        debug_note("account '%s' chosen by the envelope sender %s", found->name, req->from);
    } else if (!(found = conf_find(cfg, "default"))) {
        err_set(err, ERR_CONFIG, "no account named 'default' in %s (choose one with -a NAME, "
                                 "or add 'account default : NAME')", files);
    }
    return found;
}

int chain_load(const struct chain_request *req, struct account_chain *chain, struct error *err)
{
    memset(chain, 0, sizeof *chain);
    if (req->host_only) {
        struct account *blank = account_new("(command line)");
        struct account *a = finish_account(blank, req->settings, req->nsettings, err);
        account_free(blank);
        if (!a)
            return -1;
        chain_add(chain, a);
        return 0;
    }
    struct config cfg;
    if (conf_load(&cfg, req->config_file, err) < 0) {
        conf_free(&cfg);
        return -1;
    }
    chain->system_only = cfg.system_file && !cfg.user_file;
    const struct account *found = find_account(&cfg, req, err);
    struct account *a = found ? finish_account(found, req->settings, req->nsettings, err) : NULL;
    int r = a ? 0 : -1;
    if (a) {
        chain_add(chain, a);
        r = add_fallbacks(&cfg, chain, err);
    }
    conf_free(&cfg);
    if (r < 0)
        chain_free(chain);
    return r;
}

struct account *chain_load_one(const struct chain_request *req, struct error *err)
{
    struct account_chain chain;
    if (chain_load(req, &chain, err) < 0)
        return NULL;
    struct account *a = chain.v[0];
    chain.v[0] = NULL;
    chain_free(&chain);
    return a;
}

void chain_free(struct account_chain *chain)
{
    for (size_t i = 0; i < chain->n; i++)
        account_free(chain->v[i]);
    free(chain->v);
    chain->v = NULL;
    chain->n = 0;
}

/* ---- the plan ----------------------------------------------------------------- */

static void add_endpoint(struct plan *p, const struct account *a, const char *host, long port)
{
    p->v = xrealloc(p->v, (p->n + 1) * sizeof *p->v);
    p->v[p->n++] = (struct plan_endpoint){a, host, port, account_tls_mode(a, port)};
}

void plan_build(const struct account_chain *chain, struct plan *plan)
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

void plan_free(struct plan *plan)
{
    free(plan->v);
    memset(plan, 0, sizeof *plan);
}

void plan_print_chain(const struct account_chain *chain, FILE *out)
{
    struct plan p;
    const struct plan *plan = &p;
    plan_build(chain, &p);
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
    plan_free(&p);
}

/* ---- an account as session parameters ------------------------------------------ */

void plan_secret_query(const struct account *a, struct secret_query *q)
{
    *q = (struct secret_query){
        .account = a->name,
        .host = a->host,
        .user = a->user,
        .service = a->password_from,
        .password = a->password,
        .password_file = a->password_file,
        .passwordeval = a->passwordeval,
    };
}

static int account_secret(void *ctx, char **out, const char **source, struct error *err)
{
    struct secret_query q;
    plan_secret_query(ctx, &q);
    return secret_get(&q, out, source, err);
}

/* S_TOKEN's token: the account's grant's access token. */
static int account_token(void *ctx, bool force, char **out, bool *fresh, struct error *err)
{
    struct account_setup *su = ctx;
    struct oauth_token_note note;
    int r = oauth_access_token(&su->oauth, force, out, &note, err);
    *fresh = note.refreshed;
    return r;
}

int plan_setup(const struct account *a, struct account_setup *su, struct error *err)
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
    su->pop = (struct pop_params){
        .spec = a->pop_before_smtp,
        .user = a->user,
        .secret = account_secret,
        .secret_ctx = (void *)a,
        .tls = &su->tls,
        .timeout_ms = (int)a->timeout * 1000,
        .source_ip = a->source_ip,
    };
    if (a->oauth2_provider && oauth_client_init(a, &su->oauth, err) < 0) {
        free(su->domain);
        su->domain = NULL;
        return -1;
    }
    su->params = (struct session_params){
        .domain = su->domain,
        .timeout_ms = (int)a->timeout * 1000,
        .race_delay_ms = (int)a->connect_race_delay,
        .source_ip = a->source_ip,
        .proxy_host = a->proxy_host,
        .proxy_port = a->proxy_port ? a->proxy_port : 1080,
        .lmtp = a->protocol == PROTO_LMTP,
        .tls = &su->tls,
        .auth = a->auth ? &su->auth : NULL,
        .pop = a->pop_before_smtp ? &su->pop : NULL,
        .pop_done = &su->pop_done,
        .token = a->oauth2_provider && a->auth ? account_token : NULL,
        .token_ctx = su,
    };
    return 0;
}

void plan_free_setup(struct account_setup *su)
{
    free(su->domain);
    su->domain = NULL;
    oauth_client_free(&su->oauth);
}

/* ---- TLS sessions kept across runs ----------------------------------------------- */

/* The TLS session stored for an endpoint is only offered to the same
 * endpoint with the same verification settings. */
static char *resume_key(const struct plan_endpoint *pe)
{
    const struct account *a = pe->account;
    const char *name = a->tls_host_override ? a->tls_host_override : pe->host;
    return xasprintf("%s %ld %s certcheck=%d trust=%s fingerprint=%s cert=%s priorities=%s",
                     pe->host, pe->port, name, a->tls_certcheck,
                     a->tls_trust_file ? a->tls_trust_file : "-",
                     a->tls_fingerprint ? a->tls_fingerprint : "-",
                     a->tls_cert_file ? a->tls_cert_file : "-",
                     a->tls_priorities ? a->tls_priorities : "-");
}

static bool resumes(const struct plan_endpoint *pe)
{
    return pe->account->tls_resume && !pe->account->socket && pe->tls != TLS_NONE;
}

void plan_endpoint_for(const struct plan_endpoint *pe, bool resume, struct endpoint *ep)
{
    *ep = (struct endpoint){pe->host, pe->port, pe->tls, pe->account->socket, NULL, 0};
    if (resume && resumes(pe)) {
        char *key = resume_key(pe);
        ep->resume_data = state_load_tls_session(key, &ep->resume_len);
        free(key);
    }
}

void plan_endpoint_done(struct endpoint *ep)
{
    if (ep->resume_data) {
        secure_wipe((void *)ep->resume_data, ep->resume_len);
        free((void *)ep->resume_data);
    }
    ep->resume_data = NULL;
    ep->resume_len = 0;
}

/* ---- the attempt ------------------------------------------------------------------ */

int attempt_init(struct attempt *at, const struct account_chain *chain, const struct plan *plan,
                 struct error *err)
{
    memset(at, 0, sizeof *at);
    at->plan = plan;
    at->chain = chain;
    at->done = xcalloc(plan->n ? plan->n : 1, sizeof *at->done);
    at->setups = xcalloc(chain->n, sizeof *at->setups);
    at->candidates = xcalloc(plan->n ? plan->n : 1, sizeof *at->candidates);
    at->index = xcalloc(plan->n ? plan->n : 1, sizeof *at->index);
    for (size_t k = 0; k < chain->n; k++)
        if (plan_setup(chain->v[k], &at->setups[k], err) < 0)
            return -1;
    return 0;
}

static void drop_candidates(struct attempt *at)
{
    for (size_t i = 0; i < at->ncandidates; i++)
        plan_endpoint_done(&at->candidates[i]);
    at->ncandidates = 0;
}

void attempt_free(struct attempt *at)
{
    drop_candidates(at);
    for (size_t k = 0; at->setups && k < at->chain->n; k++)
        plan_free_setup(&at->setups[k]);
    free(at->setups);
    free(at->done);
    free(at->candidates);
    free(at->index);
    memset(at, 0, sizeof *at);
}

static struct account_setup *setup_for(struct attempt *at, const struct account *a)
{
    for (size_t k = 0; k < at->chain->n; k++)
        if (at->chain->v[k] == a)
            return &at->setups[k];
    return NULL;
}

bool attempt_any_left(const struct attempt *at)
{
    for (size_t i = 0; i < at->plan->n; i++)
        if (!at->done[i])
            return true;
    return false;
}

/* Endpoint i is out; 'announce' says so on stderr when another is left. */
static void endpoint_out(struct attempt *at, size_t i, const struct error *e, bool announce)
{
    const struct plan_endpoint *pe = &at->plan->v[i];
    at->done[i] = true;
    if (e->cls == ERR_TLS && !at->had_security_error) {
        at->security = *e;
        at->had_security_error = true;
    }
    if (i == 0 && pe->account == at->chain->v[0] && at->plan->n > 1)
        state_remember_endpoint(pe->account->name, NULL, 0); /* forget it */
    if (announce && attempt_any_left(at)) {
        char line[3 * ERR_TEXT_MAX];
        err_format(e, line, sizeof line);
        msg_warn("%s; trying the next endpoint", line);
    }
}

void attempt_failed(struct attempt *at, const struct error *e, bool announce)
{
    endpoint_out(at, at->used, e, announce);
}

/* The endpoints to race: those left of the first account that has any,
 * all of them when it connects directly, else just the first (no racing
 * through a proxy or to a local socket). A fallback account is tried only
 * once the accounts before it are out. */
static void choose_candidates(struct attempt *at)
{
    drop_candidates(at);
    const struct account *a = NULL;
    for (size_t i = 0; i < at->plan->n; i++) {
        const struct plan_endpoint *pe = &at->plan->v[i];
        if (at->done[i] || (a && pe->account != a))
            continue;
        a = pe->account;
        at->index[at->ncandidates] = i;
        plan_endpoint_for(pe, true, &at->candidates[at->ncandidates++]);
        if (a->socket || a->proxy_host)
            break;
    }
}

int attempt_open(struct attempt *at, struct session *s, struct error *err)
{
    while (attempt_any_left(at)) {
        choose_candidates(at);
        const struct account *a = at->plan->v[at->index[0]].account;
        struct account_setup *su = setup_for(at, a);
        bool *failed = xcalloc(at->ncandidates, sizeof *failed);
        int r = session_open(s, at->candidates, at->ncandidates, &su->params, failed, err);
        /* Candidates that did not connect are out; the one connected to
         * is out too if the session then failed on it. */
        for (size_t j = 0; j < at->ncandidates; j++)
            if (failed[j])
                endpoint_out(at, at->index[j], err, false);
        free(failed);
        if (s->connected)
            at->used = at->index[s->candidate];
        if (r == 0)
            return 0;
        if (!err_next_endpoint(err))
            return -1;
        if (session_failed_at(s) < S_CONNECT) {
            /* The steps before the connection (the OAuth token,
             * POP-before-SMTP) are the account's: none of its endpoints
             * can be used without them. */
            for (size_t i = 0; i < at->plan->n; i++)
                if (at->plan->v[i].account == a && !at->done[i])
                    endpoint_out(at, i, err, false);
        } else if (s->connected && !at->done[at->used]) {
            endpoint_out(at, at->used, err, true);
        } else if (attempt_any_left(at)) {
            err_print(err);
        }
    }
    if (at->had_security_error)
        *err = at->security; /* the reason that needs a person's attention */
    return -1;
}

void attempt_close(struct attempt *at, struct session *s, bool worked)
{
    struct session_ticket ticket = {NULL, 0};
    const struct plan_endpoint *pe = &at->plan->v[at->used];
    session_close(s, resumes(pe) ? &ticket : NULL);
    if (ticket.data) {
        char *key = resume_key(pe);
        state_save_tls_session(key, ticket.data, ticket.len);
        free(key);
        secure_wipe(ticket.data, ticket.len);
        free(ticket.data);
    }
    if (worked && pe->account == at->chain->v[0] && at->plan->n > 1)
        state_remember_endpoint(pe->account->name, pe->host, pe->port);
}

const struct account *attempt_account(const struct attempt *at)
{
    return at->plan->v[at->used].account;
}

int plan_open_session(const struct account *a, struct session *s, struct error *err)
{
    struct account *one[1] = {(struct account *)a};
    struct account_chain chain = {one, 1, false};
    struct plan plan;
    plan_build(&chain, &plan);
    struct attempt at;
    int r = attempt_init(&at, &chain, &plan, err) < 0 ? -1 : attempt_open(&at, s, err);
    attempt_free(&at);
    plan_free(&plan);
    return r;
}
