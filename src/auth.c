#include "config.h"

#include "auth.h"

#include <stdlib.h>
#include <string.h>

#ifdef HAVE_GSASL
#include <gsasl.h>
#endif

#include "libload.h"

#include "base64.h"
#include "log.h"
#include "tls.h"
#include "util.h"

enum backend { BUILTIN, GSASL };

/* The longest command line, CRLF included (RFC 5321 4.5.3.1.4). */
#define SMTP_LINE_MAX 512

/* Every mechanism, in the order 'auth on' prefers them (rank 0: only when
 * named). PLAIN comes before CRAM-MD5 because under TLS it lets the server
 * keep only a hash of the password; without TLS it is never chosen. */
static const struct mechanism {
    const char *name;
    enum backend backend;
    int rank;
    bool cleartext;    /* the password crosses the wire readable */
    bool secret;       /* needs a password or token */
    bool client_first; /* sends an initial response with AUTH */
    bool plus;         /* needs TLS channel binding */
} mechanisms[] = {
    {"EXTERNAL", BUILTIN, 1, false, false, true, false},
    {"SCRAM-SHA-256-PLUS", GSASL, 2, false, true, true, true},
    {"SCRAM-SHA-1-PLUS", GSASL, 3, false, true, true, true},
    {"SCRAM-SHA-256", GSASL, 4, false, true, true, false},
    {"SCRAM-SHA-1", GSASL, 5, false, true, true, false},
    {"PLAIN", BUILTIN, 6, true, true, true, false},
    {"CRAM-MD5", GSASL, 7, false, true, false, false},
    {"DIGEST-MD5", GSASL, 8, false, true, false, false},
    {"LOGIN", BUILTIN, 9, true, true, false, false},
    {"NTLM", GSASL, 10, false, true, true, false},
    {"GSSAPI", GSASL, 0, false, false, true, false},
    {"XOAUTH2", BUILTIN, 0, true, true, true, false},
    {"OAUTHBEARER", BUILTIN, 0, true, true, true, false},
};

static const struct mechanism *find_mechanism(const char *name)
{
    for (size_t i = 0; i < ARRAY_LEN(mechanisms); i++)
        if (strcmp(mechanisms[i].name, name) == 0)
            return &mechanisms[i];
    return NULL;
}

bool auth_is_mechanism(const char *name)
{
    return find_mechanism(name) != NULL;
}

bool auth_needs_secret(const char *name)
{
    const struct mechanism *m = find_mechanism(name);
    return m && m->secret;
}

#ifdef HAVE_GSASL
/* GNU SASL, loaded when a mechanism of its own is first considered. */
#define GSASL_FUNCTIONS(F, api)                                                                    \
    F(api, gsasl_, check_version)                                                                  \
    F(api, gsasl_, client_start)                                                                   \
    F(api, gsasl_, client_support_p)                                                               \
    F(api, gsasl_, finish)                                                                         \
    F(api, gsasl_, free)                                                                           \
    F(api, gsasl_, init)                                                                           \
    F(api, gsasl_, property_set)                                                                   \
    F(api, gsasl_, step64)                                                                         \
    F(api, gsasl_, strerror)
LIB_API(gsasl_api, GSASL_FUNCTIONS);

LIB_DEFINE(static, gsasl_library, gsasl_api, GSASL_FUNCTIONS, GSASL_SONAME, "SASL authentication",
           NULL);

/* Set with the context: whoever has a context may call sasl->... */
static const struct gsasl_api *sasl;

static Gsasl *sasl_context(void)
{
    static Gsasl *ctx;
    static bool tried;
    if (!tried) {
        tried = true;
        sasl = lib_load(&gsasl_library, NULL, 0);
        if (!sasl || sasl->init(&ctx) != GSASL_OK)
            ctx = NULL;
    }
    return ctx;
}
#endif

const char *auth_library_version(char *why, size_t cap)
{
#ifdef HAVE_GSASL
    const struct gsasl_api *api = lib_load(&gsasl_library, why, cap);
    return api ? api->check_version(NULL) : NULL;
#else
    snprintf(why, cap, "built without libgsasl");
    return NULL;
#endif
}

/* Can this build run the mechanism at all? */
static bool available(const struct mechanism *m)
{
    if (m->backend == BUILTIN)
        return true;
#ifdef HAVE_GSASL
    Gsasl *ctx = sasl_context();
    return ctx && sasl->client_support_p(ctx, m->name);
#else
    return false;
#endif
}

