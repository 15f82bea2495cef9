#include "config.h"

#include "oauth.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "log.h"
#include "tokenreply.h"
#include "util.h"

/* ---- the providers ------------------------------------------------------------- */

/* Endpoints and scopes only: no client id of anybody's is built in. "{t}"
 * stands for oauth2_tenant. */
static const struct preset {
    const char *name;
    const char *auth_url, *token_url, *device_url;
    const char *scope;
    const char *auth_params;
} presets[] = {
    {"microsoft", "https://login.microsoftonline.com/{t}/oauth2/v2.0/authorize",
     "https://login.microsoftonline.com/{t}/oauth2/v2.0/token",
     "https://login.microsoftonline.com/{t}/oauth2/v2.0/devicecode",
     "https://outlook.office.com/SMTP.Send offline_access", NULL},
    /* Google gives a refresh token only when asked for offline access, and
     * again only with a new consent. */
    {"google", "https://accounts.google.com/o/oauth2/v2/auth", "https://oauth2.googleapis.com/token",
     "https://oauth2.googleapis.com/device/code", "https://mail.google.com/",
     "access_type=offline&prompt=consent"},
    {"custom", NULL, NULL, NULL, NULL, NULL},
};

bool oauth_is_provider(const char *name)
{
    for (size_t i = 0; i < ARRAY_LEN(presets); i++)
        if (strcmp(presets[i].name, name) == 0)
            return true;
    return false;
}

static const struct preset *find_preset(const char *name)
{
    for (size_t i = 0; i < ARRAY_LEN(presets); i++)
        if (strcmp(presets[i].name, name) == 0)
            return &presets[i];
    return NULL;
}

/* The preset's URL with the tenant put in, or the configured one. */
static char *endpoint(const char *configured, const char *preset, const char *tenant)
{
    if (configured)
        return xstrdup(configured);
    if (!preset)
        return NULL;
    const char *at = strstr(preset, "{t}");
    if (!at)
        return xstrdup(preset);
    return xasprintf("%.*s%s%s", (int)(at - preset), preset, tenant, at + 3);
}

/* A tenant goes into a URL path: a GUID, a domain, or common,
 * organizations, consumers. */
