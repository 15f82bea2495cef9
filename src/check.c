#include "config.h"

#include "check.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "advice.h"
#include "conf.h"
#include "deliver.h"
#include "json.h"
#include "net.h"
#include "relay.h"
#include "smtp.h"
#include "tls.h"
#include "util.h"

/* A certificate that ends sooner than this is worth a warning. */
#define CERT_WARN_DAYS 14

enum verdict { V_OK, V_WARN, V_FAIL, V_INFO };
static const char *const verdict_word[] = {"ok", "warn", "FAIL", "info"};
static const char *const verdict_json[] = {"ok", "warn", "fail", "info"};

/* A step's facts for --json, beyond its line of text. */
enum field_kind { F_STR, F_NUM, F_LIST };
struct field {
    const char *key;
    enum field_kind kind;
    const char *str;      /* F_STR, F_LIST ('sep' apart) */
    long long num;
    char sep;
};

/* --check refreshes an OAuth 2.0 token for real, once per account, and
 * says how it went. */
struct check_token {
    struct account_setup *su; /* the account it is for */
    bool refreshed;           /* asked the provider already */
    struct oauth_token_note note;
};

struct check_run {
    FILE *out;
    bool json;
    struct json j;
    bool all_ok;
    int status;           /* of the first failure */
    size_t accounts;
    struct checked *checked; /* accounts probed so far */
    size_t nchecked;
    struct check_token token;
};

/* An account probed already: another with the same settings ("account
 * default : work") is not probed again. */
struct checked {
    char *name;
    char *settings;       /* settings_key() */
    bool ok;
};

/* What one endpoint came to, for the account's summary. */
struct endpoint_result {
    const struct plan_endpoint *pe;
    bool connected;
    bool ok;
};

/* ---- output ------------------------------------------------------------ */

struct check_run *check_begin(FILE *out, bool json)
{
    struct check_run *run = xcalloc(1, sizeof *run);
    run->out = out;
    run->json = json;
    run->all_ok = true;
    if (json) {
        json_init(&run->j, out);
        json_begin_object(&run->j, NULL);
        json_begin_array(&run->j, "accounts");
    }
    return run;
}

static void step(struct check_run *run, const char *name, enum verdict v, long long ms,
                 const char *detail, const char *fix, const struct field *f, size_t nf)
{
    if (run->json) {
        struct json *j = &run->j;
        json_begin_object(j, NULL);
        json_string(j, "step", name);
        json_string(j, "verdict", verdict_json[v]);
        json_string(j, "detail", detail);
        if (ms >= 0)
            json_number(j, "ms", ms);
        if (fix)
            json_string(j, "fix", fix);
        for (size_t i = 0; i < nf; i++) {
            if (f[i].kind == F_NUM)
                json_number(j, f[i].key, f[i].num);
            else if (f[i].kind == F_LIST)
                json_split(j, f[i].key, f[i].str, f[i].sep);
            else
                json_string(j, f[i].key, f[i].str);
        }
        json_end_object(j);
        return;
    }
    fprintf(run->out, "  %-13s %-4s  %s", name, verdict_word[v], detail);
    if (ms >= 0)
        fprintf(run->out, " (%lld ms)", ms);
    fputc('\n', run->out);
    if (fix)
        fprintf(run->out, "  %-13s %-4s  what to do: %s\n", "", "", fix);
}

/* A failed step: outpost's words and the server's, and the advice for it.
 * Always false, for the caller to return. */
static bool failed(struct check_run *run, const char *name, long long ms, const struct error *e,
                   const struct field *f, size_t nf)
{
    /* e->msg without e->where: the endpoint is in the heading already */
    char detail[2 * ERR_TEXT_MAX + 32];
    if (e->reply[0])
        snprintf(detail, sizeof detail, "%s (server said: %s)", e->msg, e->reply);
    else
        snprintf(detail, sizeof detail, "%s", e->msg);
    char advice[ERR_TEXT_MAX];
    bool has_advice = advice_for(e, advice, sizeof advice);
    step(run, name, V_FAIL, ms, detail, has_advice ? advice : NULL, f, nf);
    return false;
}