void auth_print_mechanisms(FILE *out)
{
    bool first = true;
    for (size_t i = 0; i < ARRAY_LEN(mechanisms); i++) {
        if (!available(&mechanisms[i]))
            continue;
        fprintf(out, "%s%s", first ? "" : " ", mechanisms[i].name);
        first = false;
    }
}

/* ---- one running mechanism --------------------------------------------- */

struct run {
    const struct mechanism *m;
    const struct auth_params *p;
    char *secret;         /* password or token, wiped at the end */
    const char *source;   /* where it came from (secret.h) */
    unsigned steps;       /* responses sent so far (built-in mechanisms) */
#ifdef HAVE_GSASL
    Gsasl_session *gs;
#endif
};

/* base64 of a text that holds a secret; the text is wiped and freed. */
static char *encode_secret(char *text, size_t n)
{
    char *out = base64_encode(text, n);
    secure_wipe(text, n);
    free(text);
    return out;
}

/* The next response of a built-in mechanism to 'challenge' (base64, or
 * NULL for the initial response). */
static int builtin_step(struct run *r, const char *challenge, char **out, struct error *err)
{
    const char *name = r->m->name;
    const char *user = r->p->user ? r->p->user : "";
    unsigned step = r->steps++;
    if (strcmp(name, "PLAIN") == 0 && step == 0) {
        /* authzid (empty) NUL authcid NUL password */
        char *text = xasprintf("%c%s%c%s", 0, user, 0, r->secret);
        *out = encode_secret(text, strlen(user) + strlen(r->secret) + 2);
        return 0;
    }
    if (strcmp(name, "LOGIN") == 0 && step < 2) {
        const char *v = step == 0 ? user : r->secret;
        *out = base64_encode(v, strlen(v));
        return 0;
    }
    if (strcmp(name, "EXTERNAL") == 0 && step == 0) {
        *out = xstrdup(""); /* the identity is the client certificate's */
        return 0;
    }
    if (strcmp(name, "XOAUTH2") == 0) {
        /* After a failure the server sends a JSON error as a challenge;
         * an empty response lets it finish with the real reply. */
        if (step == 0) {
            char *text = xasprintf("user=%s\001auth=Bearer %s\001\001", user, r->secret);
            *out = encode_secret(text, strlen(text));
        } else {
            *out = xstrdup("");
        }
        return 0;
    }
    if (strcmp(name, "OAUTHBEARER") == 0) {
        if (step > 0) { /* RFC 7628 3.2.3: a failure is acknowledged with ^A */
            *out = base64_encode("\001", 1);
            return 0;
        }
        char *text = xasprintf("n,a=%s,\001host=%s\001port=%ld\001auth=Bearer %s\001\001", user,
                               r->p->host ? r->p->host : "", r->p->port, r->secret);
        *out = encode_secret(text, strlen(text));
        return 0;
    }
    return err_set(err, ERR_PROTOCOL, "the server sent another %s challenge after the exchange "
                                      "was complete", name);
}

#ifdef HAVE_GSASL
static int sasl_start(struct run *r, struct error *err)
{
    Gsasl *ctx = sasl_context();
    if (!ctx)
        return err_set(err, ERR_SOFTWARE, "GNU SASL cannot start %s: %s is not usable", r->m->name,
                       GSASL_SONAME);
    int rc = sasl->client_start(ctx, r->m->name, &r->gs);
    if (rc != GSASL_OK)
        return err_set(err, ERR_SOFTWARE, "GNU SASL cannot start %s: %s", r->m->name,
                       sasl->strerror(rc));
    if (r->p->user)
        sasl->property_set(r->gs, GSASL_AUTHID, r->p->user);
    if (r->secret)
        sasl->property_set(r->gs, GSASL_PASSWORD, r->secret);
    sasl->property_set(r->gs, GSASL_SERVICE, "smtp");
    if (r->p->host)
        sasl->property_set(r->gs, GSASL_HOSTNAME, r->p->host);
    if (r->p->ntlmdomain)
        sasl->property_set(r->gs, GSASL_REALM, r->p->ntlmdomain);
    return 0;
}

static int sasl_respond(struct run *r, const char *challenge, char **out, struct error *err)
{
    char *response = NULL;
    int rc = sasl->step64(r->gs, challenge ? challenge : "", &response);
    if (rc != GSASL_OK && rc != GSASL_NEEDS_MORE) {
        sasl->free(response);
        return err_set(err, ERR_PROTOCOL, "%s: the server's challenge cannot be answered: %s",
                       r->m->name, sasl->strerror(rc));
    }
    *out = xstrdup(response ? response : "");
    if (response) {
        secure_wipe(response, strlen(response));
        sasl->free(response);
    }
    return 0;
}
#endif