static bool tenant_ok(const char *t)
{
    if (!*t || strlen(t) > 253)
        return false;
    for (; *t; t++)
        if (!((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') || (*t >= '0' && *t <= '9') ||
              *t == '-' || *t == '.'))
            return false;
    return true;
}

int oauth_client_init(const struct account *a, struct oauth_client *c, struct error *err)
{
    memset(c, 0, sizeof *c);
#ifndef HAVE_OAUTH2
    return err_raise(err, ERR_CONFIG, R_OAUTH_UNAVAILABLE,
                     "account '%s' has oauth2_provider, and this build of outpost has no OAuth "
                     "2.0 (configured without libcurl and jansson)", a->name);
#endif
    c->account = a->name;
    c->provider = a->oauth2_provider;
    const struct preset *p = find_preset(a->oauth2_provider);
    const char *tenant = a->oauth2_tenant ? a->oauth2_tenant : "common";
    if (!p)
        return err_set(err, ERR_CONFIG, "account '%s': oauth2_provider must be microsoft, google or "
                                        "custom", a->name);
    if (!tenant_ok(tenant))
        return err_set(err, ERR_CONFIG, "account '%s': oauth2_tenant '%s' is not a tenant id or "
                                        "domain", a->name, tenant);
    c->auth_url = endpoint(a->oauth2_auth_url, p->auth_url, tenant);
    c->token_url = endpoint(a->oauth2_token_url, p->token_url, tenant);
    c->device_url = endpoint(a->oauth2_device_url, p->device_url, tenant);
    c->scope = a->oauth2_scope ? xstrdup(a->oauth2_scope) : p->scope ? xstrdup(p->scope) : NULL;
    c->auth_params = p->auth_params;
    c->client_id = a->oauth2_client_id;
    c->client_secret = a->oauth2_client_secret;
    c->user = a->user;
    c->trust_file = a->tls_trust_file;
    c->proxy = a->proxy_host ? xasprintf("socks5h://%s:%ld", a->proxy_host,
                                         a->proxy_port ? a->proxy_port : 1080)
                             : NULL;
    c->timeout_s = a->timeout > 0 ? a->timeout : 60;
    c->store = (enum grant_store)a->oauth2_token_store;
    const char *missing = !c->client_id ? "oauth2_client_id"
                          : !c->user    ? "user"
                          : !c->token_url ? "oauth2_token_url"
                          : !c->auth_url && !c->device_url ? "oauth2_auth_url or oauth2_device_url"
                                                             : NULL;
    if (missing) {
        oauth_client_free(c);
        return err_set(err, ERR_CONFIG, "account '%s': OAuth 2.0 (oauth2_provider %s) needs %s",
                       a->name, a->oauth2_provider, missing);
    }
    return 0;
}

void oauth_client_free(struct oauth_client *c)
{
    free(c->auth_url);
    free(c->token_url);
    free(c->device_url);
    free(c->scope);
    free(c->proxy);
    memset(c, 0, sizeof *c);
}

struct grant_key oauth_grant_key(const struct oauth_client *c)
{
    return (struct grant_key){c->token_url, c->client_id, c->user};
}

/* ---- the token endpoint ------------------------------------------------------------ */

/* How each error a provider can give is taken (RFC 6749 5.2 and 4.1.2.1,
 * RFC 8628 3.5, and what Microsoft's endpoint adds). Unknown codes are
 * the provider refusing our request: a configuration matter. */
static const struct {
    const char *code;
    enum err_class cls;
    enum err_reason reason;
    const char *meaning;
} provider_errors[] = {
    {"temporarily_unavailable", ERR_TEMPORARY, R_OAUTH_PROVIDER, "the provider is busy"},
    {"server_error", ERR_TEMPORARY, R_OAUTH_PROVIDER, "the provider failed"},
    {"invalid_grant", ERR_REAUTHORIZE, R_OAUTH_GRANT_REFUSED,
     "the grant was revoked, has expired, or the consent was withdrawn"},
    {"interaction_required", ERR_REAUTHORIZE, R_OAUTH_GRANT_REFUSED,
     "the provider wants the user to sign in again"},
    {"consent_required", ERR_REAUTHORIZE, R_OAUTH_GRANT_REFUSED, "the consent is missing"},
    {"login_required", ERR_REAUTHORIZE, R_OAUTH_GRANT_REFUSED,
     "the provider wants the user to sign in again"},
    {"access_denied", ERR_REAUTHORIZE, R_OAUTH_DENIED, "the authorization was refused"},
    {"expired_token", ERR_REAUTHORIZE, R_OAUTH_DENIED, "the code expired before it was entered"},
    {"invalid_client", ERR_CONFIG, R_OAUTH_CLIENT, "the provider does not know this client"},
    {"unauthorized_client", ERR_CONFIG, R_OAUTH_CLIENT,
     "this client may not use this kind of grant"},
    {"invalid_scope", ERR_CONFIG, R_OAUTH_SCOPE, "the scope is not one the provider grants"},
};

/* The error of a reply that has one, classed. */
static int provider_refused(const struct oauth_client *c, const char *url,
                            const struct token_reply *r, long status, struct error *err)
{
    enum err_class cls = ERR_CONFIG;
    enum err_reason reason = R_OAUTH_REFUSED;
    const char *meaning = "the provider refused the request";
    for (size_t i = 0; i < ARRAY_LEN(provider_errors); i++) {
        if (strcmp(r->error, provider_errors[i].code) == 0) {
            cls = provider_errors[i].cls;
            reason = provider_errors[i].reason;
            meaning = provider_errors[i].meaning;
            break;
        }
    }
    if (status >= 500 || status == 429) { /* whatever it says, it is having trouble */
        cls = ERR_TEMPORARY;
        reason = R_OAUTH_PROVIDER;
    }
    err_raise(err, cls, reason, "account '%s': %s: %s (HTTP %ld, %s%s%s)%s%s", c->account, url,
              meaning, status, r->error, r->error_description ? ": " : "",
              r->error_description ? r->error_description : "",
              cls == ERR_REAUTHORIZE ? "; run outpost --authorize -a " : "",
              cls == ERR_REAUTHORIZE ? c->account : "");
    snprintf(err->value, sizeof err->value, "%s", c->account);
    return -1;
}

/* POST a form (the client's fields added) to one of the provider's
 * endpoints and read the reply of 'kind'. */
static int post_form(const struct oauth_client *c, const char *url, const char *what,
                     const char *form, enum token_reply_kind kind, struct token_reply *out,
                     struct error *err)
{
    memset(out, 0, sizeof *out);
    struct strbuf body;
    sb_init(&body);
    sb_puts(&body, form ? form : "");
    http_form_append(&body, "client_id", c->client_id);
    if (c->client_secret)
        http_form_append(&body, "client_secret", c->client_secret);
    struct http_request rq = {url, body.data, c->trust_file, c->proxy, c->timeout_s};
    struct http_response rs;
    int r = http_request(&rq, &rs, err);
    secure_wipe(body.data, body.len);
    sb_free(&body);
    if (r < 0) {
        err_prefix(err, "account '%s': the %s: ", c->account, what);
        return -1;
    }
    r = token_reply_parse(rs.body.data ? rs.body.data : "", rs.body.len, kind, out, err);
    if (r < 0) {
        if (rs.status >= 500 || rs.status == 429 || err->reason == R_OAUTH_BAD_REPLY) {
            /* a provider in trouble, or a portal in the way: it passes */
            err->cls = ERR_TEMPORARY;
            if (rs.status >= 500 || rs.status == 429)
                err->reason = R_OAUTH_PROVIDER;
        }
        err_prefix(err, "account '%s': the %s (HTTP %ld): ", c->account, what, rs.status);
    } else if (out->error) {
        r = provider_refused(c, url, out, rs.status, err);
    } else if (rs.status < 200 || rs.status > 299) {
        token_reply_free(out);
        r = err_raise(err, rs.status >= 500 ? ERR_TEMPORARY : ERR_CONFIG,
                      rs.status >= 500 ? R_OAUTH_PROVIDER : R_OAUTH_REFUSED,
                      "account '%s': the %s answered HTTP %ld", c->account, what, rs.status);
    }
    http_response_free(&rs);
    return r;
}

int oauth_token_request(const struct oauth_client *c, const char *form, struct token_reply *out,
                        struct error *err)
{
    return post_form(c, c->token_url, "token endpoint", form, REPLY_TOKEN, out, err);
}

int oauth_device_request(const struct oauth_client *c, struct token_reply *out, struct error *err)
{
    struct strbuf form;
    sb_init(&form);
    sb_puts(&form, "");
    if (c->scope)
        http_form_append(&form, "scope", c->scope);
    /* (post_form adds the client's id and, when it has one, its secret:
     * Google's device endpoint wants the secret too) */
    int r = post_form(c, c->device_url, "device authorization endpoint", form.data, REPLY_DEVICE,
                      out, err);
    sb_free(&form);
    return r;
}

int oauth_store_reply(const struct oauth_client *c, struct grant *g,
                      const struct token_reply *reply, int64_t now, bool authorized,
                      struct error *err)
{
    secure_free(g->access_token);
    g->access_token = xstrdup(reply->access_token);
    if (reply->refresh_token) { /* rotated (or the first): the old one may be dead now */
        secure_free(g->refresh_token);
        g->refresh_token = xstrdup(reply->refresh_token);
    }
    if (reply->scope) {
        free(g->scope);
        g->scope = xstrdup(reply->scope);
    } else if (!g->scope && c->scope) {
        g->scope = xstrdup(c->scope);
    }
    /* RFC 6749 5.1 lets expires_in out; an hour is what providers give */
    g->expires = now + (reply->expires_in >= 0 ? reply->expires_in : 3600);
    if (authorized)
        g->authorized = now;
    else
        g->refreshed = now;
    free(g->refused);
    g->refused = NULL;
    g->refused_at = 0;
    return grant_save(g, c->store, err);
}

/* ---- the access token ----------------------------------------------------------------- */

static bool fresh_enough(const struct grant *g, int64_t now)
{
    return g->access_token && g->expires - now > OAUTH_REFRESH_MARGIN;
}

/* A refresh that failed is not asked again within this much time in the
 * same run: each endpoint of a plan would ask once more, and the answer
 * (down, busy, refused) would not change. */
#define FAILURE_MEMORY_MS 30000

static struct {
    char *key;
    struct error err;
    int64_t at;
} last_failure;

static char *key_text(const struct oauth_client *c)
{
    return xasprintf("%s\n%s\n%s", c->token_url, c->client_id, c->user);
}

static bool failed_recently(const struct oauth_client *c, struct error *err)
{
    if (!last_failure.key || now_ms() - last_failure.at > FAILURE_MEMORY_MS)
        return false;
    char *key = key_text(c);
    bool same = strcmp(key, last_failure.key) == 0;
    free(key);
    if (same)
        *err = last_failure.err;
    return same;
}

static void remember_failure(const struct oauth_client *c, const struct error *err)
{
    free(last_failure.key);
    last_failure.key = key_text(c);
    last_failure.err = *err;
    last_failure.at = now_ms();
}

static int not_authorized(const struct oauth_client *c, const char *why, struct error *err)
{
    err_raise(err, ERR_REAUTHORIZE, R_OAUTH_NOT_AUTHORIZED,
              "account '%s': %s; run outpost --authorize -a %s", c->account, why, c->account);
    snprintf(err->value, sizeof err->value, "%s", c->account);
    return -1;
}

/* Under the lock: the grant as stored now, refreshed if it must be. */
static int refresh_locked(const struct oauth_client *c, bool force, struct grant *g,
                          struct oauth_token_note *note, struct error *err)
{
    struct grant_key k = oauth_grant_key(c);
    int64_t now = time(NULL);
    if (grant_load(&k, c->store, g) != 1)
        return not_authorized(c, "no OAuth 2.0 grant is stored for it (never authorized, or "
                                 "forgotten)", err);
    if (!force && fresh_enough(g, now)) /* another outpost refreshed it meanwhile */
        return 0;
    if (!g->refresh_token)
        return not_authorized(c, "the stored grant has no refresh token, and its access token "
                                 "has ended", err);
    struct strbuf form;
    sb_init(&form);
    http_form_append(&form, "grant_type", "refresh_token");
    http_form_append(&form, "refresh_token", g->refresh_token);
    if (c->scope)
        http_form_append(&form, "scope", c->scope);
    struct token_reply reply;
    int r = oauth_token_request(c, form.data, &reply, err);
    secure_wipe(form.data, form.len);
    sb_free(&form);
    if (r < 0) {
        if (err->cls == ERR_REAUTHORIZE && reply.error) {
            /* kept, never thrown away: the provider may think better of
             * it, and --check shows what was said */
            free(g->refused);
            g->refused = xstrdup(reply.error);
            g->refused_at = now;
            struct error ignored;
            grant_save(g, c->store, &ignored);
        }
        token_reply_free(&reply);
        return -1;
    }
    struct error serr;
    bool rotated = reply.refresh_token != NULL;
    if (oauth_store_reply(c, g, &reply, now, false, &serr) < 0) {
        char line[2 * ERR_TEXT_MAX];
        err_format(&serr, line, sizeof line);
        msg_warn("account '%s': the refreshed OAuth 2.0 tokens could not be kept (%s)%s", c->account,
                 line, rotated ? "; the provider replaced the refresh token, so the next run may "
                                 "need outpost --authorize"
                               : "");
    }
    token_reply_free(&reply);
    note->refreshed = true;
    return 0;
}

int oauth_access_token(const struct oauth_client *c, bool force, char **token,
                       struct oauth_token_note *note, struct error *err)
{
    *token = NULL;
    memset(note, 0, sizeof *note);
    if (failed_recently(c, err))
        return -1;
    struct grant_key k = oauth_grant_key(c);
    struct grant g = {0};
    /* The common case, a cached token good for a while, needs no lock. */
    if (!force && grant_load(&k, c->store, &g) == 1 && fresh_enough(&g, time(NULL))) {
        *token = xstrdup(g.access_token);
        note->expires = g.expires;
        grant_free(&g);
        debug_note("OAuth 2.0: the cached access token is good for %ld more minutes",
                   (long)((note->expires - time(NULL)) / 60));
        return 0;
    }
    if (g.token_url)
        grant_free(&g);
    struct error lerr;
    int lock = grant_lock(&k, &lerr);
    if (lock < 0 && lerr.cls == ERR_TEMPORARY) { /* another outpost is stuck refreshing */
        *err = lerr;
        err_prefix(err, "account '%s': ", c->account);
        return -1;
    }
    if (lock < 0)
        debug_note("OAuth 2.0: refreshing without a lock: %s", lerr.msg);
    int r = refresh_locked(c, force, &g, note, err);
    if (lock >= 0)
        close(lock);
    if (r == 0) {
        *token = xstrdup(g.access_token);
        note->expires = g.expires;
        debug_note("OAuth 2.0: %s access token, good for %ld minutes",
                   note->refreshed ? "a new" : "another outpost's new",
                   (long)((g.expires - time(NULL)) / 60));
    } else if (!force) { /* (a forced refresh is asked for after a refusal: not remembered) */
        remember_failure(c, err);
    }
    grant_free(&g);
    return r;
}

/* ---- --forget-password, --check -------------------------------------------------------- */

int oauth_forget(const struct oauth_client *c, struct error *err)
{
    struct grant_key k = oauth_grant_key(c);
    int r = grant_forget(&k, err);
    if (r < 0)
        return -1;
    if (r == 1)
        return err_set(err, ERR_CONFIG, "account '%s': no OAuth 2.0 grant is stored for %s",
                       c->account, c->user);
    printf("outpost: the OAuth 2.0 grant of account '%s' (%s) was removed; outpost --authorize "
           "-a %s makes a new one\n", c->account, c->user, c->account);
    return 0;
}

static void when(char *buf, size_t cap, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!t || !localtime_r(&tt, &tm) || strftime(buf, cap, "%Y-%m-%d %H:%M", &tm) == 0)
        snprintf(buf, cap, "never");
}

void oauth_summary(const struct oauth_client *c, char *out, size_t cap)
{
    struct grant_key k = oauth_grant_key(c);
    struct grant g;
    if (grant_load(&k, c->store, &g) != 1) {
        snprintf(out, cap, "no grant stored");
        return;
    }
    char place[512], a[32], r[32], refused[128] = "";
    int64_t now = time(NULL);
    when(a, sizeof a, g.authorized);
    when(r, sizeof r, g.refreshed);
    if (g.refused) {
        char t[32];
        when(t, sizeof t, g.refused_at);
        snprintf(refused, sizeof refused, "; the provider refused it at %s (%s)", t, g.refused);
    }
    char good[64];
    if (g.access_token && g.expires > now)
        snprintf(good, sizeof good, "good for %ld more minutes", (long)((g.expires - now) / 60));
    else
        snprintf(good, sizeof good, "ended");
    snprintf(out, cap, "grant in %s; scopes: %s; authorized %s, last refreshed %s; %s refresh "
                       "token; access token %s%s",
             grant_place(&g, place, sizeof place), g.scope ? g.scope : "(not said)", a, r,
             g.refresh_token ? "a" : "no", good, refused);
    grant_free(&g);
}