/* ---- the steps of one endpoint ----------------------------------------- */

/* 'lines' ('\n' apart) as one line, ", " apart. */
static void joined(const char *lines, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (const char *p = *lines ? lines : "(none)"; *p && o + 3 < cap; p++) {
        if (*p == '\n') {
            out[o++] = ',';
            out[o++] = ' ';
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
}

static void capabilities(struct check_run *run, const char *name, const char *lines)
{
    char text[4096];
    joined(lines, text, sizeof text);
    struct field f = {"capabilities", F_LIST, lines, 0, '\n'};
    step(run, name, V_OK, -1, text, NULL, &f, 1);
}

static void certificate(struct check_run *run, const struct account_setup *su,
                        const struct plan_endpoint *pe, const struct tls_info *t)
{
    const struct tls_cert_info *c = &t->cert;
    long long days = (long long)((c->not_after - time(NULL)) / 86400);
    char until[40];
    tls_format_time(c->not_after, until, sizeof until);
    enum verdict v = V_OK;
    const char *fix = NULL;
    char how[256];
    if (su->tls.fingerprint) {
        snprintf(how, sizeof how, "pinned with tls_fingerprint");
    } else if (su->tls.certcheck) {
        snprintf(how, sizeof how, "trusted, and valid for %s",
                 su->tls.host ? su->tls.host : pe->host);
    } else {
        snprintf(how, sizeof how, "NOT verified (tls_certcheck off)");
        v = V_WARN;
        fix = "anyone on the network path could pose as this server: turn tls_certcheck on "
              "(with tls_trust_file), or pin the certificate with tls_fingerprint";
    }
    if (days < CERT_WARN_DAYS) {
        v = V_WARN;
        fix = su->tls.fingerprint
                  ? "the certificate expires soon: once the server has a new one, the pin in "
                    "tls_fingerprint must change too (outpost --serverinfo shows it)"
                  : "the certificate expires soon: if it is not renewed in time, sending will "
                    "fail; tell the server's administrator";
    }
    char detail[2048];
    snprintf(detail, sizeof detail, "%s; %s; issued by %s; expires %s (in %lld days)",
             c->subject, how, c->issuer, until, days);
    struct field f[] = {
        {"subject", F_STR, c->subject, 0, 0},
        {"issuer", F_STR, c->issuer, 0, 0},
        {"names", F_STR, c->names, 0, 0},
        {"not_after", F_STR, until, 0, 0},
        {"days_left", F_NUM, NULL, days, 0},
        {"sha256", F_STR, c->sha256, 0, 0},
    };
    step(run, "certificate", v, -1, detail, fix, f, ARRAY_LEN(f));
}

static void tls_steps(struct check_run *run, const struct account_setup *su,
                      const struct plan_endpoint *pe, const struct session *s, long long ms)
{
    char detail[512];
    snprintf(detail, sizeof detail, "%s, %s", s->tls_info.protocol, s->tls_info.cipher);
    struct field f[] = {
        {"protocol", F_STR, s->tls_info.protocol, 0, 0},
        {"cipher", F_STR, s->tls_info.cipher, 0, 0},
    };
    step(run, "tls", V_OK, ms, detail, NULL, f, ARRAY_LEN(f));
    certificate(run, su, pe, &s->tls_info);
}

static void auth_step(struct check_run *run, const struct account_setup *su,
                      const struct session *s, long long ms, bool ok, const struct error *e)
{
    const char *user = su->auth.user ? su->auth.user : "";
    struct field f[] = {
        {"mechanism", F_STR, s->auth.mechanism, 0, 0},
        {"user", F_STR, user, 0, 0},
        {"password_source", F_STR, s->auth.source, 0, 0},
    };
    if (!ok) {
        failed(run, "auth", ms, e, f, ARRAY_LEN(f));
        return;
    }
    char detail[512];
    snprintf(detail, sizeof detail, "%s as '%s' accepted; %s%s", s->auth.mechanism, user,
             s->auth.source ? "password from " : "no password needed",
             s->auth.source ? s->auth.source : "");
    step(run, "auth", V_OK, ms, detail, NULL, f, ARRAY_LEN(f));
}

static int check_token(void *ctx, bool force, char **out, bool *fresh, struct error *err)
{
    struct check_token *t = ctx;
    int r = oauth_access_token(&t->su->oauth, force || !t->refreshed, out, &t->note, err);
    t->refreshed = true; /* a failed refresh is not asked again by the next endpoint */
    *fresh = t->note.refreshed;
    return r;
}

static void token_step(struct check_run *run, const struct account_setup *su,
                       const struct session *s, long long ms, bool ok, const struct error *e)
{
    char stored[1024], detail[1400];
    oauth_summary(&su->oauth, stored, sizeof stored);
    struct field f[] = {{"grant", F_STR, stored, 0, 0}};
    if (!ok) {
        failed(run, "token", ms, e, f, ARRAY_LEN(f));
        return;
    }
    snprintf(detail, sizeof detail, "%s; %s",
             s->token_fresh ? "a new access token from the provider" : "the cached access token",
             stored);
    step(run, "token", V_OK, ms, detail, NULL, f, ARRAY_LEN(f));
}

/* One state of the session's trace, as a step of the report. */
static void trace_step(struct check_run *run, const struct account_setup *su,
                       const struct plan_endpoint *pe, const struct session *s,
                       const struct session_step *t, const struct error *e)
{
    const char *name = session_state_name(t->state);
    if (!t->ok && t->state != S_AUTH && t->state != S_TOKEN) {
        failed(run, name, t->ms, e, NULL, 0);
        return;
    }
    char detail[600];
    switch (t->state) {
    case S_TOKEN:
        token_step(run, su, s, t->ms, t->ok, e);
        break;
    case S_POP:
        snprintf(detail, sizeof detail, "logged in to the POP3 server %s",
                 su->account->pop_before_smtp);
        step(run, name, V_OK, t->ms, detail, NULL, NULL, 0);
        break;
    case S_CONNECT:
        step(run, name, V_OK, t->ms, "connected", NULL, NULL, 0);
        break;
    case S_TLS:
        tls_steps(run, su, pe, s, t->ms);
        break;
    case S_GREETING:
        step(run, name, V_OK, t->ms, session_greeting(s), NULL, NULL, 0);
        break;
    case S_EHLO: /* before TLS: shown, not used */
        capabilities(run, name, s->ehlo_before_tls[0] ? s->ehlo_before_tls
                                                      : session_ehlo_lines(s));
        break;
    case S_STARTTLS:
        step(run, name, V_OK, t->ms, "the server is ready for TLS", NULL, NULL, 0);
        break;
    case S_CAPS:
    case S_HELO:
        capabilities(run, "capabilities", session_ehlo_lines(s));
        break;
    case S_AUTH:
        auth_step(run, su, s, t->ms, t->ok, e);
        break;
    case S_READY:
    case S_FAILED:
        break;
    }
}

/* Every state the session went through, in order, ending at the one that
 * failed (if one did), then what was not tried. True when it got all the
 * way. */
static bool session_steps(struct check_run *run, const struct account_setup *su,
                          const struct plan_endpoint *pe, const struct session *s, bool ok,
                          const struct error *e, bool skip_auth)
{
    for (size_t i = 0; i < s->ntrace; i++)
        trace_step(run, su, pe, s, &s->trace[i], e);
    if (!ok)
        return false;
    if (skip_auth) {
        step(run, "auth", V_INFO, -1, "not tried: the server refused this account's password "
                                      "above, and trying it everywhere could lock the account",
             NULL, NULL, 0);
        return false;
    }
    if (!su->params.auth)
        step(run, "auth", V_INFO, -1, "not used ('auth off'): the server must take mail from "
                                      "this machine without a login", NULL, NULL, 0);
    return true;
}

/* The session ends the way a sending one would not: RSET, then QUIT. */
static bool finish_session(struct check_run *run, struct session *s)
{
    struct error e;
    int64_t start = now_ms();
    bool ok = session_rset(s, &e) == 0;
    if (ok)
        step(run, "rset", V_OK, now_ms() - start, session_reply(s)->text, NULL, NULL, 0);
    else
        failed(run, "rset", now_ms() - start, &e, NULL, 0);
    session_close(s, NULL);
    return ok;
}

static void begin_endpoint(struct check_run *run, const struct plan_endpoint *pe, bool show_account)
{
    const struct account *a = pe->account;
    if (run->json) {
        json_begin_object(&run->j, NULL);
        json_string(&run->j, "account", a->name);
        json_string(&run->j, a->socket ? "socket" : "host", a->socket ? a->socket : pe->host);
        if (!a->socket)
            json_number(&run->j, "port", pe->port);
        json_string(&run->j, "tls", tls_mode_name(pe->tls));
        json_begin_array(&run->j, "steps");
        return;
    }
    if (a->socket)
        fprintf(run->out, "\n%s (local socket)", a->socket);
    else
        fprintf(run->out, "\n%s port %ld, %s", pe->host, pe->port, tls_mode_name(pe->tls));
    if (show_account)
        fprintf(run->out, " (account '%s')", a->name);
    fputc('\n', run->out);
}

static void end_endpoint(struct check_run *run, bool ok)
{
    if (run->json) {
        json_end_array(&run->j);
        json_bool(&run->j, "ok", ok);
        json_end_object(&run->j);
    } else {
        fprintf(run->out, "  %-13s %-4s  %s\n", "verdict", ok ? "ok" : "FAIL",
                ok ? "a message can go this way" : "a message cannot go this way");
    }
}

/* The name's addresses: the connection resolves the name again, but this
 * shows what the resolver finds and how long that takes. */
static bool dns_step(struct check_run *run, const struct plan_endpoint *pe, struct error *e)
{
    const struct account *a = pe->account;
    if (a->socket)
        return true;
    if (a->proxy_host) {
        step(run, "dns", V_INFO, -1, "resolved by the SOCKS proxy", NULL, NULL, 0);
        return true;
    }
    char addrs[1024];
    int64_t start = now_ms();
    int r = net_lookup(pe->host, addrs, sizeof addrs, e);
    long long ms = now_ms() - start;
    if (r < 0)
        return failed(run, "dns", ms, e, NULL, 0);
    struct field f = {"addresses", F_LIST, addrs, 0, ','};
    step(run, "dns", V_OK, ms, addrs, NULL, &f, 1);
    return true;
}

/* 'skip_auth': connect, but do not log in (the password was refused). */
static bool probe_endpoint(struct check_run *run, struct account_setup *su,
                           const struct plan_endpoint *pe, bool show_account, bool skip_auth,
                           struct endpoint_result *res, struct error *e)
{
    begin_endpoint(run, pe, show_account);
    res->pe = pe;
    bool ok = dns_step(run, pe, e);
    if (ok) {
        struct session s;
        struct endpoint ep;
        plan_endpoint_for(pe, false, &ep); /* a full handshake: the real certificate */
        struct session_params params = su->params;
        if (skip_auth) {
            params.auth = NULL;
            params.token = NULL;
        }
        if (params.token) {
            if (run->token.su != su)
                run->token = (struct check_token){.su = su};
            params.token = check_token;
            params.token_ctx = &run->token;
        }
        ok = session_open(&s, &ep, 1, &params, NULL, e) == 0;
        res->connected = s.connected;
        bool through = session_steps(run, su, pe, &s, ok, e, skip_auth);
        if (ok)
            through = finish_session(run, &s) && through;
        ok = through;
    }
    res->ok = ok;
    end_endpoint(run, ok);
    return ok;
}

/* ---- one account ----------------------------------------------------- */

/* A port of a host that could not be reached, tried before one that could:
 * each message waits for it first (a port that gets no answer at all is
 * often blocked by the network in between). */
static void port_notes(struct check_run *run, const struct endpoint_result *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (r[i].connected || r[i].pe->account->socket)
            continue;
        for (size_t k = i + 1; k < n; k++) {
            if (!r[k].connected || strcmp(r[k].pe->host, r[i].pe->host) != 0)
                continue;
            char note[600];
            snprintf(note, sizeof note, "%s: port %ld could not be reached, but port %ld "
                                        "could, so the server is there: list %ld first in "
                                        "'port'", r[i].pe->host, r[i].pe->port, r[k].pe->port,
                     r[k].pe->port);
            if (run->json)
                json_string(&run->j, NULL, note);
            else
                fprintf(run->out, "note: %s\n", note);
            break;
        }
    }
}

/* The account's queue, when it has one: how many wait, how many waited
 * longer than queue_warn, how many were given up. */
static void queue_state(struct check_run *run, const struct account *a)
{
    char *dir = a->queue ? deliver_queue_dir(a) : NULL;
    struct queue_health h;
    struct error err;
    int64_t warn = account_was_set(a, "queue_warn") ? a->queue_warn : 0;
    if (!dir || queue_health_of(dir, warn, &h, &err) < 0) {
        free(dir);
        return;
    }
    if (run->json) {
        json_begin_object(&run->j, "queue");
        json_string(&run->j, "dir", dir);
        json_number(&run->j, "waiting", (long)h.waiting);
        json_number(&run->j, "late", (long)h.late);
        json_number(&run->j, "failed", (long)h.failed);
        json_end_object(&run->j);
    } else {
        fprintf(run->out, "queue %s: %zu waiting", dir, h.waiting);
        if (warn > 0)
            fprintf(run->out, ", %zu longer than queue_warn", h.late);
        fprintf(run->out, ", %zu given up (failed/)%s\n", h.failed,
                h.failed ? ": see mailq" : "");
    }
    free(dir);
}

static void summary(struct check_run *run, const struct account *a,
                    const struct endpoint_result *r, size_t n, const struct error *first)
{
    const struct plan_endpoint *next = NULL;
    for (size_t i = 0; i < n && !next; i++)
        if (r[i].ok)
            next = r[i].pe;
    if (run->json) {
        json_end_array(&run->j); /* endpoints */
        json_begin_array(&run->j, "notes");
        port_notes(run, r, n);
        json_end_array(&run->j);
        queue_state(run, a);
        json_bool(&run->j, "ok", next != NULL);
        if (next) {
            json_begin_object(&run->j, "next");
            json_string(&run->j, "account", next->account->name);
            json_string(&run->j, "host", next->account->socket ? next->account->socket : next->host);
            json_number(&run->j, "port", next->port);
            json_string(&run->j, "tls", tls_mode_name(next->tls));
            json_end_object(&run->j);
        } else {
            json_string(&run->j, "next", NULL);
        }
        json_end_object(&run->j); /* the account */
        return;
    }
    fputc('\n', run->out);
    port_notes(run, r, n);
    queue_state(run, a);
    if (next && next->account->socket)
        fprintf(run->out, "summary: account '%s' can send: the next message would go to %s\n",
                a->name, next->account->socket);
    else if (next)
        fprintf(run->out, "summary: account '%s' can send: the next message would go to %s "
                          "port %ld (%s%s%s)\n",
                a->name, next->host, next->port, tls_mode_name(next->tls),
                next->account != a ? ", account " : "",
                next->account != a ? next->account->name : "");
    else
        fprintf(run->out, "summary: account '%s' cannot send: no endpoint works (the first "
                          "failure: %s)\n", a->name, first->msg);
}

static void begin_account(struct check_run *run, const struct account *a, size_t endpoints)
{
    run->accounts++;
    if (run->json) {
        json_begin_object(&run->j, NULL);
        json_string(&run->j, "account", a->name);
        json_begin_array(&run->j, "endpoints");
        return;
    }
    fprintf(run->out, "%saccount '%s' ", run->accounts > 1 ? "\n" : "", a->name);
    if (a->conffile)
        fprintf(run->out, "(%s, line %u): ", a->conffile, a->line);
    else
        fprintf(run->out, "(from the command line): ");
    fprintf(run->out, "%zu endpoint%s\n", endpoints,
            endpoints == 1 ? "" : "s, in the order they are tried");
}

static void account_failed(struct check_run *run, const struct error *e)
{
    if (run->all_ok)
        run->status = err_exit_code(e->cls);
    run->all_ok = false;
}

/* What decides how a check of the chain goes: every setting of its
 * accounts that affects a session (account.c's table says which). It may
 * hold a password: wiped when freed. */
static char *settings_key(const struct account_chain *chain)
{
    struct strbuf sb;
    sb_init(&sb);
    for (size_t k = 0; k < chain->n; k++) {
        char *one = account_session_key(chain->v[k]);
        sb_puts(&sb, one);
        sb_puts(&sb, "\036");
        secure_free(one);
    }
    return sb_steal(&sb);
}

/* True (and said) when an account with the same settings was probed. */
static bool checked_already(struct check_run *run, const struct account *a, const char *key,
                            bool *ok)
{
    for (size_t i = 0; i < run->nchecked; i++) {
        if (strcmp(run->checked[i].settings, key) != 0)
            continue;
        *ok = run->checked[i].ok;
        run->accounts++;
        if (run->json) {
            json_begin_object(&run->j, NULL);
            json_string(&run->j, "account", a->name);
            json_string(&run->j, "same_as", run->checked[i].name);
            json_bool(&run->j, "ok", *ok);
            json_end_object(&run->j);
        } else {
            fprintf(run->out, "\naccount '%s': the same server, user and settings as account "
                              "'%s' (above): not probed again\n", a->name, run->checked[i].name);
        }
        return true;
    }
    return false;
}

static void remember_checked(struct check_run *run, const struct account *a, char *key, bool ok)
{
    run->checked = xrealloc(run->checked, (run->nchecked + 1) * sizeof *run->checked);
    run->checked[run->nchecked++] = (struct checked){xstrdup(a->name), key, ok};
}

/* Everything session_open needs, for each account of the chain, set for
 * a check: a bounded wait for a connection. */
static int setup_chain(const struct account_chain *chain, struct account_setup *su,
                       struct error *e)
{
    for (size_t k = 0; k < chain->n; k++) {
        if (plan_setup(chain->v[k], &su[k], e) < 0) {
            while (k-- > 0)
                plan_free_setup(&su[k]);
            return -1;
        }
        struct session_params *p = &su[k].params;
        p->connect_timeout_ms = p->timeout_ms > 0 && p->timeout_ms < CHECK_CONNECT_TIMEOUT_S * 1000
                                    ? p->timeout_ms
                                    : CHECK_CONNECT_TIMEOUT_S * 1000;
    }
    return 0;
}

static bool probe_account(struct check_run *run, const struct account_chain *chain);

bool check_account(struct check_run *run, const struct account_chain *chain)
{
    char *key = settings_key(chain);
    bool ok;
    if (checked_already(run, chain->v[0], key, &ok)) {
        secure_free(key);
        return ok; /* counted once, with the account probed */
    }
    ok = probe_account(run, chain);
    remember_checked(run, chain->v[0], key, ok);
    return ok;
}

static bool probe_account(struct check_run *run, const struct account_chain *chain)
{
    struct account_setup *su = xcalloc(chain->n, sizeof *su);
    struct error e, first;
    err_clear(&first);
    if (setup_chain(chain, su, &e) < 0) {
        free(su);
        check_account_error(run, chain->v[0]->name, &e);
        return false;
    }
    struct plan plan;
    plan_build(chain, &plan);
    begin_account(run, chain->v[0], plan.n);
    struct endpoint_result *res = xcalloc(plan.n ? plan.n : 1, sizeof *res);
    bool *refused = xcalloc(chain->n, sizeof *refused); /* the account's password */
    bool any = false;
    for (size_t i = 0; i < plan.n; i++) {
        size_t k = 0;
        while (chain->v[k] != plan.v[i].account)
            k++;
        err_clear(&e);
        bool ok = probe_endpoint(run, &su[k], &plan.v[i], chain->n > 1, refused[k], &res[i], &e);
        any |= ok;
        if (!ok && !first.cls)
            first = e;
        if (e.cls == ERR_AUTH)
            refused[k] = true;
    }
    free(refused);
    summary(run, chain->v[0], res, plan.n, &first);
    if (!any)
        account_failed(run, &first);
    for (size_t k = 0; k < chain->n; k++)
        plan_free_setup(&su[k]);
    free(su);
    free(res);
    plan_free(&plan);
    return any;
}

/* --all: the names of every account in the configuration (allocated). */
static int check_account_names(const char *config_file, char ***names, size_t *n,
                               struct error *err)
{
    struct config cfg;
    *names = NULL;
    *n = 0;
    int r = conf_load(&cfg, config_file, err);
    if (r == 0 && cfg.n == 0)
        r = err_set(err, ERR_CONFIG, "no accounts in the configuration");
    if (r == 0) {
        *n = cfg.n;
        *names = xcalloc(cfg.n, sizeof **names);
        for (size_t i = 0; i < cfg.n; i++)
            (*names)[i] = xstrdup(cfg.accounts[i]->name);
    }
    conf_free(&cfg);
    return r;
}

void check_account_error(struct check_run *run, const char *name, const struct error *e)
{
    run->accounts++;
    if (run->json) {
        json_begin_object(&run->j, NULL);
        json_string(&run->j, "account", name);
        json_begin_array(&run->j, "endpoints");
        json_end_array(&run->j);
        json_string(&run->j, "error", e->msg);
        json_bool(&run->j, "ok", false);
        json_end_object(&run->j);
    } else {
        fprintf(run->out, "%saccount '%s': cannot be used: %s\n", run->accounts > 1 ? "\n" : "",
                name ? name : "(default)", e->msg);
    }
    account_failed(run, e);
}

int check_end(struct check_run *run)
{
    int status = run->all_ok ? 0 : run->status;
    if (run->json) {
        json_end_array(&run->j);
        json_bool(&run->j, "ok", run->all_ok);
        json_end_object(&run->j);
    }
    fflush(run->out);
    for (size_t i = 0; i < run->nchecked; i++) {
        free(run->checked[i].name);
        secure_free(run->checked[i].settings);
    }
    free(run->checked);
    free(run);
    return status;
}

int check_accounts(const struct chain_request *base, bool all, bool json, FILE *out)
{
    struct error err;
    struct check_run *run = check_begin(out, json);
    char **names = NULL;
    size_t n = 1;
    if (all && check_account_names(base->config_file, &names, &n, &err) < 0)
        check_account_error(run, NULL, &err);
    for (size_t i = 0; i < n; i++) {
        struct chain_request req = *base;
        if (names)
            req.name = names[i];
        struct account_chain chain;
        /* a user of the system relay checks the relay: the way their mail
         * goes, not the secret they cannot read */
        if (chain_load(&req, &chain, &err) < 0) {
            check_account_error(run, req.name, &err);
            continue;
        }
        if (!req.host_only && relay_serves(&chain) && relay_route(&chain, &err) < 0) {
            check_account_error(run, req.name, &err);
            chain_free(&chain);
            continue;
        }
        check_account(run, &chain);
        chain_free(&chain);
    }
    for (size_t i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
    return check_end(run);
}