static int respond(struct run *r, const char *challenge, char **out, struct error *err)
{
#ifdef HAVE_GSASL
    if (r->m->backend == GSASL)
        return sasl_respond(r, challenge, out, err);
#endif
    return builtin_step(r, challenge, out, err);
}

static void run_end(struct run *r)
{
#ifdef HAVE_GSASL
    if (r->gs)
        sasl->finish(r->gs);
#endif
    secure_free(r->secret);
}

/* ---- choosing ---------------------------------------------------------- */

/* 'binding': channel binding data can be had (TLS, and GnuTLS gives it). */
static int choose(const struct smtp *s, const struct auth_params *p, bool tls, bool binding,
                  const struct mechanism **out, struct error *err)
{
    const char *offered = s->caps.auth[0] ? s->caps.auth : NULL;
    if (!offered)
        return err_raise(err, ERR_CONFIG, R_AUTH_NOT_OFFERED,
                         "the server does not offer authentication (no AUTH in its EHLO "
                         "reply%s)", tls ? "" : ", at least not without TLS");
    if (strcmp(p->mechanism, "on") != 0) {
        const struct mechanism *m = find_mechanism(p->mechanism);
        if (!m || !available(m)) {
#ifdef HAVE_GSASL
            char why[256];
            if (m && m->backend == GSASL && !lib_load(&gsasl_library, why, sizeof why))
                return err_raise(err, ERR_CONFIG, R_AUTH_MECH_UNSUPPORTED,
                                 "authentication mechanism %s needs GNU SASL, which cannot be "
                                 "loaded: %s",
                                 m->name, why);
#endif
            return err_raise(err, ERR_CONFIG, R_AUTH_MECH_UNSUPPORTED,
                             "authentication mechanism %s is not supported by this build of "
                             "outpost", p->mechanism);
        }
        if (!caps_has_auth(&s->caps, m->name))
            return err_raise(err, ERR_CONFIG, R_AUTH_MECH_NOT_OFFERED,
                             "the server does not offer AUTH %s (it offers: %s)", m->name, offered);
        if (m->plus && !binding)
            return err_raise(err, ERR_CONFIG, R_AUTH_NEEDS_BINDING,
                             "%s binds to the TLS channel, and this connection has none",
                             m->name);
        *out = m;
        return 0;
    }
    /* Without TLS (only with auth_without_tls), a mechanism that does not
     * send the password readable is preferred whatever its rank. */
    const struct mechanism *best = NULL, *best_cleartext = NULL;
    for (size_t i = 0; i < ARRAY_LEN(mechanisms); i++) {
        const struct mechanism *m = &mechanisms[i];
        if (m->rank == 0 || !caps_has_auth(&s->caps, m->name) || !available(m))
            continue;
        if ((m->plus && !binding) || (strcmp(m->name, "EXTERNAL") == 0 && !p->client_cert))
            continue;
        const struct mechanism **slot = m->cleartext && !tls ? &best_cleartext : &best;
        if (!*slot || m->rank < (*slot)->rank)
            *slot = m;
    }
    if (best || best_cleartext) {
        *out = best ? best : best_cleartext;
        return 0;
    }
    return err_raise(err, ERR_CONFIG, R_AUTH_NO_COMMON,
                     "no authentication mechanism in common with the server (it offers: %s; "
                     "see outpost --version for ours)", offered);
}

/* ---- failures ------------------------------------------------------------ */

/* What to do about it is advice.c's: this says what happened, and where
 * the password came from, since that is where a wrong one is fixed. */
static int refused(const struct smtp *s, const struct auth_params *p, const char *mech,
                   const char *source, struct error *err)
{
    err_raise(err, s->reply.code < 500 ? ERR_TEMPORARY : ERR_AUTH, R_AUTH_REFUSED,
              "authentication failed (%s as user '%s'%s%s)", mech, p->user ? p->user : "",
              source ? ", password from " : "", source ? source : "");
    err_server(err, s->reply.code, s->reply.enhanced, s->reply.text);
    return -1;
}

/* ---- the exchange ---------------------------------------------------------- */

/* Send one response (redacted in the transcript) and read the reply. */
static int send_response(struct smtp *s, const char *prefix, const char *response,
                         char *challenge, size_t cap, struct error *err)
{
    char *line = xasprintf("%s%s", prefix, response);
    int r = smtp_auth_exchange(s, line, strlen(prefix), challenge, cap, err);
    secure_free(line);
    return r;
}

static int exchange(struct smtp *s, struct run *r, struct error *err)
{
    char challenge[REPLY_LINE_MAX + 1];
    char *response = NULL;
    char *prefix;
    if (r->m->client_first) {
        if (respond(r, NULL, &response, err) < 0)
            return -1;
        /* RFC 4954: an empty initial response is sent as "="; one that
         * would make the AUTH line longer than SMTP allows (RFC 5321
         * 4.5.3.1.4: 512 octets) waits for the server's empty challenge
         * instead: a long token (Microsoft's are kilobytes) would be cut
         * off by a server that reads command lines only so far. */
        const char *initial = *response ? response : "=";
        int rc;
        if (strlen("AUTH  \r\n") + strlen(r->m->name) + strlen(initial) <= SMTP_LINE_MAX) {
            prefix = xasprintf("AUTH %s ", r->m->name);
            rc = send_response(s, prefix, initial, challenge, sizeof challenge, err);
        } else {
            prefix = xasprintf("AUTH %s", r->m->name);
            rc = smtp_auth_exchange(s, prefix, NO_REDACT, challenge, sizeof challenge, err);
            if (rc == 0 && s->reply.code == 334)
                rc = send_response(s, "", response, challenge, sizeof challenge, err);
        }
        free(prefix);
        secure_free(response);
        if (rc < 0)
            return -1;
    } else {
        prefix = xasprintf("AUTH %s", r->m->name);
        int rc = smtp_auth_exchange(s, prefix, NO_REDACT, challenge, sizeof challenge, err);
        free(prefix);
        if (rc < 0)
            return -1;
    }
    for (unsigned round = 0; s->reply.code == 334; round++) {
        if (round > 16) /* no mechanism needs this many */
            break;
        if (respond(r, challenge, &response, err) < 0) {
            struct error ignored;
            smtp_auth_exchange(s, "*", NO_REDACT, challenge, sizeof challenge, &ignored);
            return -1;
        }
        int rc = send_response(s, "", response, challenge, sizeof challenge, err);
        secure_free(response);
        if (rc < 0)
            return -1;
    }
    if (s->reply.code == 235)
        return 0;
    if (s->reply.code == 334)
        return err_set(err, ERR_PROTOCOL, "%s: the server keeps sending challenges", r->m->name);
    return refused(s, r->p, r->m->name, r->source, err);
}

int auth_login(struct smtp *s, const struct auth_params *p, struct auth_used *used,
               struct error *err)
{
    bool tls = tls_active(s->conn);
    /* Without TLS every mechanism gives something away: the password
     * itself (PLAIN, LOGIN), a response open to offline guessing or replay
     * (CRAM-MD5, DIGEST-MD5, SCRAM without channel binding), a token. */
    if (!tls && !p->without_tls)
        return err_raise(err, ERR_CONFIG, R_AUTH_WITHOUT_TLS,
                         "refusing to authenticate over a connection without TLS: the "
                         "password, or what is made from it, would cross the network where it "
                         "can be read or replayed");
    bool exporter = false;
    char *cb = tls ? tls_channel_binding(s->conn, &exporter) : NULL;
    const struct mechanism *m = NULL;
    if (choose(s, p, tls, cb != NULL, &m, err) < 0) {
        secure_free(cb);
        return -1;
    }
    debug_note("authenticating with %s as '%s'", m->name, p->user ? p->user : "");
    if (used)
        used->mechanism = m->name;
    struct run r = {.m = m, .p = p};
    int rc = 0;
    if (m->secret && (!p->user || !*p->user) && strcmp(m->name, "GSSAPI") != 0)
        rc = err_raise(err, ERR_CONFIG, R_AUTH_NEEDS_USER, "%s needs a user name", m->name);
    if (rc == 0 && m->secret)
        rc = p->secret(p->secret_ctx, &r.secret, &r.source, err);
    if (used)
        used->source = r.source;
#ifdef HAVE_GSASL
    if (rc == 0 && m->backend == GSASL) {
        rc = sasl_start(&r, err);
        if (rc == 0 && cb && m->plus) /* set for others, libgsasl fails them */
            sasl->property_set(r.gs, exporter ? GSASL_CB_TLS_EXPORTER : GSASL_CB_TLS_UNIQUE, cb);
    }
#endif
    secure_free(cb);
    if (rc == 0)
        rc = exchange(s, &r, err);
    run_end(&r);
    return rc;
}
